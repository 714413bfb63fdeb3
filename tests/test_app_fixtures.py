"""An app fixture a test module defines ends with its module: the app's lifespan then stops
its Redis listeners (module switches, revocations), which would otherwise run, and reconnect
after any Redis hiccup, for the rest of the session, under every later test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from tests.auth_helpers import app_fixtures

jwt_app_fixture, http_fixture = app_fixtures()
_seen: list = []  # the apps this module's tests ran on


def listener_tasks(app) -> list[asyncio.Task]:
    """The app's live listener tasks: those running the `listen` of its module-switch cache
    or of its revocation watch."""
    owners = (app.state.graphql.active, app.state.auth.authenticator.watch)
    return [
        task
        for task in asyncio.all_tasks()
        if (frame := getattr(task.get_coro(), "cr_frame", None)) is not None
        and any(frame.f_locals.get("self") is owner for owner in owners)
    ]


@pytest_asyncio.fixture(scope="module")
async def listeners_after_the_module() -> AsyncIterator[None]:
    """Set up before the module's app and torn down after it: by then its listeners stopped."""
    yield
    left = [task for app in _seen for task in listener_tasks(app)]
    assert not left, f"{len(left)} listener task(s) outlived the module's app fixture"


async def test_the_app_fixture_runs_its_listeners_until_the_module_ends(
    listeners_after_the_module, jwt_app, http
):
    assert (await http.get("/healthz")).status_code == 200
    _seen.append(jwt_app)
    assert len(listener_tasks(jwt_app)) == 2  # while the module runs, both listen
