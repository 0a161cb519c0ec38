"""Tickets: support cases opened from calls or by hand, with their status, priority, due time,
comments, history and linked calls."""
