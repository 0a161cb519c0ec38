"""A test call from the phone network: a sipp caller with a voice, that records what it hears."""
