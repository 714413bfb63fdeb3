"""The `eiso` command, run as a user runs it."""

from __future__ import annotations

import os
import pathlib
import sqlite3
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
EISO = str(pathlib.Path(sys.executable).parent / "eiso")


def eiso(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120
):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    full_env.update(env or {})
    return subprocess.run(
        [EISO, *args], env=full_env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "eiso.db"
    return {"EISO_DATABASE_URL": f"sqlite:///{path}", "EISO_LOG_JSON": "false"}


def test_bad_setting_is_one_line_and_exit_1():
    result = eiso("graphql", "schema", env={"EISO_REDIS_URL": "http://nope"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "eiso: EISO_REDIS_URL: Value error, must be memory:// or a redis://host:port/db URL"
    ] or result.stderr.strip().startswith("eiso: EISO_REDIS_URL:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_error_exits_2():
    assert eiso("no-such-command").returncode == 2


def test_db_upgrade_then_demo_is_idempotent(cli_env):
    assert eiso("db", "upgrade", env=cli_env).returncode == 0
    first = eiso("demo", env=cli_env)
    second = eiso("demo", "--quiet", env=cli_env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stderr.splitlines()[-1] == second.stderr.splitlines()[-1]
    # One progress line per stage, Vietnamese first, with counts; --quiet keeps them out.
    progress = [line for line in first.stderr.splitlines() if "…" in line]
    assert any(
        line.startswith("eiso: Tỉnh Quảng Ninh: ") and "cơ quan" in line for line in progress
    )
    assert any(line.startswith("eiso: Tài khoản mẫu: ") for line in progress), first.stderr
    assert any(line.startswith("eiso: Hồ sơ mẫu: ") for line in progress), first.stderr
    assert "…" not in second.stderr and "cơ quan" not in second.stderr


def test_graphql_schema_prints_the_committed_sdl():
    result = eiso("graphql", "schema", "--bundled")  # installed vendor modules vary
    assert result.returncode == 0
    assert result.stdout == (ROOT / "graphql" / "schema.graphql").read_text()


def test_unreachable_database_is_one_clear_line():
    result = eiso("demo", env={"EISO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("eiso: cannot reach the database")
    assert "Traceback" not in result.stderr


def test_serve_refuses_several_workers_on_memory_redis():
    result = eiso("serve", "--workers", "2")
    assert result.returncode == 1
    assert "EISO_REDIS_URL" in result.stderr


@pytest.mark.parametrize("command", [("events", "relay", "--once"), ("events", "hooks", "--once")])
def test_event_commands_refuse_memory_redis(tmp_path, command):
    """fakeredis lives inside the command's process: a relay would mark the rows sent into a
    stream nobody reads, a hook worker would read a stream nobody writes. One line, exit 1,
    the waiting event still unsent."""
    env = {"EISO_DATABASE_URL": f"sqlite:///{tmp_path / 'eiso.db'}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "eiso.db") as db:
        db.execute(
            "insert into outbox (topic, payload, created_at) values ('dossier', '{}', ?)",
            ("2026-12-05 00:00:00",),
        )
    result = eiso(*command, env={**env, "EISO_REDIS_URL": "memory://"})
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"eiso: eiso {command[0]} {command[1]} " in lines[0]
    assert "need a shared Redis: set EISO_REDIS_URL=redis://" in lines[0]
    with sqlite3.connect(tmp_path / "eiso.db") as db:
        assert db.execute("select count(*) from outbox where sent_at is null").fetchone() == (1,)


def test_uvicorn_factory_with_a_bad_setting_says_one_line():
    uvicorn = str(pathlib.Path(sys.executable).parent / "uvicorn")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")}
    full_env["EISO_ENV"] = "prod"
    result = subprocess.run(
        [uvicorn, "--factory", "eiso.core.app:asgi", "--port", "1"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "eiso: EISO_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_relay_once_with_redis_down_is_one_clear_line(tmp_path):
    """The events wait in the outbox: one line, exit 1, no traceback."""
    env = {"EISO_DATABASE_URL": f"sqlite:///{tmp_path / 'eiso.db'}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "eiso.db") as db:  # one event waiting to be relayed
        db.execute(
            "insert into outbox (topic, payload, created_at) values ('dossier', '{}', ?)",
            ("2026-12-05 00:00:00",),
        )
    result = eiso(
        "events", "relay", "--once", env={**env, "EISO_REDIS_URL": "redis://127.0.0.1:1/0"}
    )
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("eiso: Redis unavailable, the events wait in the outbox")
    )
    assert "Traceback" not in result.stderr


def test_serve_runs_uvicorn_without_its_access_log(monkeypatch):
    """`uvicorn.access` is kept at WARNING (core/logs.py): uvicorn would still build every
    request's access line before its level check, so `eiso serve` turns the log off."""
    import uvicorn

    from eiso.core.cli.serve import serve

    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    serve(host="127.0.0.1", port=8000, workers=1, reload=False)
    assert calls and calls[0]["access_log"] is False
    assert calls[0]["proxy_headers"] is True and calls[0]["factory"] is True
