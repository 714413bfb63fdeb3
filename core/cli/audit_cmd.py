"""`eiso audit`: verify the tamper-evident audit chains and publish their heads."""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

import orjson
import typer

from eiso.core.cli.common import agency_option, echo_json, fail, run_as_nation

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.audit import Break, ChainHead
    from eiso.core.resources import Resources

app = typer.Typer(help="The audit trail (hash chains per agency).", no_args_is_help=True)


def _read_digest(path: pathlib.Path) -> list[ChainHead]:
    from eiso.core.audit import ChainHead

    try:
        rows = orjson.loads(path.read_bytes())
        return [
            ChainHead(int(r["province_id"]), int(r["agency_id"]), int(r["seq"]), str(r["hash"]))
            for r in rows
        ]
    except OSError as error:
        fail(f"--digest: cannot read {path}: {error.strerror}")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        fail(f"--digest: {path} is not the JSON that `eiso audit heads` prints")


@app.command("verify")
def verify(
    agency: str | None = typer.Option(None, "--agency", help="Only this agency's code."),
    digest: pathlib.Path | None = typer.Option(
        None, "--digest", help="A file saved from `eiso audit heads`: check it still matches."
    ),
) -> None:
    """Walk the chains; report the first broken link of each; exit 1 if any is broken."""
    from sqlmodel import col, select

    from eiso.core import audit
    from eiso.tenants.models import Agency

    published = _read_digest(digest) if digest else []

    async def work(
        session: AsyncSession, _resources: Resources
    ) -> tuple[list[ChainHead], list[Break], dict[int, str]]:
        agency_id = None if agency is None else (await agency_option(session, agency)).id
        heads = [h for h in await audit.chain_heads(session) if agency_id in (None, h.agency_id)]
        breaks = await audit.verify(session, agency_id)
        breaks += await audit.check_published(
            session, [h for h in published if agency_id in (None, h.agency_id)]
        )
        ids = [b.agency_id for b in breaks]
        statement = select(Agency.id, Agency.code).where(col(Agency.id).in_(ids))
        codes = dict((await session.execute(statement)).tuples().all())
        return heads, breaks, codes

    heads, breaks, codes = run_as_nation(work)
    for broken in breaks:
        agency_name = f"{codes.get(broken.agency_id, '?')} (id {broken.agency_id})"
        typer.echo(
            f"eiso: audit chain broken: agency {agency_name}, seq {broken.seq}: {broken.problem}",
            err=True,
        )
    if breaks:
        raise typer.Exit(1)
    entries = sum(h.seq for h in heads)
    typer.echo(f"eiso: {len(heads)} audit chain(s) intact, {entries} entries", err=True)


@app.command("heads")
def heads() -> None:
    """Print every chain head (agency, seq, hash) as JSON, to keep a digest outside the DB."""
    from eiso.core import audit

    async def work(session: AsyncSession, _resources: Resources) -> list[ChainHead]:
        return await audit.chain_heads(session)

    echo_json(
        [
            {"province_id": h.province_id, "agency_id": h.agency_id, "seq": h.seq, "hash": h.hash}
            for h in run_as_nation(work)
        ]
    )
