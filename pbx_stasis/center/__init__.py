"""The contact center: its interface (service.py, ContactCenter) and its implementation over the
running Stasis app (live.py, LiveContactCenter)."""
