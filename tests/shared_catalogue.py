"""One procedure catalogue for the whole test session.

The catalogue is global and a test process shares one database per backend, while the tests
sync it with registries of their own (a test module's procedures, an app's start-up with its
modules, none at all). A real sync marks inactive what the registry does not offer, so a
partial sync would switch other tests' procedures off, and which ones are active would depend
on the order the tests ran in. Under `session_catalogue` every sync is a partial one: it speaks
for the modules its registry loads (a module that stops offering a code still deactivates it,
as in production) and leaves the procedures of modules it does not load as the session's
earlier syncs put them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.core.dossiers import catalogue
from eiso.core.dossiers.models import ProcedureRecord
from eiso.core.plugins.registry import PluginRegistry

# procedure code -> the module that last offered it in this process's syncs (any backend:
# re-activating a code the other backend's database lacks updates nothing)
_OWNERS: dict[str, str] = {}


def _others(deactivated: list[str], registry: PluginRegistry) -> list[str]:
    """The codes this sync deactivated that belong to modules it did not load."""
    loaded = registry.names()
    return [code for code in deactivated if code in _OWNERS and _OWNERS[code] not in loaded]


@contextmanager
def session_catalogue() -> Iterator[None]:
    real = catalogue.sync_catalogue

    async def sync(session: AsyncSession, registry: PluginRegistry) -> catalogue.SyncReport:
        report = await real(session, registry)
        kept = _others(report.deactivated, registry)
        if kept:
            await session.execute(
                update(ProcedureRecord)
                .where(col(ProcedureRecord.code).in_(kept))
                .values(active=True)
            )
            report.deactivated = [code for code in report.deactivated if code not in kept]
        _OWNERS.update(registry.procedure_owners())
        return report

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalogue, "sync_catalogue", sync)
        yield
