"""The risk register (ISO 9001 clause 6.1): likelihood (1-5) × impact (1-5) = level."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field

from eiso.core.auth.principal import Principal, Role
from eiso.core.errors import DomainError
from eiso.core.qms.common import get_in_scope, record, require_role, require_text
from eiso.infra.clock import utcnow
from eiso.tenants.models import TenantOwned, agency_fk

MAINTAINERS = (Role.iso_secretary, Role.leader)


class Risk(TenantOwned, table=True):
    __tablename__ = "risks"
    __table_args__ = (agency_fk("risks"),)

    title: str = Field(max_length=300)
    likelihood: int
    impact: int
    level: int
    treatment: str = Field(default="", sa_type=Text)
    owner: str = Field(max_length=200)
    review_date: dt.date
    created_by: str = Field(max_length=200)
    updated_at: dt.datetime = Field(default_factory=utcnow)


def _score(value: int, field: str) -> int:
    if not isinstance(value, int) or not 1 <= value <= 5:
        raise DomainError(
            f"{field} must be between 1 and 5", f"{field} phải từ 1 đến 5", field=field
        )
    return value


async def register_risk(
    session: AsyncSession,
    principal: Principal,
    *,
    province_id: int,
    agency_id: int,
    title: str,
    likelihood: int,
    impact: int,
    treatment: str,
    owner: str,
    review_date: dt.date,
) -> Risk:
    require_role(principal, *MAINTAINERS)
    risk = Risk(
        province_id=province_id,
        agency_id=agency_id,
        title=require_text(title, "title", 300),
        likelihood=_score(likelihood, "likelihood"),
        impact=_score(impact, "impact"),
        level=0,
        treatment=treatment,
        owner=require_text(owner, "owner", 200),
        review_date=review_date,
        created_by=principal.subject,
    )
    risk.level = risk.likelihood * risk.impact
    return await record(session, risk, principal.subject, "risk.register", {"level": risk.level})


async def review_risk(
    session: AsyncSession,
    principal: Principal,
    province_id: int,
    risk_id: int,
    *,
    likelihood: int,
    impact: int,
    treatment: str,
    review_date: dt.date,
) -> Risk:
    require_role(principal, *MAINTAINERS)
    risk = await get_in_scope(session, Risk, province_id, risk_id, "risk")
    risk.likelihood, risk.impact = _score(likelihood, "likelihood"), _score(impact, "impact")
    risk.level, risk.treatment, risk.review_date = likelihood * impact, treatment, review_date
    risk.updated_at = utcnow()
    return await record(session, risk, principal.subject, "risk.review", {"level": risk.level})
