"""Federated staff login: a province may send its staff to its own OIDC identity provider.

eiso is then the relying party (the routes: core/http/federation_routes.py). This module is
what the relying party knows: a province's IdP (`configure`, the client secret sealed), and
how the IdP's claims map to an eiso user of that province, created on first login
(`map_user`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.models import IdentityProvider, User
from eiso.core.auth.principal import Role
from eiso.core.auth.sealing import seal, unseal
from eiso.core.auth.tenancy import province_by_code
from eiso.core.errors import DomainError, NotFound
from eiso.core.resources import Resources
from eiso.infra.db import added, find_one
from eiso.tenants.models import Province
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import get_agency_by_code, get_province

DEFAULT_MAPPING = {
    "subject": "sub",
    "username": "preferred_username",
    "name": "name",
    "agency": "agency_code",
    "role": "eiso_role",
}


async def configure(
    session: AsyncSession,
    resources: Resources,
    *,
    province_code: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    claim_mapping: dict[str, str] | None = None,
    scope: str = "openid profile",
    default_role: str = Role.officer.value,
    metadata_url: str | None = None,
) -> IdentityProvider:
    """Set (or replace) a province's IdP. The client secret is stored sealed."""
    province = await province_by_code(session, province_code)
    assert province.id is not None  # read from the database
    if default_role not in Role.__members__ or default_role == Role.national_admin.value:
        raise DomainError(
            f"default_role: not allowed: {default_role!r}",
            f"default_role: không hợp lệ: {default_role!r}",
        )
    unknown = set(claim_mapping or {}) - set(DEFAULT_MAPPING)
    if unknown:
        raise DomainError(
            f"claim_mapping: unknown field(s) {sorted(unknown)}",
            f"claim_mapping: trường không hợp lệ {sorted(unknown)}",
        )
    row = await session.get(IdentityProvider, province.id) or IdentityProvider(
        province_id=province.id, issuer=issuer, client_id=client_id, client_secret_encrypted=""
    )
    row.issuer, row.client_id, row.scope = issuer.rstrip("/"), client_id, scope
    row.metadata_url = metadata_url
    row.client_secret_encrypted = seal(
        resources.settings.secret_key.get_secret_value(), client_secret
    )
    row.claim_mapping = {**DEFAULT_MAPPING, **(claim_mapping or {})}
    row.default_role = default_role
    return await added(session, row)


async def identity_provider(resources: Resources, code: str) -> tuple[Province, IdentityProvider]:
    """The province with this code and its IdP, or NotFound."""
    async with resources.session(TenantScope.nation()) as session:
        province = await get_province(session, code)
        idp = await session.get(IdentityProvider, province.id) if province else None
    if province is None or idp is None:
        raise NotFound(
            f"province {code!r} has no identity provider",
            f"tỉnh {code!r} chưa cấu hình nhà cung cấp định danh",
        )
    return province, idp


def client_secret(resources: Resources, idp: IdentityProvider) -> str:
    return unseal(resources.settings.secret_key.get_secret_value(), idp.client_secret_encrypted)


async def sign_in(
    resources: Resources, province: Province, idp: IdentityProvider, claims: dict[str, Any]
) -> User:
    """The eiso user of these claims (`map_user`, committed), detached from its session."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        user = await map_user(session, province, idp, claims)
        session.expunge(user)
    return user


async def map_user(
    session: AsyncSession, province: Province, idp: IdentityProvider, claims: dict[str, Any]
) -> User:
    """Find the eiso user for these IdP claims, or create it in this province."""
    mapping = {**DEFAULT_MAPPING, **idp.claim_mapping}
    subject = claims.get(mapping["subject"])
    if not subject:
        raise DomainError("the identity provider sent no subject", "thiếu định danh người dùng")
    existing = await find_one(session, User, idp_issuer=idp.issuer, idp_subject=str(subject))
    if existing is not None:
        if not existing.active:
            raise DomainError(
                "this account is disabled", "tài khoản đã bị vô hiệu hóa", code="FORBIDDEN"
            )
        return existing
    agency = None
    agency_code = claims.get(mapping["agency"])
    if agency_code:
        agency = await get_agency_by_code(session, str(agency_code))
        if agency is None or agency.province_id != province.id:
            raise DomainError(
                f"agency {agency_code!r} is not an agency of this province",
                f"cơ quan {agency_code!r} không thuộc tỉnh này",
                code="FORBIDDEN",
            )
    role = claims.get(mapping["role"]) or idp.default_role
    if isinstance(role, list):  # e.g. a `roles` claim: the first one eiso knows
        role = next((r for r in role if r in Role.__members__), idp.default_role)
    role = str(role)
    if role not in Role.__members__ or role == Role.national_admin.value:
        role = idp.default_role  # an IdP can never grant national rights
    if agency is None and role not in (Role.province_admin.value, Role.auditor.value):
        raise DomainError(
            "no agency claim for an agency role",
            "thiếu mã cơ quan cho vai trò này",
            code="FORBIDDEN",
        )
    name = str(claims.get(mapping["username"]) or subject)
    user = User(
        username=f"{province.code}.{name}"[:150],
        display_name=str(claims.get(mapping["name"]) or name),
        roles=[role],
        province_id=province.id,
        agency_id=agency.id if agency else None,
        idp_issuer=idp.issuer,
        idp_subject=str(subject),
    )
    return await added(session, user)
