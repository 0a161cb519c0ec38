"""Request-only WebSockets: more of Asterisk's threads serving the app's ARI requests.

Asterisk handles the requests of one WebSocket in order, in that socket's thread
(ari/socket_rest.py). With only the events socket, a call's `originate` waits behind other
calls' `answer` and `addChannel`, which themselves wait for a channel's SIP or bridge thread.
Each extra socket is an events connection for an application of its own (`<app>-requests-N`)
that no channel ever enters, so it carries no events: it exists for its requests. The client
spreads requests over all usable sockets (`RestSockets.pick`). Each socket reconnects on its own,
like the events stream, and requests take the others (or HTTP) meanwhile.
"""

from __future__ import annotations

from pbx_stasis.ari.client import AriClient
from pbx_stasis.ari.events import EventStream
from pbx_stasis.ari.models import AriEvent


def _no_events(_: AriEvent) -> None:
    """These applications have no channels: nothing arrives but answers."""


class RequestSockets:
    """`count` request-only sockets for `app`, kept connected between start() and close()."""

    def __init__(self, ari: AriClient, app: str, count: int) -> None:
        self.streams = [
            EventStream(ari, f"{app}-requests-{n}", _no_events, role="requests")
            for n in range(1, count + 1)
        ]

    def start(self) -> None:
        for stream in self.streams:
            stream.start()

    async def close(self) -> None:
        for stream in self.streams:
            await stream.close()
