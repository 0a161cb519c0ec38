"""What the Stasis app does with the calls it finds in Asterisk when it (re)connects."""
