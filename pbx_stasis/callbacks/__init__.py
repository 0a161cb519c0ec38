"""Callbacks: a waiting caller's place kept by a callback, scheduled and API callbacks, dialled
through the trunk once an agent is reserved for them."""
