"""The agency import refuses malformed rows by line with the GraphQL edge's limits
(infra/input_limits.py): an over-long field (past `csv`'s own 131,072), deep JSON, NUL and
other control characters. Nothing is written; the CLI names the line and column, exits 1."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from eiso.infra.input_limits import MAX_ITEMS, BadValue, check_value
from eiso.tenants.models import Agency
from eiso.tenants.onboarding import FileFormat, onboard
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code
from tests.test_cli import eiso

HEADER = "code,name,kind,parent_code\n"
LONG = "x" * 200_000  # past csv.field_size_limit()'s default of 131,072


def _deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def _json(rows: list[dict[str, object]]) -> bytes:
    return ("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]").encode()


# (file, format, the message's line and place): a good row first, so "nothing written" means
# the good row too; the bad row on line 3.
SHAPES = {
    "long field": (f"{HEADER}G1,Xã Tốt,commune,\nB1,{LONG},commune,\n", "csv", "column name"),
    "long quoted field over lines": (
        f'{HEADER}G1,Xã Tốt,commune,\nB1,"{LONG}\n{LONG}",commune,\n',
        "csv",
        "column name",
    ),
    "NUL": (f"{HEADER}G1,Xã Tốt,commune,\nB1,Xã\x00Xấu,commune,\n", "csv", "column name"),
    "control character": (f"{HEADER}G1,Xã Tốt,commune,\nB1\x1b,Xã,ward,\n", "csv", "column code"),
    "deep JSON": (
        _json([{"code": "G1", "name": "Xã Tốt", "kind": "commune"}, {"code": _deep(50)}]),
        "json",
        "field code",
    ),
    "JSON deeper than the decoder": (
        b'[\n{"code": "G1", "name": "X", "kind": "commune"},\n{"code": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}\n]",
        "json",
        "nested deeper than 12 levels",
    ),
    "NUL in JSON": (
        _json([{"code": "G1", "name": "Xã Tốt", "kind": "commune"}, {"name": "a\u0000b"}]),
        "json",
        "field name",
    ),
    "long JSON value": (
        _json([{"code": "G1", "name": "Xã Tốt", "kind": "commune"}, {"name": LONG}]),
        "json",
        "field name",
    ),
}


def _content(shape: str) -> tuple[bytes, FileFormat, str]:
    text, fmt, place = SHAPES[shape]
    content = text.encode() if isinstance(text, str) else text
    return content, FileFormat(fmt), place


@pytest.fixture
async def province(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await ensure_province(session, unique_code("P"), "Tỉnh Quảng Ninh")


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_a_bad_row_is_reported_by_line_and_nothing_is_written(resources, province, shape):
    content, fmt, place = _content(shape)
    content = content.replace(b"G1", unique_code("G").encode())
    report = await onboard(resources.session, province, content, fmt)
    assert not report.ok
    assert [error.line for error in report.errors] == [3], report.errors
    assert place in str(report.errors[0]) and str(report.errors[0]).startswith("line 3: ")
    assert report.errors[0].reason_vi
    async with resources.session(TenantScope.province(province.id)) as session:
        assert (await session.execute(select(func.count()).select_from(Agency))).scalar_one() == 0


def test_every_list_and_object_is_bounded():
    with pytest.raises(BadValue) as raised:
        check_value({"a": ["x"] * (MAX_ITEMS + 1)}, "input")
    assert raised.value.field == "input.a" and "items" in raised.value.reason
    check_value({"a": ["x"] * 5}, "input", most_items=1)  # the figure binds the top level only
    with pytest.raises(BadValue):
        check_value(["x"] * 2, "ids", most_items=1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("import-hygiene") / "eiso.db"
    values = {"EISO_DATABASE_URL": f"sqlite:///{path}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=values).returncode == 0
    created = eiso("provinces", "create", "--code", "31", "--name", "Hải Phòng", env=values)
    assert created.returncode == 0, created.stderr
    return values


@pytest.mark.parametrize("shape", ["long field", "NUL", "control character", "deep JSON"])
def test_cli_names_the_line_and_column_and_writes_nothing(env, tmp_path, shape):
    content, fmt, place = _content(shape)
    file = tmp_path / f"agencies.{fmt.value}"
    file.write_bytes(content)
    result = eiso("agencies", "import", "--province", "31", str(file), env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"eiso: line 3: {place}"), lines
    assert "Traceback" not in result.stderr and "nothing was written" in lines[-1]
    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}G1,Xã Tốt,commune,\n", encoding="utf-8")
    again = eiso("agencies", "import", "--province", "31", str(good), "--dry-run", env=env)
    assert again.returncode == 0 and "would create 1" in again.stderr  # G1 was not written
