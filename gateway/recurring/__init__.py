"""Recurring invoices: schedules billed through the normal intake, numbered per series without gaps."""
