"""The caller a resolver acts for."""

from __future__ import annotations

from eiso.core.auth.principal import Principal
from eiso.core.errors import DomainError


def acting_agency(principal: Principal) -> tuple[int, int] | None:
    """(province_id, agency_id) of the one agency the caller acts for: an officer's own, or the
    one agency an integration client's token is bound to by its tenant scope; None for a caller
    of no single agency."""
    tenant = principal.tenant
    if (
        principal.agency_id is None
        and tenant.kind == "agencies"
        and len(tenant.agency_ids) == 1 == len(tenant.province_ids)
    ):  # an integration client's token is bound to one agency
        return next(iter(tenant.province_ids)), next(iter(tenant.agency_ids))
    if principal.agency_id is None or principal.province_id is None:
        return None
    return principal.province_id, principal.agency_id


def agency_of(principal: Principal) -> tuple[int, int]:
    """(province_id, agency_id) of the one agency the caller acts for; BAD_INPUT (field
    `agency`) for a caller of no single agency."""
    agency = acting_agency(principal)
    if agency is None:
        raise DomainError(
            "this needs a caller of one agency", "cần người dùng thuộc một cơ quan", field="agency"
        )
    return agency
