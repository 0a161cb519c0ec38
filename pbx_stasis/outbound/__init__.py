"""Calls the contact center places: an agent's own outside calls (from their phone, or
click-to-call from the desk)."""
