"""Outbound pacing: how many calls a campaign places now (progressive or predictive)."""
