"""Durable delivery: the outbox written with each accepted invoice, the workers that send it, and the scheduler."""
