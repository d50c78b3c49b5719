"""Invoice to cash: bank statements imported (camt.053, camt.054, MT940), bank lines matched to invoices, payments applied."""
