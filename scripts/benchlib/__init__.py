"""scripts/bench: the Python ACD against app_queue on one sandbox Asterisk, in one run."""
