"""Legal bases past their `valid_until` (issue 17): what rests on them is flagged for review at
adoption, at catalogue sync and by the daily `eiso procedures review-sweep`, once per version;
a basis in force flags nothing; each province sees only its own flags."""

from __future__ import annotations

import asyncio
import datetime as dt

from eiso.core.auth.principal import Role
from eiso.core.dossiers import catalogue
from eiso.core.qms import legal
from eiso.core.sdk import LegalBasis
from eiso.infra.clock import utcnow
from eiso.tenants.scope import TenantScope
from tests.conftest import unique_code
from tests.test_qms_loop import adopt_in, gql, legal_registry, make_agency, person, run_eiso

TODAY = utcnow().date()


async def _sync(resources, bases: dict[str, LegalBasis]) -> None:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        await catalogue.sync_catalogue(session, legal_registry(bases))


async def _flags(client, headers, kind: str = "PROCEDURE") -> list[tuple[str, str, int]]:
    """The caller's open flags on procedures (or on documents, `kind="DOCUMENT"`: the ISO
    process document generated for each adopted procedure rests on the same bases)."""
    body = await gql(
        client,
        headers,
        "{ reviewFlags(first: 50) { edges { node { kind subject cause legalVersion } } } }",
    )
    return sorted(
        (e["node"]["subject"], e["node"]["cause"], e["node"]["legalVersion"])
        for e in body["data"]["reviewFlags"]["edges"]
        if e["node"]["kind"] == kind
    )


async def _sweep(resources, today: dt.date | None = None) -> dict[str, int]:
    async with resources.session(TenantScope.nation()) as session, session.begin():
        return await legal.sweep_expired(session, today=today)


async def test_expired_basis_is_flagged_at_adoption_sync_and_sweep(
    resources, client, callers, database, app, monkeypatch
):
    old_code, live_code = unique_code("9.E"), unique_code("9.L")
    old_ref, live_ref = unique_code("LX") + "/2014/QH13", unique_code("LY") + "/2025/NĐ-CP"
    bases = {
        old_code: LegalBasis(
            reference=old_ref, title="Luật cũ", valid_until=TODAY - dt.timedelta(days=30)
        ),
        live_code: LegalBasis(
            reference=live_ref, title="Nghị định", valid_until=TODAY + dt.timedelta(days=365)
        ),
    }
    first, other = await make_agency(resources), await make_agency(resources)
    assert first.province_id != other.province_id
    await _sync(resources, bases)
    keeper = callers.issue(person(first, Role.leader, Role.iso_secretary))
    outsider = callers.issue(person(other, Role.leader, Role.iso_secretary))
    monkeypatch.setattr(app.state, "plugins", legal_registry(bases))  # the module the app loaded
    for code, expired in ((old_code, True), (live_code, False)):
        body = await gql(
            client,
            keeper,
            "query($c: String!) { procedure(code: $c) { legalBasisExpired } }",
            {"c": code},
        )
        assert body["data"]["procedure"] == {"legalBasisExpired": expired}

    # Adopting a procedure on an expired basis flags it at once; the one in force is not.
    await adopt_in(resources, first, old_code, live_code)
    assert await _flags(client, keeper) == [(old_code, "EXPIRED", 1)]
    assert await _flags(client, outsider) == []  # another province sees none of it
    await adopt_in(resources, other, old_code)
    assert await _flags(client, outsider) == [(old_code, "EXPIRED", 1)]
    assert await _flags(client, keeper) == [(old_code, "EXPIRED", 1)]

    # Neither a sync nor the command raises it again, even once reviewed.
    await _sync(resources, bases)
    cleared = await gql(
        client,
        keeper,
        'mutation($c: String!) { reviewProcedure(procedureCode: $c, note: "Đã rà soát") '
        "{ cause } }",
        {"c": old_code},
    )
    assert cleared["data"]["reviewProcedure"] == [{"cause": "EXPIRED"}]
    result = await asyncio.to_thread(run_eiso, database, "procedures", "review-sweep")
    assert result.returncode == 0, result.stderr
    assert '"expired"' in result.stdout
    assert await _flags(client, keeper) == []

    # The sweep flags a basis whose date has passed since (here: run as of next year).
    swept = await _sweep(resources, TODAY + dt.timedelta(days=366))
    assert swept["flagged"] >= 1  # the sweep is national: other tests' bases count too
    assert await _flags(client, keeper) == [(live_code, "EXPIRED", 1)]
    assert await _flags(client, outsider) == [(old_code, "EXPIRED", 1)]

    # A module update that ends the basis: the new version is flagged as changed and expired.
    bases[live_code] = LegalBasis(
        reference=live_ref, title="Nghị định", valid_until=TODAY - dt.timedelta(days=1)
    )
    await _sync(resources, bases)
    assert await _flags(client, keeper) == [
        (live_code, "CHANGED", 2),
        (live_code, "EXPIRED", 1),
        (live_code, "EXPIRED", 2),
    ]
