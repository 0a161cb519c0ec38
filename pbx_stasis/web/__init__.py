"""The web sidecar: pages, JSON API and WebSocket feed for agents, supervisors, managers, admins.

Entry point: `pbx_stasis.web.app.create_web_app(WebContext(...), routes)`, the routes collected
by the composition root (pbx_stasis.plugins). This package is the kernel's HTTP framework:
features (crm, dialing, supervision, recording...) build on `web.routing` and `web.contract`,
and no module here imports a feature's HTTP module.
"""
