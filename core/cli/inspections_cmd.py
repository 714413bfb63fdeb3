"""`eiso qms inspections`: the DOST's yearly inspection from the command line (the operator acts
as the nation's administrator): the plan, scheduling, the checklist as a JSON file, the list
and the PAR summary as CSV or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import pathlib
from typing import TYPE_CHECKING, Any

import typer

from eiso.core.cli import common

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.auth.principal import Principal
    from eiso.core.resources import Resources

app = typer.Typer(help="The DOST's yearly inspection of ISO application.", no_args_is_help=True)

PROVINCE = typer.Option(..., "--province", help="The province's code.")
YEAR = typer.Option(..., "--year", help="The plan's year, e.g. 2026.")


def _operator() -> Principal:
    from eiso.core.auth.principal import Principal, Role
    from eiso.tenants.scope import TenantScope

    return Principal(common.cli_actor(), TenantScope.nation(), frozenset({Role.national_admin}))


async def _province_id(session: AsyncSession, code: str) -> int:
    province_id = (await common.province_option(session, code)).id
    assert province_id is not None
    return province_id


@app.command("plan")
def plan(
    province: str = PROVINCE,
    year: int = YEAR,
    title: str = typer.Option(..., "--title", help="The plan's title."),
    notes: str = typer.Option("", "--notes"),
) -> None:
    """Create or rename the province's inspection plan of the year."""
    from eiso.core.qms import inspections

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = await _province_id(session, province)
        row = await inspections.save_plan(session, _operator(), province_id, year, title, notes)
        return {"province": province, "year": row.year, "title": row.title}

    common.echo_json(common.change_as_nation(work))


@app.command("schedule")
def schedule(
    province: str = PROVINCE,
    year: int = YEAR,
    agency: str = typer.Option(..., "--agency", help="The inspected agency's code."),
    on: str = typer.Option(..., "--on", help="YYYY-MM-DD: the day of the inspection."),
    inspectors: str = typer.Option("", "--inspectors", help="The inspection team."),
) -> None:
    """Put an agency on the year's plan (the plan must exist)."""
    from eiso.core.qms import inspections

    try:
        day = dt.date.fromisoformat(on)
    except ValueError:
        common.fail(f"--on: a date YYYY-MM-DD, not {on!r}")

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = await _province_id(session, province)
        found = await common.agency_option(session, agency)
        if found.province_id != province_id:
            common.fail(f"--agency: {agency} is not an agency of {province}")
        row = await inspections.schedule(
            session,
            _operator(),
            province_id=province_id,
            agency_id=found.id,
            year=year,
            planned_on=day,
            inspectors=inspectors,
        )
        return {"agency": agency, "year": year, "plannedOn": day.isoformat(), "id": row.id}

    common.echo_json(common.change_as_nation(work))


@app.command("list")
def list_(province: str = PROVINCE, year: int = YEAR) -> None:
    """The year's inspections (JSON): agency, day, status, findings."""
    from eiso.core.qms import inspections

    async def work(session: AsyncSession, _resources: Resources) -> list[dict[str, Any]]:
        province_id = await _province_id(session, province)
        return [
            line.as_dict()
            for line in await inspections.par_summary(session, province_id, year)
            if line.inspection is not None
        ]

    common.echo_json(common.run_as_nation(work))


@app.command("summary")
def summary(
    province: str = PROVINCE,
    year: int = YEAR,
    output_format: str = typer.Option("csv", "--format", help="csv or json"),
) -> None:
    """The PAR index data of the year: every agency, inspected or not, its findings, closed and
    verified (CSV with a header line, or JSON)."""
    from eiso.core.qms import inspections

    if output_format not in ("csv", "json"):
        common.fail(f"--format: csv or json, not {output_format!r}")

    async def work(session: AsyncSession, _resources: Resources) -> list[dict[str, Any]]:
        province_id = await _province_id(session, province)
        return [
            line.as_dict() for line in await inspections.par_summary(session, province_id, year)
        ]

    rows = common.run_as_nation(work)
    if output_format == "json":
        common.echo_json(rows)
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=inspections.PAR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    typer.echo(out.getvalue(), nl=False)


@app.command("checklist")
def checklist(
    province: str = PROVINCE,
    set_from: pathlib.Path | None = typer.Option(
        None,
        "--set",
        help='A JSON file {"items": [{"code", "clause", "requirement"}, ...]} to replace the '
        "province's checklist with.",
    ),
    reset: bool = typer.Option(False, "--reset", help="Go back to eiso's default."),
) -> None:
    """Print the province's checklist (JSON), or replace it from a file, or reset it."""
    from eiso.core.qms import inspections

    items: list[dict[str, Any]] | None = None
    if set_from is not None:
        try:
            items = json.loads(set_from.read_text(encoding="utf-8"))["items"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            common.fail(f"--set {set_from}: not a JSON file with a list of items ({error})")

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = await _province_id(session, province)
        if reset:
            await inspections.reset_checklist(session, _operator(), province_id)
        elif items is not None:
            await inspections.set_checklist(session, _operator(), province_id, items)
        found, is_default = await inspections.checklist(session, province_id)
        return {"province": province, "isDefault": is_default, "items": found}

    common.echo_json(common.change_as_nation(work))
