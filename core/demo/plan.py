"""What the demo dossiers are: who files which procedure where, and what becomes of each one.

The plan depends only on the seed (and the moment it is drawn up, for the dates), never on the
database, so a second `eiso demo` draws the same plan and finds every dossier already there."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from eiso.core.demo import people

SEED = 2026
INTERLINKED = "LT-KS-TT-BHYT"
FREE_OF_CHARGE = {"1.001193", INTERLINKED}  # civil status: no fee to request
ORGANISATIONS = {"1.012753", "CP-CONG-TRINH"}  # procedures filed by organisations

# How many dossiers each agency received over the demo months.
VOLUME = {
    "000.31.01.H49": 60,
    "000.31.02.H49": 45,
    "000.32.01.H49": 40,
    "000.32.02.H49": 35,
    "000.00.22.H49": 20,
    "000.00.23.H49": 20,
    "000.41.01.H31": 45,
    "000.42.01.H31": 35,
}
# How often each procedure is filed, relative to the others an agency offers.
POPULARITY = {
    "1.001193": 30,
    INTERLINKED: 30,
    "1.001612": 20,
    "2.000720": 8,
    "1.013978": 12,
    "LUR-BIEN-DONG": 10,
    "1.012753": 10,
    "1.013225": 12,
    "CP-CONG-TRINH": 10,
}

# What becomes of a dossier (the status it ends in), and how often.
KINDS = {
    "returned": 34,
    "returned_late": 6,
    "returned_supplement": 8,
    "returned_fee": 4,
    "processed": 6,
    "in_progress": 10,
    "in_progress_late": 2,
    "received": 6,
    "new": 4,
    "not_received": 4,
    "supplement_requested": 5,
    "fee_requested": 3,
    "withdrawn": 4,
    "stopped": 3,
}
OPEN = {
    "processed",
    "in_progress",
    "in_progress_late",
    "received",
    "new",
    "supplement_requested",
    "fee_requested",
}
# The interlinked procedure moves to the commune police after its first step: another agency.
# Demo dossiers of it stop before that hand-over.
INTERLINKED_KINDS = ("received", "new", "in_progress")


@dataclasses.dataclass(frozen=True)
class Planned:
    n: int
    agency_code: str
    procedure_code: str
    kind: str
    online: bool
    home: str  # the commune (agency code in people.PLACES) the applicant lives in

    @property
    def key(self) -> str:
        return f"demo-{self.n}"

    def rng(self) -> random.Random:
        # Each dossier has its own stream: leaving one out changes no other.
        return random.Random(f"{SEED}-{self.n}")


def suits(kind: str, procedure_code: str) -> bool:
    if procedure_code == INTERLINKED:
        return kind in INTERLINKED_KINDS
    return not (procedure_code in FREE_OF_CHARGE and kind in ("returned_fee", "fee_requested"))


def draw(adoptions: dict[str, list[str]], provinces: dict[str, list[str]]) -> list[Planned]:
    """`adoptions`: agency code → procedure codes it adopted (those with dossiers);
    `provinces`: province code → its agency codes. Every kind comes first once per province,
    so every status is present however small the province."""
    rng, plan, n = random.Random(SEED), [], 0
    kinds, weights = list(KINDS), list(KINDS.values())
    for province in sorted(provinces):
        agencies = [a for a in provinces[province] if adoptions.get(a) and VOLUME.get(a)]
        total = sum(VOLUME[a] for a in agencies)
        homes = [a for a in agencies if a in people.PLACES]
        for i in range(total):
            kind = kinds[i] if i < len(kinds) else rng.choices(kinds, weights)[0]
            # The agency first (by its volume), then one of its procedures (by popularity).
            able = [a for a in agencies if any(suits(kind, p) for p in adoptions[a])]
            agency = rng.choices(able, [VOLUME[a] for a in able])[0]
            offered = [p for p in adoptions[agency] if suits(kind, p)]
            procedure = rng.choices(offered, [POPULARITY.get(p, 3) for p in offered])[0]
            online = kind in ("new", "not_received") or rng.random() < 0.3
            n += 1
            home = agency if agency in people.PLACES else rng.choice(homes)
            plan.append(Planned(n, agency, procedure, kind, online, home))
    return plan


def sector_data(
    item: Planned, module: str, rng: random.Random, received: dt.date, taken_names: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(applicant, sector data) of one dossier, valid for its module's data model."""
    who = people.person(rng, item.home, today=received)
    applicant = (
        people.organisation(rng, item.home, received)
        if item.procedure_code in ORGANISATIONS
        else people.applicant(who)
    )
    if module == "land_use_rights":
        return applicant, people.parcel(rng, item.home)
    if module == "construction_permits":
        return applicant, people.building(rng, item.home)
    if module == "business_registration":
        return applicant, people.business(rng, item.home, who, taken_names)
    data, parent = people.birth(rng, item.home, received)
    return people.applicant(parent), data
