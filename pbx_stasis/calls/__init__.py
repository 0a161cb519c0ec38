"""Calls: one actor task per call in Stasis, call records, and resync after a (re)connect."""
