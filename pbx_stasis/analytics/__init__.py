"""Conversation analytics: recordings transcribed per speaker off the call path, searched, and
read for insights (talk time, overtalk, sentiment, keyword categories, hot leads)."""
