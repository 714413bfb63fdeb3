"""The desk's live queue over plain HTTP on a real socket (no browser): the server-sent events
of `/ban-lam-viec/su-kien` carry the officer's agency's transitions and never another
agency's; the stream ends cleanly when the client goes away, when its bounds are reached, and
answers an `unavailable` event (no 5xx) when the event stream is down; signed out, nothing
is streamed. The queue page still works without it (its script only enhances)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
import redis.asyncio as aioredis

from eiso.infra.live_feed import LiveFeed
from eiso.infra.relay import Relay
from eiso.web import live
from tests.web.support import keys_of, submit
from tests.web.test_desk import sign_in

EVENTS = "/ban-lam-viec/su-kien"


@pytest_asyncio.fixture
async def officer_a(desk_site, places, officers) -> AsyncIterator[httpx.AsyncClient]:
    """Officer A signed in through the real socket (tokens are valid only at their issuer:
    the address the desk is reached at)."""
    async with httpx.AsyncClient(base_url=desk_site, timeout=30) as http:
        await sign_in(http, officers[0])
        yield http


async def until(condition, what: str) -> None:
    """Wait (at most 20 s, in small steps) until `condition()` holds."""
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


class Reader:
    """The SSE messages of a streamed response, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def message(self) -> dict[str, str]:
        fields: dict[str, str] = {}
        async for line in self.lines:
            if not line:
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.strip()
        return fields  # the stream ended

    async def events(self, kind: str) -> dict[str, str]:
        while True:
            got = await asyncio.wait_for(self.message(), 20)
            assert got, f"the stream ended before a {kind} event"
            if got.get("event") == kind:
                return got


async def test_officer_hears_own_agency_only(officer_a, desk_app, desk_web, places):
    a, b = places
    feed = desk_app.state.live_feed
    before = len(feed.subscribers)
    async with officer_a.stream("GET", EVENTS) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        reader = Reader(response)
        assert (await reader.message()) == {"retry": "5000"}
        await until(lambda: len(feed.subscribers) > before, "the subscription is registered")
        theirs = keys_of((await submit(desk_web, b)).text)[0]
        mine = keys_of((await submit(desk_web, a)).text)[0]
        resources = desk_app.state.resources
        await Relay(resources.sessionmaker, resources.redis, resources.key).drain()
        # The other agency's dossier was relayed first: had it leaked, it would come before
        # ours. Events of this agency's earlier dossiers may come first too (a relay sends the
        # last minute again when it finds Redis emptied, e.g. by another test): skip those.
        heard = []
        for _ in range(50):
            got = json.loads((await reader.events("dossier"))["data"])
            heard.append(got["code"])
            if got["code"] == mine:
                break
        assert theirs not in heard and heard[-1] == mine, heard
        assert got["status"] == "NEW"
    await until(lambda: len(feed.subscribers) == before, "the subscription is closed")


async def test_a_client_going_away_ends_the_stream(officer_a, desk_app, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT", 0.1)
    feed = desk_app.state.live_feed
    before = len(feed.subscribers)
    async with officer_a.stream("GET", EVENTS) as response:
        reader = Reader(response)
        await reader.message()
        await until(lambda: len(feed.subscribers) > before, "the subscription is registered")
        assert (await reader.message()) == {"comment": "-"}  # a keep-alive
    # The client closed the connection: the server ends the stream and the subscription.
    await until(lambda: len(feed.subscribers) == before, "the subscription is closed")


async def test_the_stream_ends_at_its_time_bound(officer_a, desk_app, monkeypatch):
    monkeypatch.setattr(live, "MAX_SECONDS", 0.5)
    monkeypatch.setattr(live, "HEARTBEAT", 0.1)
    feed = desk_app.state.live_feed
    before = len(feed.subscribers)
    async with officer_a.stream("GET", EVENTS) as response:
        body = await asyncio.wait_for(response.aread(), 20)  # ends by itself
    assert body.startswith(b"retry: 5000")
    assert len(feed.subscribers) == before


async def test_events_down_answer_unavailable_and_the_queue_still_works(officer_a, desk_app):
    """Redis unreachable for the event stream: one `unavailable` event, then the end; the
    queue page is served as before (its script stops listening)."""
    dead = LiveFeed(
        aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1),
        desk_app.state.resources.key,
        ["dossier"],
    )
    kept, desk_app.state.live_feed = desk_app.state.live_feed, dead
    try:
        async with officer_a.stream("GET", EVENTS) as response:
            assert response.status_code == 200
            body = (await asyncio.wait_for(response.aread(), 20)).decode()
    finally:
        desk_app.state.live_feed = kept
        await dead.close()
    assert "event: unavailable" in body and "EVENTS_UNAVAILABLE" in body
    assert "tạm thời không khả dụng" in body
    page = await officer_a.get("/ban-lam-viec")
    assert page.status_code == 200 and 'id="queue-results"' in page.text


async def test_signed_out_nothing_is_streamed(desk_site):
    async with httpx.AsyncClient(base_url=desk_site) as http:
        answer = await http.get(EVENTS)
    assert answer.status_code == 401


async def test_the_queue_page_loads_its_script_from_eiso(officer_a):
    page = await officer_a.get("/ban-lam-viec")
    assert f'data-events="{EVENTS}"' in page.text
    assert '<script src="/static/web/desk-live.js" defer></script>' in page.text
    assert "http://" not in page.text.split("<main", 1)[1].split("</main>")[0]
    script = await officer_a.get("/static/web/desk-live.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "EventSource" in script.text and len(script.content) < 4096
