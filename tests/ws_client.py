"""A graphql-transport-ws client for tests, and the app served on a real socket in-process
(same event loop as the test, so it shares the test's database and Redis connections)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket

import orjson
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

PROTOCOL = Subprotocol("graphql-transport-ws")
# How long a test waits for the server's next message before it fails.
RECEIVE_WAIT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def served(app):
    """`app` (its lifespan already running) behind uvicorn on 127.0.0.1; yields the ws URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="warning",
            ws="websockets-sansio",
        )
    )
    server.install_signal_handlers = lambda: None  # the test runner keeps its own
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "the test server did not start"
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


class GraphQLWS:
    """One connection: `connection_init` (optionally with an authorization), then operations."""

    def __init__(self, socket) -> None:
        self.socket, self.ids = socket, itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, authorization: str | None = None, headers: dict | None = None):
        async with connect(
            url,
            subprotocols=[PROTOCOL],
            additional_headers=headers or {},
            open_timeout=10,
            close_timeout=2,
        ) as sock:
            client = cls(sock)
            payload = {"authorization": authorization} if authorization else {}
            await client.send({"type": "connection_init", "payload": payload})
            yield client

    async def send(self, message: dict) -> None:
        await self.socket.send(orjson.dumps(message).decode())

    async def receive(self) -> dict:
        """The server's next message; TimeoutError after `RECEIVE_WAIT` seconds."""
        async with asyncio.timeout(RECEIVE_WAIT):
            return await self.next_message()

    async def next_message(self) -> dict:
        """The next message that is not a ping (a ping is answered)."""
        while True:
            frame = await self.socket.recv()
            # graphql-transport-ws is text only: graphql-ws and gql refuse binary frames.
            assert isinstance(frame, str), f"a binary frame: {frame!r}"
            message = orjson.loads(frame)
            if message.get("type") == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def acknowledged(self) -> dict:
        """The server's answer to connection_init: connection_ack, or a close."""
        try:
            return await self.receive()
        except ConnectionClosed as closed:
            return {"type": "closed", "code": closed.rcvd.code if closed.rcvd else None}

    async def subscribe(self, query: str, variables: dict | None = None) -> str:
        op = str(next(self.ids))
        await self.send(
            {
                "id": op,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )
        return op

    async def first_answer(self, query: str, variables: dict | None = None) -> dict:
        """Subscribe and return the first message for it (next, error or complete)."""
        op = await self.subscribe(query, variables)
        while True:
            message = await self.receive()
            if message.get("id") == op:
                return message

    async def quiet(self, seconds: float) -> list[dict]:
        """Messages arriving within `seconds` (to show that nothing came)."""
        got = []
        with contextlib.suppress(TimeoutError):
            while True:
                async with asyncio.timeout(seconds):
                    got.append(await self.next_message())
        return got


def error_codes(message: dict) -> list[str]:
    """The error codes of an `error` message or of a `next` carrying errors."""
    errors = (
        message.get("payload")
        if message.get("type") == "error"
        else ((message.get("payload") or {}).get("errors") or [])
    )
    return [(e.get("extensions") or {}).get("code") for e in errors or []]


async def answer_over_websocket(
    app, headers: dict, query: str, variables: dict | None = None
) -> dict:
    """One operation over graphql-transport-ws, answered like HTTP: `{"data": ..., "errors": [...]}`
    from its first message (for the permission and isolation tables)."""
    async with served(app) as url, GraphQLWS.open(url, headers=headers) as ws:
        assert (await ws.acknowledged())["type"] == "connection_ack"
        message = await ws.first_answer(query, variables)
    if message["type"] == "error":
        return {"errors": message["payload"]}
    return message.get("payload") or {}
