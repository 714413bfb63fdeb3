"""The live queue of the officer's desk: `GET /ban-lam-viec/su-kien`, server-sent events of
the officer's agency's dossier transitions, from the `dossierEvents` subscription (operation
DeskEvents, run in-process with the officer's token like every desk operation, web/run.py),
so an agency hears only its own dossiers, exactly as over the API's websocket.

The queue page works without it (a reload shows the same); web/static/desk-live.js, when the
browser runs scripts, listens and refreshes the queue's part of the page on each event.

Bounded: a stream ends after `MAX_EVENTS` events or `MAX_SECONDS` (the browser reconnects,
with a fresh token); a comment every `HEARTBEAT` seconds keeps it open through proxies and
finds a client gone. It ends cleanly when the client disconnects (Starlette cancels it, the
subscription is closed). When the event stream is down (Redis unreachable) it answers one
`unavailable` event and ends, never a 5xx: the page goes on without live updates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from eiso.web.desk_auth import access_token
from eiso.web.run import OperationFailed, run, subscribe

PATH = "/su-kien"
MAX_EVENTS = 500
MAX_SECONDS = 300.0
HEARTBEAT = 15.0
RETRY_MS = 5000  # the browser's reconnection delay (`retry:`)
_HEADERS = {"cache-control": "no-store", "x-accel-buffering": "no"}


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def events(request: Request) -> Response:
    """The stream for the signed-in officer's agency (401 signed out: nothing to stream)."""
    token = await access_token(request)
    if token is None:
        return PlainTextResponse("sign in first / hãy đăng nhập", status_code=401)
    try:
        me = (await run(request, "DeskMe", token=token))["me"]
    except OperationFailed as error:
        return PlainTextResponse(error.message_vi, status_code=error.status)
    agencies = (me or {}).get("agencies") or []
    if not agencies:
        return PlainTextResponse("chỉ cán bộ của một cơ quan", status_code=403)
    stream = subscribe(request, "DeskEvents", {"agency": agencies[0]["id"]}, token=token)
    return StreamingResponse(_body(stream), media_type="text/event-stream", headers=_HEADERS)


async def _body(stream: AsyncGenerator[dict[str, Any], None]) -> AsyncIterator[str]:
    """The SSE text of `stream`, within the bounds; the subscription closed however it ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_SECONDS
    pending: asyncio.Future[dict[str, Any]] = asyncio.ensure_future(anext(stream))
    try:
        yield f"retry: {RETRY_MS}\n\n"
        for _ in range(MAX_EVENTS):  # events and keep-alives
            left = deadline - loop.time()
            if left <= 0:
                break
            done, _ = await asyncio.wait({pending}, timeout=min(HEARTBEAT, left))
            if not done:
                yield ": -\n\n"  # keep-alive
                continue
            try:
                data = pending.result()["dossierEvents"]
            except StopAsyncIteration:
                break
            except OperationFailed as error:  # EVENTS_UNAVAILABLE, SUBSCRIPTION_OVERFLOW
                yield _sse("unavailable", {"code": error.code, "message_vi": error.message_vi})
                break
            yield _sse(
                "dossier",
                {"id": data["eventId"], "code": data["dossierCode"], "status": data["toStatus"]},
            )
            pending = asyncio.ensure_future(anext(stream))
    finally:
        # Shielded: on a disconnect Starlette cancels this in an anyio scope, which would
        # cancel every await here too and leave the subscription open.
        with anyio.CancelScope(shield=True):
            pending.cancel()
            await asyncio.wait({pending})
            if not pending.cancelled():
                pending.exception()  # retrieved: an ending is no error to log
            await stream.aclose()
