"""Signed webhooks to the tenants' ERPs: subscriptions, deliveries (enqueued with the change they announce), attempts."""
