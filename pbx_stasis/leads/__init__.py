"""Outbound work: lead lists imported from CSV, call tasks (list work, follow-ups, by hand) and
the agent's "My work" list. Compliance (do-not-call, calling hours, attempts) is judged by
pbx_stasis.dialing.compliance, the one place every dial goes through."""
