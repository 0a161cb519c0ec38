"""The `pbx` command."""
