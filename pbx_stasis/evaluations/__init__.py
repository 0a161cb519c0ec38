"""Evaluation scorecards: forms an admin defines per tenant, filled by supervisors against a
recording (answers pre-filled from the call's insights where a question is tied to them), seen
by the agent evaluated, who acknowledges or disputes them."""
