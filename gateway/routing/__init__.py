"""Routing: which channel (Chorus Pro, Peppol, e-mail …) reaches an invoice's buyer, and why."""
