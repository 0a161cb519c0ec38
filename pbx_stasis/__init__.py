"""pbx-stasis: a contact center that runs as an Asterisk ARI Stasis application."""

__version__ = "0.1.0"
