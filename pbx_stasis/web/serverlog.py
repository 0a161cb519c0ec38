"""The log of the HTTP servers pbx runs (the web pages, the RPC of a split deployment).

aiohttp logs a request it cannot parse (a NUL in a header, a bad request line) as an ERROR with
a traceback; it has answered 400 and the mistake is the client's, and anyone who can reach the
port could fill the log with tracebacks. Such records become one warning line; a handler's own
failure (a 500) keeps its ERROR and traceback.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError


class MalformedRequests(logging.Filter):
    """Turns aiohttp's record of a request it could not parse into one sanitised warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            why = "".join(c if c.isprintable() else " " for c in str(exc.message))
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.levelno = min(record.levelno, logging.WARNING)
            record.levelname = logging.getLevelName(record.levelno)
            record.msg = "malformed HTTP request from %s: %s %s"
            record.args = (peer, exc.code, " ".join(why.split())[:200])
            record.exc_info = record.exc_text = None
        return True


_FILTER = MalformedRequests()
# Handed to every AppRunner `pbx run` starts.
SERVER_LOG = logging.getLogger("pbx_stasis.http")
SERVER_LOG.addFilter(_FILTER)


def quiet_malformed_requests() -> None:
    """The same filter on aiohttp's default server log, for an app run by another runner (tests,
    web.run_app). Filters are a set: calling it again changes nothing."""
    logging.getLogger("aiohttp.server").addFilter(_FILTER)
