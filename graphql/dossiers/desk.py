"""What a dossier's page at an officer's desk needs beyond the dossier's facts: the moves the
caller may make now (the engine's own checks, core/dossiers/engine.py `allowed_moves`, and the
caller's rule for each move's mutation, core/auth/rules.py), and the applicant and the sector
data (personal data: to the officers of the receiving agency only, each read audited)."""

from __future__ import annotations

import enum
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

from eiso.core.auth import rules
from eiso.core.auth.principal import Principal
from eiso.core.dossiers import engine
from eiso.core.dossiers.models import Dossier
from eiso.core.errors import DomainError
from eiso.graphql.dossiers.dataloaders import dossier_loaders
from eiso.graphql.shared.callers import acting_agency
from eiso.infra.db import find_one


@strawberry.enum(
    name="DossierMove",
    description="A move an officer makes on a dossier: the mutation of the same name "
    "(ACCEPT_DOSSIER is acceptDossier, COMPLETE_STEP completeStep).",
)
class DossierMove(enum.Enum):
    # value: the engine's name of the move (core/dossiers/engine.py, MOVE_NAMES; a test
    # compares the two, and each name with a Mutation field).
    ACCEPT_DOSSIER = "accept"
    REFUSE_DOSSIER = "refuse"
    ASSIGN_DOSSIER = "assign"
    COMPLETE_STEP = "complete_step"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    REQUEST_FEE = "request_fee"
    FEE_PAID = "fee_paid"
    WITHDRAW_DOSSIER = "withdraw"
    STOP_DOSSIER = "stop"
    RETURN_RESULT = "return_result"
    RECORD_APOLOGY = "record_apology"
    RECORD_EXTENSION = "record_extension"

    @property
    def mutation(self) -> str:
        return to_camel_case(self.name.lower())


_BY_ENGINE_NAME = {move.value: move for move in DossierMove}


def _passes(principal: Principal, operation: str) -> bool:
    try:
        rules.check_operation(principal, operation)
    except DomainError:
        return False
    return True


async def allowed_moves(info: strawberry.Info, row: Any) -> list[DossierMove]:
    """The moves the caller may make now: its rule allows the move's mutation, it acts for
    one agency, and the engine would take the move from that agency's scope."""
    principal = info.context.principal
    if principal is None or acting_agency(principal) is None:
        return []
    permitted = {m for m in DossierMove if _passes(principal, m.mutation)}
    if not permitted:
        return []
    async with info.context.resources.session(principal.tenant) as session:
        dossier = await find_one(session, Dossier, province_id=row.province_id, id=row.id)
        if dossier is None:
            return []
        names = await engine.allowed_moves(session, dossier)
    return [_BY_ENGINE_NAME[name] for name in names if _BY_ENGINE_NAME[name] in permitted]


# Personal data of a dossier (the applicant, the sector data): the rule's roles, of the
# receiving agency itself.
PERSONAL_DATA = "dossierPersonalData"


async def personal_data(info: strawberry.Info, row: Any) -> Dossier | None:
    """The dossier row with its applicant and sector data, when the caller may read them:
    an officer or leader of the receiving agency (not an agency holding a later step, not an
    integration client); the read is recorded in the audit trail once per dossier and
    request (`dossier.personal_data_read`, the code only; graphql/dossiers/dataloaders.py).
    None for anyone else."""
    principal = info.context.principal
    if principal is None or not _passes(principal, PERSONAL_DATA):
        return None
    if acting_agency(principal) != (row.province_id, row.agency_id):
        return None
    found: Dossier | None = await dossier_loaders(info).personal.load((row.province_id, row.id))
    return found
