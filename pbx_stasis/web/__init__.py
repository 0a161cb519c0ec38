"""The web sidecar: pages, JSON API and WebSocket feed for agents, supervisors, managers, admins.

Entry point: `pbx_stasis.web.app.create_web_app(WebContext(...))`. This package imports nothing
itself, so capabilities (supervision, recording) can build on `web.routing` without a cycle.
"""
