"""The external CRM: a per-tenant lookup of callers over HTTP and "open in CRM" links."""
