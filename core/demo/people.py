"""Realistic, made-up Vietnamese applicants and sector data for the demo dossiers.

Every value comes from the caller's `random.Random`, so one seed gives the same people. The
sector data passes the bundled modules' pydantic models (checked again by the engine)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from eiso.core.demo import DATA

# Word lists and places: data, in data.json.
SURNAMES: list[str] = DATA["surnames"]
MIDDLE: dict[str, list[str]] = DATA["middle"]
GIVEN: dict[str, list[str]] = DATA["given"]
CHILD_GIVEN: dict[str, list[str]] = DATA["child_given"]
MOBILE_PREFIXES: list[str] = DATA["mobile_prefixes"]
# agency code → commune, province, the province's citizen id prefix, urban, streets
PLACES: dict[str, tuple[str, str, str, bool, list[str]]] = {
    code: tuple(place) for code, place in DATA["places"].items()
}
HOSPITALS: dict[str, list[str]] = DATA["hospitals"]
BUSINESS_LINES: list[str] = DATA["business_lines"]
SHOP_WORDS: list[str] = DATA["shop_words"]
COMPANIES: list[str] = DATA["companies"]


@dataclasses.dataclass(frozen=True)
class Person:
    full_name: str
    sex: str
    birth_date: dt.date
    citizen_id: str
    phone: str
    address: str


def citizen_id(rng: random.Random, province_prefix: str, sex: str, born: dt.date) -> str:
    """12 digits: province of birth (3), sex and century (1), year (2), then 6 random digits."""
    century = 0 if born.year < 2000 else 2
    sex_and_century = century + (sex == "female")
    return f"{province_prefix}{sex_and_century}{born.year % 100:02d}{rng.randrange(10**6):06d}"


def address(rng: random.Random, agency_code: str) -> str:
    commune, province, _, urban, streets = PLACES[agency_code]
    street = rng.choice(streets)
    number = f"Số {rng.randint(1, 350)} " if urban or street.startswith("phố") else ""
    return f"{number}{street}, {commune}, {province}"


def person(
    rng: random.Random,
    agency_code: str,
    *,
    sex: str | None = None,
    surname: str | None = None,
    age: tuple[int, int] = (22, 65),
    today: dt.date,
) -> Person:
    sex = sex or rng.choice(["male", "female"])
    born = today - dt.timedelta(days=rng.randint(age[0] * 365, age[1] * 365))
    prefix = (
        PLACES[agency_code][2] if rng.random() < 0.8 else rng.choice(["001", "030", "034", "031"])
    )
    name = f"{surname or rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"
    phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
    return Person(
        name, sex, born, citizen_id(rng, prefix, sex, born), phone, address(rng, agency_code)
    )


def applicant(who: Person) -> dict[str, Any]:
    """The applicant block of a dossier (personal data: never audited, never public)."""
    return {
        "full_name": who.full_name,
        "citizen_id": who.citizen_id,
        "phone": who.phone,
        "address": who.address,
    }


def organisation(rng: random.Random, agency_code: str, today: dt.date) -> dict[str, Any]:
    boss = person(rng, agency_code, today=today)
    return {
        "organisation": rng.choice(COMPANIES),
        "tax_code": f"57{rng.randrange(10**8):08d}",
        "representative": boss.full_name,
        "citizen_id": boss.citizen_id,
        "phone": boss.phone,
        "address": boss.address,
    }


def parcel(rng: random.Random, agency_code: str) -> dict[str, Any]:
    urban = PLACES[agency_code][3]
    purpose = (
        ("ODT" if urban else "ONT")
        if rng.random() < 0.75
        else rng.choice(["CLN", "BHK", "NTS", "TMD"])
    )
    return {
        "parcel_number": rng.randint(1, 900),
        "map_sheet": rng.randint(1, 80),
        "area_m2": round(rng.uniform(60, 480), 1),
        "purpose": purpose,
        "location": address(rng, agency_code),
    }


def building(rng: random.Random, agency_code: str) -> dict[str, Any]:
    parcel_area = round(rng.uniform(60, 220), 1)
    footprint = round(parcel_area * rng.uniform(0.6, 0.95), 1)
    storeys = rng.randint(1, 5)
    return {
        "address": address(rng, agency_code),
        "parcel_number": rng.randint(1, 900),
        "map_sheet": rng.randint(1, 80),
        "parcel_area_m2": parcel_area,
        "footprint_m2": footprint,
        "floor_area_m2": round(footprint * storeys * rng.uniform(0.85, 1.0), 1),
        "storeys": storeys,
        "height_m": round(storeys * rng.uniform(3.3, 3.8) + rng.uniform(0, 0.8), 1),
    }


def business(
    rng: random.Random, agency_code: str, owner: Person, taken: set[str]
) -> dict[str, Any]:
    while True:  # unique among the household businesses of the commune
        name = f"Hộ kinh doanh {rng.choice(SHOP_WORDS)} {owner.full_name.split()[-1]}"
        if name not in taken:
            taken.add(name)
            break
        owner = dataclasses.replace(
            owner, full_name=owner.full_name + " " + rng.choice(GIVEN[owner.sex])
        )
    return {
        "business_name": name,
        "business_lines": rng.sample(BUSINESS_LINES, rng.randint(1, 3)),
        "capital_vnd": rng.randrange(3, 200) * 10_000_000,
        "address": address(rng, agency_code),
        "owner_citizen_id": owner.citizen_id,
    }


def birth(rng: random.Random, agency_code: str, received: dt.date) -> tuple[dict[str, Any], Person]:
    """The birth data and the parent who files it (the applicant)."""
    father = person(rng, agency_code, sex="male", age=(22, 42), today=received)
    mother = person(rng, agency_code, sex="female", age=(20, 40), today=received)
    sex = rng.choice(["male", "female"])
    data = {
        "child_full_name": f"{father.full_name.split()[0]} {rng.choice(CHILD_GIVEN[sex])}",
        "date_of_birth": (received - dt.timedelta(days=rng.randint(3, 55))).isoformat(),
        "sex": sex,
        "place_of_birth": rng.choice(HOSPITALS[PLACES[agency_code][1]]),
        "mother_full_name": mother.full_name,
        "mother_citizen_id": mother.citizen_id,
    }
    if rng.random() < 0.93:  # a child of unknown father is registered with the mother only
        data |= {"father_full_name": father.full_name, "father_citizen_id": father.citizen_id}
        return data, rng.choice([father, mother])
    return data, mother
