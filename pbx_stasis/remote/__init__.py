"""Web and Stasis as separate processes: the web's ContactCenter calls over loopback HTTP, and
the bus events cross over a WebSocket (`pbx run --part stasis` / `pbx run --part web`)."""
