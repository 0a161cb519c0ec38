"""The controller role: one active Stasis controller per ARI application, its standbys waiting,
chosen through PostgreSQL (a lease row and an advisory lock; core.py decides, lease.py talks)."""
