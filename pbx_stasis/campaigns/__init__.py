"""Campaigns: live dialling over lead lists in preview, progressive or predictive mode, with
answering-machine detection, the abandon rule, retries per outcome, a dashboard and reports."""
