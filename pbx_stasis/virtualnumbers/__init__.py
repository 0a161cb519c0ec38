"""Virtual numbers: a tenant's pool shown as caller ID, and masked two-party calls."""
