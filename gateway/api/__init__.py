"""The REST API (JSON only): invoices, validation, health and the OpenAPI document."""
