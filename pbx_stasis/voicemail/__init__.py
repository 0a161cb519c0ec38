"""The voicemail inbox: callers' messages per queue and agent, new or heard, played, called back,
assigned, deleted by hand or by retention; new ones on the wallboard and in My work."""
