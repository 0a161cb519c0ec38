"""Users: the admin's API for the tenant's people (accounts, roles, agents' profiles)."""
