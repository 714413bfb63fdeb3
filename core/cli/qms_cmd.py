"""`eiso qms`: the QMS jobs an operator schedules (cron, a Kubernetes CronJob)."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import TYPE_CHECKING, Any

import typer

from eiso.core.cli import inspections_cmd
from eiso.core.cli.common import ProvinceCode, cli_actor, echo_json, fail, run_as_nation
from eiso.infra.clock import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.resources import Resources

app = typer.Typer(help="The QMS improvement loop.", no_args_is_help=True)
app.add_typer(inspections_cmd.app, name="inspections")


@app.command("sweep-overdue")
def sweep_overdue() -> None:
    """Raise a nonconformity for every open dossier past its appointment, every citizen's
    feedback answered late or unanswered past its deadline, and every review flag (a legal
    change) still open past its due date, that has none yet (idempotent: run it as often as
    you like). Prints {"checked": N, "raised": M, "feedback": {...}, "reviewFlags": {...}}."""
    from eiso.core.qms import dossier_ncs, feedback_ncs, review_deadline

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, object]:
        dossiers = await dossier_ncs.sweep_overdue(session)
        return {
            **dossiers,
            "feedback": await feedback_ncs.sweep_overdue(session),
            "reviewFlags": await review_deadline.sweep_overdue(session),
        }

    echo_json(run_as_nation(work))


@app.command("reports")
def reports(
    province: ProvinceCode,
    year: int = typer.Option(..., "--year", help="The report's year, e.g. 2026."),
    today: str | None = typer.Option(
        None, "--today", help="YYYY-MM-DD: judge lateness as on this day (default: today)."
    ),
) -> None:
    """Every agency's yearly report of the province at a glance (JSON): its status, due day,
    whether it is overdue and the reminders sent; with a count per status."""
    from eiso.core.cli.common import province_option
    from eiso.core.qms import yearly_reports
    from eiso.tenants.scope import TenantScope

    day = _day(today)

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        province_id = (await province_option(session, province)).id
        assert province_id is not None
        lines = await yearly_reports.board(session, TenantScope.nation(), province_id, year)
        rows = [line.as_dict(day) for line in lines]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return {"province": province, "year": year, "counts": counts, "agencies": rows}

    echo_json(run_as_nation(work))


@app.command("remind-yearly-reports")
def remind_yearly_reports(
    today: str | None = typer.Option(
        None, "--today", help="YYYY-MM-DD: remind as on this day (default: today)."
    ),
) -> None:
    """Record a "due soon" reminder (from the province's warning day) and an "overdue" one (after
    its due day) on every yearly report of this year not yet sent, opening a draft where an agency
    has none; the agency sees them on its report. Idempotent: schedule it daily. Prints
    {"checked": N, "reminded": M}."""
    from eiso.core.qms import yearly_reports

    day = _day(today)

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        return await yearly_reports.sweep_reminders(session, day, actor=cli_actor())

    echo_json(run_as_nation(work))


def _day(raw: str | None) -> dt.date:
    if raw is None:
        return utcnow().date()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        fail(f"--today: a date YYYY-MM-DD, not {raw!r}")


def _operator(province_id: int) -> Any:
    """The province administrator the command line acts as (the audit trail names the user)."""
    from eiso.core.auth.principal import Principal, Role
    from eiso.tenants.scope import TenantScope

    return Principal(
        cli_actor(),
        TenantScope.province(province_id),
        frozenset({Role.province_admin}),
        province_id=province_id,
    )


def _agency_codes(raw: str | None, path: str | None) -> list[tuple[str, str]] | None:
    """(where, code) of each agency named by `--agencies A,B` or `--agencies-file` (one code a
    line; blank lines and `#` comments skipped): `where` names the line for the messages."""
    if raw is None and path is None:
        return None
    if raw is not None and path is not None:
        fail("give --agencies or --agencies-file, not both")
    if raw is not None:
        return [(f"--agencies item {n}", c.strip()) for n, c in enumerate(raw.split(","), 1)]
    assert path is not None
    try:
        lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        fail(f"--agencies-file: {error.strerror}: {path}")
    return [
        (f"{path}:{n}", line.strip())
        for n, line in enumerate(lines, 1)
        if line.strip() and not line.strip().startswith("#")
    ]


@app.command("adopt-model")
def adopt_model(
    province: ProvinceCode,
    agencies: str | None = typer.Option(None, "--agencies", help="Agency codes, comma-separated."),
    agencies_file: str | None = typer.Option(
        None, "--agencies-file", help="A file of agency codes, one a line."
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="Every active agency of this kind (commune, ward, department, ...)."
    ),
    codes: str | None = typer.Option(
        None, "--codes", help="Only these documents of the set (e.g. CSCL,QT-TL); all if omitted."
    ),
    install: bool = typer.Option(
        False, "--install", help="Also copy the set into the province's model documents first."
    ),
) -> None:
    """Adopt the model QMS of Decision 101/QĐ-BKHCN in many agencies at once: each gets each
    document as a draft (the province's effective model text where there is one). All or
    nothing: an unknown agency code fails the whole command, naming its line. Prints
    {"agencies": N, "created": M, "skipped": K}."""
    from sqlmodel import col, select

    from eiso.core.errors import DomainError
    from eiso.core.qms import model_qms
    from eiso.tenants.models import Agency

    named = _agency_codes(agencies, agencies_file)
    wanted = [c.strip() for c in codes.split(",")] if codes else None

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, Any]:
        row = await province_of_code(session, province)
        ids = None
        if named is not None:
            found = dict(
                (
                    await session.execute(
                        select(Agency.code, Agency.id).where(
                            col(Agency.province_id) == row,
                            col(Agency.code).in_([c for _, c in named]),
                        )
                    )
                ).all()
            )
            for where, code in named:
                if code not in found:
                    fail(f"{where}: no agency {code!r} in province {province}")
            ids = [found[c] for _, c in named]
        operator = _operator(row)
        try:
            installed = await model_qms.install(session, operator, row) if install else []
            report = await model_qms.adopt(
                session, operator, row, agency_ids=ids, agency_kind=kind, codes=wanted
            )
        except DomainError as error:
            field = str(error.details.get("field") or province)
            if named is not None and field.startswith("agencyIds["):  # an inactive agency
                where, code = named[int(field[len("agencyIds[") : -1])]
                fail(f"{where}: agency {code!r}: {error.message.split(': ', 1)[-1]}")
            fail(f"{field}: {error.message}")
        return {
            "installed": [d.code for d, _ in installed],
            "agencies": report.agencies,
            "created": report.created,
            "skipped": report.skipped,
        }

    echo_json(run_as_nation(work))


@app.command("process-docs")
def process_docs_cmd(
    province: ProvinceCode,
) -> None:
    """Generate the ISO process document of every procedure the province's agencies adopted
    (or a new draft version where the procedure changed since). Prints {"written": N}."""
    from eiso.core.qms import process_docs

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        row = await province_of_code(session, province)
        return {"written": await process_docs.generate_for(session, row, None, cli_actor())}

    echo_json(run_as_nation(work))


async def province_of_code(session: AsyncSession, code: str) -> int:
    from eiso.core.cli.common import province_option

    province_id = (await province_option(session, code)).id
    assert province_id is not None
    return province_id


rollups_app = typer.Typer(help="The figures' rollups (core/qms/rollups.py).", no_args_is_help=True)
app.add_typer(rollups_app, name="rollups")


@rollups_app.command("rebuild")
def rebuild_rollups(
    province: str | None = typer.Option(
        None, "--province", help="The province's code (default: every province)."
    ),
) -> None:
    """Recompute the figures' rollups from the dossier rows, in one transaction (idempotent:
    the figures read the same afterwards unless the rollups had drifted). Prints
    {"provinces": N, "rows": M}."""
    from sqlmodel import col, select

    from eiso.core.cli.common import province_option
    from eiso.core.qms import rollups
    from eiso.tenants.models import Province

    async def work(session: AsyncSession, _resources: Resources) -> dict[str, int]:
        if province is not None:
            ids = [(await province_option(session, province)).id]
        else:
            ids = list((await session.execute(select(col(Province.id)))).scalars())
        written = 0
        for province_id in ids:
            assert province_id is not None
            written += await rollups.rebuild(session, province_id)
        return {"provinces": len(ids), "rows": written}

    echo_json(run_as_nation(work))
