"""Module activation per province: data, with who and when, never deleting a module's data."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from eiso.infra.clock import utcnow


class ModuleActivation(SQLModel, table=True):
    """The current state of one module for one province."""

    __tablename__ = "module_activations"
    __table_args__ = (UniqueConstraint("province_id", "module", name="uq_module_activation"),)

    id: int | None = Field(default=None, primary_key=True)
    province_id: int = Field(sa_type=BigInteger, foreign_key="provinces.id", index=True)
    module: str = Field(sa_column=Column(String(64), nullable=False))
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    changed_by: str = Field(max_length=200)
    changed_at: dt.datetime = Field(default_factory=utcnow)


class ModuleActivationEvent(SQLModel, table=True):
    """History: every enable and disable, by whom and when."""

    __tablename__ = "module_activation_events"

    id: int | None = Field(default=None, primary_key=True)
    province_id: int = Field(sa_type=BigInteger, foreign_key="provinces.id", index=True)
    module: str = Field(max_length=64)
    enabled: bool
    changed_by: str = Field(max_length=200)
    changed_at: dt.datetime = Field(default_factory=utcnow)


async def enabled_modules(session: AsyncSession, province_id: int) -> frozenset[str]:
    """The names of the modules this province has switched on."""
    rows = await session.execute(
        select(ModuleActivation.module).where(
            ModuleActivation.province_id == province_id, ModuleActivation.enabled.is_(True)
        )
    )
    return frozenset(rows.scalars())


async def set_module(
    session: AsyncSession,
    province_id: int,
    module: str,
    enabled: bool,
    by: str,
    config: dict[str, Any] | None = None,
) -> ModuleActivation:
    """Switch `module` on or off for a province, recording who and when. Idempotent."""
    row = (
        await session.execute(
            select(ModuleActivation).where(
                ModuleActivation.province_id == province_id, ModuleActivation.module == module
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = ModuleActivation(
            province_id=province_id, module=module, enabled=enabled, changed_by=by
        )
        session.add(row)
    elif row.enabled == enabled and config is None:
        return row
    row.enabled, row.changed_by, row.changed_at = enabled, by, utcnow()
    if config is not None:
        row.config = config
    session.add(
        ModuleActivationEvent(
            province_id=province_id, module=module, enabled=enabled, changed_by=by
        )
    )
    await session.flush()
    return row


_MODULE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def installed_modules() -> frozenset[str]:
    """The modules installed in this environment: entry points of the `eiso.plugins` group."""
    from importlib.metadata import entry_points

    return frozenset(entry.name for entry in entry_points(group="eiso.plugins"))


def check_module_name(module: str) -> str | None:
    """Why `module` cannot be switched, or None. Until plugin discovery lands, any well-formed
    name is accepted so provinces can prepare their activations."""
    if not _MODULE_NAME.match(module):
        return "a module name is 2-64 of a-z, 0-9 and _, starting with a letter"
    return None
