"""The web sidecar: pages, JSON API and WebSocket feed for agents, supervisors, managers, admins.

Entry point: `pbx_stasis.web.app.create_web_app(WebContext(...), routes)`, the routes collected
by the composition root (pbx_stasis.plugins, whose `web_app` also fills the features' app keys
and the feed's topics). This package is the kernel's HTTP framework: features (acd, ivr, crm,
reports, users, dialing, supervision, recording...) build on `web.routing` and `web.contract`,
and no module here imports a feature.
"""
