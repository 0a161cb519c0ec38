"""scripts/bench-feed's client process: feed WebSockets that subscribe to queue:stats and note
when each event arrives. Imports aiohttp only, so a client process starts fast."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

COOKIE = "pbx_session"  # pbx_stasis.web.sessions.COOKIE (not imported: a light process)




async def _one_client(session: aiohttp.ClientSession, url: str, cookie: str, events: int,
                      subscribed: asyncio.Event, counter: list[int], total: int,
                      got: list[tuple[int, float]], deadline: float) -> None:
    # compress=15: asking for permessage-deflate, as browsers do
    async with session.ws_connect(url, headers={"Cookie": f"{COOKIE}={cookie}"},
                                  max_msg_size=0, compress=15) as ws:
        await ws.send_str(json.dumps({"subscribe": ["queue:stats"]}))
        seen = 0
        while seen < events:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                message = await ws.receive(timeout=left)
            except TimeoutError:
                return
            if message.type != aiohttp.WSMsgType.TEXT:
                return
            now = time.time()
            data = json.loads(message.data)
            kind = data.get("type")
            if kind == "subscribed":
                counter[0] += 1
                if counter[0] == total:
                    subscribed.set()
            elif kind == "event":
                got.append((int(data["seq"]), now))
                seen += 1


async def client_process(url: str, cookies: list[str], ready: Path, events: int
                         ) -> dict[str, Any]:
    subscribed = asyncio.Event()
    counter = [0]
    received: list[list[tuple[int, float]]] = [[] for _ in cookies]
    deadline = time.monotonic() + 120 + events  # bounded whatever happens
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(_one_client(session, url, cookie, events, subscribed,
                                                 counter, len(cookies), received[n], deadline))
                 for n, cookie in enumerate(cookies)]
        waiter = asyncio.create_task(subscribed.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        await asyncio.to_thread(ready.write_text, str(counter[0]))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        waiter.cancel()
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    return {"received": received, "errors": errors[:5], "error_count": len(errors),
            "cpu_s": time.process_time()}



def client_main(argv: list[str]) -> int:
    """url, cookies file, result file, ready file, events expected."""
    url, cookies, out, ready, events = argv
    result = asyncio.run(client_process(url, json.loads(Path(cookies).read_text()), Path(ready),
                                        int(events)))
    Path(out).write_text(json.dumps(result))
    return 0
