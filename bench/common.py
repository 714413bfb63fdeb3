"""What several benchmarks share: the app's settings and a server's environment for a benchmark,
an ASGI call driven in-process, and dossiers received at a fresh agency."""

from __future__ import annotations

import os
from typing import Any

SECRET_KEY = "bench-" + "x" * 32
ISSUER = "https://eiso.example"


def server_env(**more: str) -> dict[str, str]:
    """The environment of an app server a benchmark starts (production mode, warnings only),
    with `more` as EISO_ variables (DATABASE_URL=... for EISO_DATABASE_URL)."""
    return {
        **os.environ,
        "EISO_ENV": "prod",
        "EISO_SECRET_KEY": SECRET_KEY,
        "EISO_ISSUER": ISSUER,
        "EISO_LOG_LEVEL": "WARNING",
        **{"EISO_" + name: value for name, value in more.items()},
    }


def quiet_settings(database_url: str, **more: Any) -> Any:
    """The settings of an in-process app in production mode, without the event relay and hooks
    (the benchmark measures the request alone), with `more`."""
    from eiso.core.settings import load_settings

    return load_settings(
        database_url=database_url,
        env="prod",
        secret_key=SECRET_KEY,
        issuer=ISSUER,
        log_level="WARNING",
        events_relay=False,
        events_hooks=False,
        **more,
    )


def post_scope(path: str, body: bytes, headers: tuple[tuple[bytes, bytes], ...] = ()) -> dict:
    """The ASGI scope of a JSON POST of `body` to `path` (for `asgi_call`), with `headers` more."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def asgi_call(app: Any, scope: dict[str, Any], body: bytes = b"") -> tuple[int, bytes]:
    """One request to the ASGI `app`, no socket: (status, body)."""
    sent = False
    status, chunks = [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status[0], b"".join(chunks)


async def adopt(session: Any, agency: Any, procedure: str) -> None:
    """The agency adopts `procedure` (its province must have switched the module on)."""
    from eiso.core.dossiers import catalogue

    await catalogue.adopt(
        session,
        province_id=agency.province_id,
        agency_id=agency.id,
        procedure_code=procedure,
        actor="bench",
    )


async def adopted_and_received(
    session: Any, agency: Any, procedure: str, count: int = 1, *, online: bool = False
) -> list[Any]:
    """The agency adopts `procedure` and receives `count` dossiers of it (engine.Received)."""
    from eiso.core.dossiers import engine
    from eiso.core.workdays import WorkingCalendar

    await adopt(session, agency, procedure)
    return [
        await engine.receive(
            session,
            agency=agency,
            procedure_code=procedure,
            applicant={"full_name": "Nguyễn Văn Đo"},
            sector_data={},
            actor="bench",
            calendar=WorkingCalendar(),
            online=online,
        )
        for _ in range(count)
    ]
