"""Bulk onboarding: every bad row reported with its line, nothing written, idempotent re-runs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from eiso.tenants.models import Agency
from eiso.tenants.onboarding import CHUNK, FileFormat, onboard
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_province
from tests.conftest import unique_code

HEADER = "code,name,kind,parent_code,admin_username,admin_email\n"


@pytest.fixture
async def province(resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await ensure_province(session, unique_code("P"), "Tỉnh Quảng Ninh")


async def _count(resources, province) -> int:
    async with resources.session(TenantScope.province(province.id)) as session:
        return (await session.execute(select(func.count()).select_from(Agency))).scalar_one()


async def _run(resources, province, text: str | bytes, fmt=FileFormat.csv, **kwargs):
    content = text if isinstance(text, bytes) else text.encode()
    return await onboard(resources.session, province, content, fmt, **kwargs)


def _codes(n: int = 3) -> list[str]:
    return [unique_code("A") for _ in range(n)]


async def test_an_awaited_progress_counts_every_bulk_statement(resources, province):
    """The console's background import awaits its progress (a Redis write): told after each
    bulk statement of CHUNK rows, in one transaction (nothing visible before the end)."""
    rows = CHUNK * 2 + 10
    text = HEADER + "".join(f"{unique_code('B')},Xã số {n},commune,,,\n" for n in range(rows))
    told: list[tuple[int, int, int]] = []

    async def progress(done: int, total: int) -> None:
        told.append((done, total, await _count(resources, province)))

    report = await _run(resources, province, text, progress=progress)
    assert report.ok and len(report.created) == rows
    assert [(done, total) for done, total, _ in told] == [
        (0, rows),
        (CHUNK, rows),
        (CHUNK * 2, rows),
        (rows, rows),
    ]
    assert all(seen == 0 for _, _, seen in told)  # all or nothing: one transaction
    assert await _count(resources, province) == rows


async def test_parents_after_children_and_rerun_changes_nothing(resources, province):
    root, commune, ward = _codes()
    text = (
        HEADER
        + f"{commune},Ủy ban nhân dân xã Tiên Yên,commune,{root},tienyen,tienyen@example.vn\n"
        + f"{ward},Ủy ban nhân dân phường Hạ Long,ward,{root},,\n"
        + f"{root},Ủy ban nhân dân tỉnh Quảng Ninh,people_committee,,,\n"
    )
    progress = []
    first = await _run(
        resources, province, text, progress=lambda done, total: progress.append((done, total))
    )
    assert first.ok and sorted(first.created) == sorted([root, commune, ward])
    assert progress[-1] == (3, 3)
    assert [(a.agency_code, a.username) for a in first.pending_accounts] == [(commune, "tienyen")]
    second = await _run(resources, province, text)
    assert second.ok and second.created == [] and second.updated == []
    assert sorted(second.unchanged) == sorted([root, commune, ward])
    assert await _count(resources, province) == 3
    async with resources.session(TenantScope.province(province.id)) as session:
        rows = {a.code: a for a in (await session.execute(select(Agency))).scalars()}
    assert rows[commune].parent_id == rows[root].id
    assert rows[commune].name_folded == "uy ban nhan dan xa tien yen"


async def test_same_code_in_the_same_province_is_updated(resources, province):
    (code,) = _codes(1)
    await _run(resources, province, HEADER + f"{code},Xã Cũ,commune,,,\n")
    report = await _run(resources, province, HEADER + f"{code},Xã Mới,ward,,,\n")
    assert report.ok and report.updated == [code]
    async with resources.session(TenantScope.province(province.id)) as session:
        agency = (await session.execute(select(Agency).where(Agency.code == code))).scalar_one()
    assert (agency.name, agency.kind) == ("Xã Mới", "ward")


async def test_json_list_with_line_numbers(resources, province):
    parent, child = _codes(2)
    good = json.dumps(
        [
            {"code": child, "name": "Xã Đầm Hà", "kind": "commune", "parent_code": parent},
            {"code": parent, "name": "UBND tỉnh", "kind": "people_committee"},
        ],
        ensure_ascii=False,
        indent=2,
    )
    report = await _run(resources, province, good, FileFormat.json)
    assert report.ok and len(report.created) == 2
    first, second = _codes(2)
    bad = (
        "[\n"
        f'  {{"code": "{first}", "name": "X", "kind": "commune"}},\n'
        f'  {{"code": "{second}", "name": "Y", "kind": "town"}}\n'
        "]"
    )
    report = await _run(resources, province, bad, FileFormat.json)
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [(3, "bad kind 'town'")]


async def test_dry_run_writes_nothing(resources, province):
    report = await _run(
        resources, province, HEADER + f"{_codes(1)[0]},Xã Thử,commune,,,\n", dry_run=True
    )
    assert report.ok and len(report.created) == 1
    assert await _count(resources, province) == 0


async def _other_province_code(resources) -> str:
    (code,) = _codes(1)
    async with resources.session(TenantScope.nation()) as session, session.begin():
        other = await ensure_province(session, unique_code("P"), "Tỉnh Khác")
    await _run(resources, other, HEADER + f"{code},Xã Khác,commune,,,\n")
    return code


@pytest.mark.parametrize(
    "rows, line, reason",
    [
        ("{c},,commune,,,\n", 2, "missing field name"),
        (",Xã A,commune,,,\n", 2, "missing field code"),
        ("{c},Xã A,,,,\n", 2, "missing field kind"),
        ("{c},Xã A,commune,NOPE-{c},,\n", 2, "unknown parent_code 'NOPE-{c}'"),
        ("{c},Xã A,commune,,,\n{c},Xã B,ward,,,\n", 3, "duplicate code '{c}' (first on line 3)"),
        ("{c},Xã A,town,,,\n", 2, "bad kind 'town'"),
        ("{c},Xã A,commune,,bad name,\n", 2, "bad admin_username 'bad name'"),
        ("{c},Xã A,commune,,admin,not-an-email\n", 2, "bad admin_email 'not-an-email'"),
        ("{c},Xã A,commune,{c},,\n", 2, "an agency cannot be its own parent"),
    ],
)
async def test_each_bad_row_reason(resources, province, rows, line, reason):
    (code,) = _codes(1)
    report = await _run(
        resources, province, HEADER + f"{_codes(1)[0]},Xã Tốt,commune,,,\n" + rows.format(c=code)
    )
    assert not report.ok
    assert any(
        e.line == line + 1 and e.reason.startswith(reason.format(c=code)) for e in report.errors
    ), report.errors
    assert await _count(resources, province) == 0


async def test_bad_encoding_is_reported_with_its_line(resources, province):
    good, bad = _codes(2)
    content = (
        (HEADER + f"{good},Xã Tốt,commune,,,\n").encode()
        + f"{bad},X".encode()
        + b"\xff\xfe,commune,,,\n"
    )
    report = await _run(resources, province, content)
    assert [(e.line, e.reason) for e in report.errors] == [(3, "not valid UTF-8 (bad encoding)")]
    assert await _count(resources, province) == 0


async def test_code_of_another_province_is_refused(resources, province):
    taken = await _other_province_code(resources)
    report = await _run(resources, province, HEADER + f"{taken},Xã Trùng,commune,,,\n")
    assert [e.reason for e in report.errors] == [
        f"code {taken!r} is already used by an agency of another province"
    ]


async def test_parent_cycle_and_every_bad_line_reported(resources, province):
    a, b, c = _codes()
    report = await _run(resources, province, HEADER + f"{a},A,commune,{b},,\n{b},B,commune,{a},,\n")
    assert {e.line for e in report.errors} == {2, 3}
    report = await _run(
        resources, province, HEADER + f"{a},,commune,,,\n{b},B,x,,,\n{c},C,ward,Z{c},,\n"
    )
    assert [e.line for e in report.errors] == [2, 3, 4]


async def test_bad_header(resources, province):
    report = await _run(resources, province, "code,name\nA,B\n")
    assert report.errors[0].line == 1 and "header" in report.errors[0].reason


async def test_admins_named_in_the_file_get_invited_accounts(resources, province):
    from eiso.core.auth.invitations import create_agency_admins
    from eiso.core.auth.models import User
    from eiso.core.auth.users import get_by_username

    first, second = _codes(2)
    username = "admin" + unique_code().lower()
    text = HEADER + f"{first},Ủy ban nhân dân xã Tiên Yên,commune,,{username},a@example.vn\n"
    report = await _run(resources, province, text, accounts=create_agency_admins)
    assert report.ok
    again = await _run(resources, province, text, accounts=create_agency_admins)  # idempotent
    assert again.ok and again.unchanged == [first]
    async with resources.session(TenantScope.nation()) as session:
        user = await get_by_username(session, username)
        agency = (await session.execute(select(Agency).where(Agency.code == first))).scalar_one()
        assert (user.agency_id, user.roles, user.password_hash) == (
            agency.id,
            ["iso_secretary"],
            None,
        )
    # The same username for another agency: that line is refused and nothing is written.
    clash = HEADER + f"{second},Ủy ban nhân dân xã Đầm Hà,commune,,{username},\n"
    refused = await _run(resources, province, clash, accounts=create_agency_admins)
    assert [(e.line, e.reason) for e in refused.errors] == [
        (2, f"admin_username {username!r} is already taken")
    ]
    async with resources.session(TenantScope.nation()) as session:
        assert (await session.execute(select(Agency).where(Agency.code == second))).first() is None
        count = select(func.count()).select_from(User).where(User.username == username)
        assert (await session.execute(count)).scalar_one() == 1
