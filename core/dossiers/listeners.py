"""What the dossier domain announces to the rooms that react to it (the QMS raises its
nonconformities and flags legal changes): they register a listener here, the dossier domain
calls them and imports none of them.

- `on_transition`: every transition the engine makes, inside its transaction, after its audit
  entry and outbox event (so a listener's writes commit or roll back with the move);
- `on_batch`: writes a transition adds to the move's own statement (PostgreSQL's driver path:
  the engine's batch of data-modifying CTEs), so they cost no round trip of their own; asked
  before the batch is sent, with the dossier as the move left it. What it answers is written
  with the move or not at all (its `done` runs once the statement succeeded); answering `None`
  leaves the write to the listener's `on_transition` path (SQLite and Citus always take it);
- `on_refusal`: a move the engine refused, after that transaction rolled back (a listener
  writes in a transaction of its own);
- `on_update`: a change to a dossier that is not a move (the citizen's rating), in its
  transaction;
- `on_adoption` / `on_drop`: an agency adopted a procedure or ended its adoption, in its
  transaction;
- `on_catalogue_sync`: the procedures of the loaded modules, inside the catalogue sync's
  transaction.

Listeners run in the order they registered; registering one twice is a no-op. A listener's
exception reaches the caller, as the engine's own would. `eiso.core.qms` registers its
listeners when imported; the composition roots (the app, the CLI, the tests) import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Executable
    from sqlalchemy.ext.asyncio import AsyncSession

    from eiso.core.dossiers.models import Dossier, ProcedureAdoption
    from eiso.core.plugins.declarations import Procedure
    from eiso.core.resources import Resources
    from eiso.tenants.scope import TenantScope


class TransitionListener(Protocol):
    async def __call__(
        self,
        session: AsyncSession,
        dossier: Dossier,
        *,
        action: str,
        from_status: int | None,
        actor: str,
    ) -> object: ...


@dataclass(frozen=True)
class Refusal:
    """A move the engine refused: the dossier (its global id parts), the error's code, who."""

    dossier_id: int
    province_id: int | None
    code: str
    actor: str


@dataclass(frozen=True)
class Batched:
    """A write joined to a move's batch: its data-modifying statements, each built once (the
    same objects for the same shape: the engine keeps the joined statement per shape) and
    named (the CTE's name, unique), their parameters (names of their own), and what to do once
    the statement succeeded."""

    statements: tuple[tuple[str, Executable], ...]
    parameters: Mapping[str, Any]
    done: Callable[[], None]


class BatchListener(Protocol):
    def __call__(
        self, session: AsyncSession, dossier: Dossier, *, from_status: int | None
    ) -> Batched | None: ...


class UpdateListener(Protocol):
    async def __call__(self, session: AsyncSession, dossier: Dossier, *, action: str) -> object: ...


class RefusalListener(Protocol):
    async def __call__(
        self, resources: Resources, scope: TenantScope, refusal: Refusal
    ) -> object: ...


class CatalogueListener(Protocol):
    async def __call__(self, session: AsyncSession, procedures: Sequence[Procedure]) -> object: ...


class AdoptionListener(Protocol):
    async def __call__(
        self, session: AsyncSession, adoption: ProcedureAdoption, actor: str
    ) -> object: ...


_transitions: list[TransitionListener] = []
_batches: list[BatchListener] = []
_adoptions: list[AdoptionListener] = []
_drops: list[AdoptionListener] = []
_refusals: list[RefusalListener] = []
_updates: list[UpdateListener] = []
_syncs: list[CatalogueListener] = []

L = TypeVar("L")


def _add(listeners: list[L], listener: L) -> L:
    if listener not in listeners:
        listeners.append(listener)
    return listener


def on_transition(listener: TransitionListener) -> TransitionListener:
    """Call `listener` for every transition, in its transaction."""
    return _add(_transitions, listener)


def on_batch(listener: BatchListener) -> BatchListener:
    """Ask `listener` for the writes to join to each move's batch (PostgreSQL's driver path)."""
    return _add(_batches, listener)


def on_update(listener: UpdateListener) -> UpdateListener:
    """Call `listener` for every change to a dossier that is not a move, in its transaction."""
    return _add(_updates, listener)


def on_refusal(listener: RefusalListener) -> RefusalListener:
    """Call `listener` for every move the engine refused, after the rollback."""
    return _add(_refusals, listener)


def on_catalogue_sync(listener: CatalogueListener) -> CatalogueListener:
    """Call `listener` with the loaded procedures at every catalogue sync, in its transaction."""
    return _add(_syncs, listener)


def on_adoption(listener: AdoptionListener) -> AdoptionListener:
    """Call `listener` when an agency adopts (or re-adopts) a procedure, in its transaction."""
    return _add(_adoptions, listener)


def on_drop(listener: AdoptionListener) -> AdoptionListener:
    """Call `listener` when an agency ends its adoption of a procedure (the row deleted), in
    its transaction."""
    return _add(_drops, listener)


async def dropped(session: AsyncSession, adoption: ProcedureAdoption, actor: str) -> None:
    for listener in _drops:
        await listener(session, adoption, actor)


async def adopted(session: AsyncSession, adoption: ProcedureAdoption, actor: str) -> None:
    for listener in _adoptions:
        await listener(session, adoption, actor)


async def transitioned(
    session: AsyncSession, dossier: Dossier, *, action: str, from_status: int | None, actor: str
) -> None:
    for listener in _transitions:
        await listener(session, dossier, action=action, from_status=from_status, actor=actor)


def batched(session: AsyncSession, dossier: Dossier, *, from_status: int | None) -> list[Batched]:
    """The writes the listeners join to the move's batch, which the engine is about to send."""
    found = (listener(session, dossier, from_status=from_status) for listener in _batches)
    return [b for b in found if b is not None]


async def updated(session: AsyncSession, dossier: Dossier, *, action: str) -> None:
    for listener in _updates:
        await listener(session, dossier, action=action)


async def refused(resources: Resources, scope: TenantScope, refusal: Refusal) -> None:
    for listener in _refusals:
        await listener(resources, scope, refusal)


async def catalogue_synced(session: AsyncSession, procedures: Sequence[Procedure]) -> None:
    for listener in _syncs:
        await listener(session, procedures)
