"""Webhooks: per-tenant subscriptions to the contact center's events, delivered as signed JSON
POSTs off the call path, retried with backoff, logged and replayable (docs/webhooks.md)."""
