"""Risk: anomaly and fraud checks on incoming invoices — duplicates, changed or invalid bank details, invalid
identifiers, amounts far outside the supplier's history — each finding explained, with its evidence, combined into
a level that routes the invoice (auto-approve, normal, hold)."""
