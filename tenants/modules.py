"""Module activation per province: the tables, with who and when, never deleting a module's
data. The service that switches modules is the plugin system's (core/plugins/activation.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, String, UniqueConstraint
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
