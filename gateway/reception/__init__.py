"""Reception of partners' invoices: API, e-mail and Peppol in, 202 / 213 out, the ERP's inbox."""
