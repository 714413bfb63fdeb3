"""What the OIDC userinfo endpoint answers for the claims of a verified access token."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from eiso.core.auth.models import User
from eiso.core.resources import Resources
from eiso.tenants.models import Agency
from eiso.tenants.scope import TenantScope


async def userinfo(resources: Resources, claims: dict[str, Any]) -> dict[str, Any]:
    info = {"sub": claims["sub"], "roles": claims.get("roles", []), "tenant": claims.get("tenant")}
    if claims.get("preferred_username"):
        try:
            async with resources.session(TenantScope.nation()) as session:
                user = await session.get(User, int(claims["sub"]))
        except (ValueError, SQLAlchemyError):
            user = None
        if user is not None:
            info.update(preferred_username=user.username, name=user.display_name)
            if user.agency_id is not None:
                async with resources.session(TenantScope.nation()) as session:
                    agency = await session.get(Agency, (user.province_id, user.agency_id))
                info["agency_code"] = agency.code if agency else None
    return info
