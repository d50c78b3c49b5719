"""Dunning: reminders in tiers for outgoing invoices that are late, with the penalties and indemnity French law sets."""
