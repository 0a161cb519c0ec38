"""The ACD's API: the agent's own state (me.py), queues (queues.py), the wallboard (wallboard.py)
and live call control (calls.py)."""
