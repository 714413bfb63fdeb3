"""The tenancy GraphQL API: provinces, agencies with Vietnamese search and pagination, modules,
onboarding and module activation by province administrators."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from eiso.core.auth.principal import Principal, Role
from eiso.tenants.models import Agency, AgencyKind
from eiso.tenants.modules import ModuleActivationEvent
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code


async def gql(
    client, query: str, variables: dict | None = None, headers: dict | None = None
) -> dict:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    return response.json()


def codes(body: dict) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture
async def world(resources):
    """One province with a people's committee and two communes."""
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(
            session, unique_code("P"), f"Tỉnh Quảng Ninh {unique_code('')}"
        )
        root = await ensure_agency(
            session,
            province,
            unique_code("A"),
            "Ủy ban nhân dân tỉnh Quảng Ninh",
            AgencyKind.people_committee,
        )
        tien_yen = await ensure_agency(
            session, province, unique_code("A"), "Xã Tiên Yên", AgencyKind.commune, root
        )
        dam_ha = await ensure_agency(
            session, province, unique_code("A"), "Xã Đầm Hà", AgencyKind.commune, root
        )
    return province, root, tien_yen, dam_ha


def admin_of(callers, province) -> dict:
    return callers.issue(
        Principal(
            "admin-" + province.code,
            TenantScope.province(province.id),
            frozenset({Role.province_admin}),
            province_id=province.id,
        )
    )


AGENCIES = """query($p: String, $s: String, $first: Int!, $after: String) {
  agencies(provinceCode: $p, search: $s, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id code name kind parent { code } province { code name } } }
  }
}"""


async def test_vietnamese_search_ignores_diacritics_and_case(client, callers, world):
    province, _, tien_yen, _ = world
    headers = admin_of(callers, province)
    body = await gql(
        client, AGENCIES, {"p": province.code, "s": "xa tien yen", "first": 10}, headers
    )
    nodes = [edge["node"] for edge in body["data"]["agencies"]["edges"]]
    assert [node["code"] for node in nodes] == [tien_yen.code]
    assert nodes[0]["kind"] == "COMMUNE"
    assert nodes[0]["parent"]["code"] and nodes[0]["province"]["code"] == province.code
    body = await gql(
        client,
        "query($s: String) { provinces(search: $s, first: 100) { edges { node { code } } } }",
        {"s": "QUANG ninh"},
        headers,
    )
    assert province.code in [edge["node"]["code"] for edge in body["data"]["provinces"]["edges"]]


async def test_cursor_pagination_walks_every_agency_once(client, callers, world):
    province, *agencies = world
    headers, seen, after = admin_of(callers, province), [], None
    while True:
        body = await gql(
            client, AGENCIES, {"p": province.code, "first": 2, "after": after}, headers
        )
        page = body["data"]["agencies"]
        assert page["totalCount"] == 3
        seen += [edge["node"]["code"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(agency.code for agency in agencies)
    body = await gql(client, AGENCIES, {"first": 2, "after": "not-a-cursor"}, headers)
    assert codes(body) == ["BAD_INPUT"] and body["errors"][0]["extensions"]["field"] == "after"
    body = await gql(client, AGENCIES, {"first": 101}, headers)  # over MAX_PAGE, in budget
    assert codes(body) == ["BAD_INPUT"] and body["errors"][0]["extensions"]["field"] == "first"
    assert body["errors"][0]["extensions"]["message_vi"] == "`first` phải từ 0 đến 100"
    # A variable `first` is costed by its value, as a literal one (issue 16).
    body = await gql(client, AGENCIES, {"first": 1000}, headers)
    assert codes(body) == ["QUERY_TOO_COSTLY"]


async def test_agency_by_global_id(client, callers, world):
    province, root, *_ = world
    headers = admin_of(callers, province)
    body = await gql(client, AGENCIES, {"p": province.code, "s": root.name, "first": 1}, headers)
    global_id = body["data"]["agencies"]["edges"][0]["node"]["id"]
    body = await gql(
        client, "query($id: ID!) { agency(id: $id) { code } }", {"id": global_id}, headers
    )
    assert body["data"]["agency"]["code"] == root.code
    body = await gql(
        client, "query($id: ID!) { agency(id: $id) { code } }", {"id": "garbage"}, headers
    )
    assert body["data"]["agency"] is None and codes(body) == ["NOT_FOUND"]


async def test_anonymous_callers_are_unauthenticated(client, world):
    body = await gql(client, AGENCIES, {"first": 1})
    assert codes(body) == ["UNAUTHENTICATED"]
    body = await gql(client, 'mutation { enableModule(module: "land_use") { name } }')
    assert codes(body) == ["UNAUTHENTICATED"]


@pytest.fixture
async def module_client(resources, callers):
    """An app with one installed module loaded (the vendor plugin under tests/vendor_plugin)."""
    import httpx

    from eiso.core.app import create_app
    from eiso.core.plugins.registry import PluginRegistry

    app = create_app(
        resources.settings,
        resources,
        authenticator=callers.authenticate,
        plugins=PluginRegistry.load(["vendor_demo"]),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        yield http


async def test_module_activation_by_the_province_admin(module_client, callers, resources, world):
    client = module_client
    province = world[0]
    headers = admin_of(callers, province)
    body = await gql(
        client,
        'mutation { enableModule(module: "vendor_demo") { name enabledForMyProvince changedBy } }',
        headers=headers,
    )
    assert body["data"]["enableModule"] == {
        "name": "vendor_demo",
        "enabledForMyProvince": True,
        "changedBy": "admin-" + province.code,
    }
    body = await gql(client, "{ modules { name enabledForMyProvince } }", headers=headers)
    assert {"name": "vendor_demo", "enabledForMyProvince": True} in body["data"]["modules"]
    body = await gql(
        client,
        'mutation { disableModule(module: "vendor_demo") { enabledForMyProvince } }',
        headers=headers,
    )
    assert body["data"]["disableModule"]["enabledForMyProvince"] is False
    async with resources.session(TenantScope.nation()) as session:
        events = (
            (
                await session.execute(
                    select(ModuleActivationEvent)
                    .where(ModuleActivationEvent.province_id == province.id)
                    .order_by(ModuleActivationEvent.id)
                )
            )
            .scalars()
            .all()
        )
    assert [(e.enabled, e.changed_by) for e in events] == [
        (True, "admin-" + province.code),
        (False, "admin-" + province.code),
    ]
    body = await gql(
        client, 'mutation { enableModule(module: "Bad Name!") { name } }', headers=headers
    )
    assert codes(body) == ["BAD_INPUT"]
    officer = callers.issue(
        Principal(
            "officer",
            TenantScope.province(province.id),
            frozenset({Role.officer}),
            province_id=province.id,
        )
    )
    body = await gql(
        client, 'mutation { enableModule(module: "vendor_demo") { name } }', headers=officer
    )
    assert codes(body) == ["FORBIDDEN"]


ONBOARD = """mutation($p: String!, $f: ImportFormat!, $c: String!, $dry: Boolean!) {
  onboardAgencies(provinceCode: $p, format: $f, content: $c, dryRun: $dry) {
    ok dryRun total created updated unchanged errors { line reason reasonVi }
    pendingAccounts { agencyCode username }
  }
}"""


async def test_onboard_agencies_mutation(client, callers, resources, world):
    province = world[0]
    headers = admin_of(callers, province)
    good, other = unique_code("A"), unique_code("A")
    csv = (
        f"code,name,kind,parent_code,admin_username\n{good},Phường Bãi "
        f"Cháy,ward,{world[1].code},baichay\n"
    )
    body = await gql(
        client, ONBOARD, {"p": province.code, "f": "CSV", "c": csv, "dry": True}, headers
    )
    assert (
        body["data"]["onboardAgencies"]["created"] == [good]
        and body["data"]["onboardAgencies"]["dryRun"]
    )
    body = await gql(
        client, ONBOARD, {"p": province.code, "f": "CSV", "c": csv, "dry": False}, headers
    )
    report = body["data"]["onboardAgencies"]
    assert report["ok"] and report["created"] == [good]
    assert report["pendingAccounts"] == [{"agencyCode": good, "username": "baichay"}]
    bad = f'[{{"code": "{other}", "name": "Xã X", "kind": "town"}}]'
    body = await gql(
        client, ONBOARD, {"p": province.code, "f": "JSON", "c": bad, "dry": False}, headers
    )
    report = body["data"]["onboardAgencies"]
    assert (
        not report["ok"]
        and report["errors"][0]["line"] == 1
        and "bad kind" in report["errors"][0]["reason"]
    )
    async with resources.session(TenantScope.nation()) as session:
        assert (await session.execute(select(Agency).where(Agency.code == other))).first() is None
    body = await gql(client, ONBOARD, {"p": "NO-SUCH", "f": "CSV", "c": csv, "dry": True}, headers)
    assert codes(body) == ["NOT_FOUND"]


async def test_nested_parents_and_provinces_load_in_batches(client, callers, resources, world):
    """Dataloaders: a page of agencies with parent and province costs the same few statements
    whatever its size (no N+1)."""
    from sqlalchemy import event

    province = world[0]
    headers = admin_of(callers, province)

    async def statements_for(first: int, query: str = AGENCIES) -> int:
        seen = []

        def count(*_args):
            seen.append(1)

        event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
        try:
            body = await gql(
                client, query, {"p": province.code, "s": "xa", "first": first}, headers
            )
        finally:
            event.remove(resources.engine.sync_engine, "before_cursor_execute", count)
        assert len(body["data"]["agencies"]["edges"]) == first
        return len(seen)

    await statements_for(1)  # warm up: the first request of a province loads its module set
    one, two = await statements_for(1), await statements_for(2)  # the communes, each with a parent
    # count + page, parents, provinces, in the list's one session (+ its scope on PostgreSQL)
    assert one == two <= 5
    # the same relations asked through fragments are loaded up front alike
    assert await statements_for(2, AGENCIES_IN_FRAGMENTS) == two


AGENCIES_IN_FRAGMENTS = """query($p: String, $s: String, $first: Int!, $after: String) {
  agencies(provinceCode: $p, search: $s, first: $first, after: $after) { ...Page } }
fragment Page on AgencyConnection {
  totalCount edges { node { ... on Agency { code parent { code } } ...Where } } }
fragment Where on Agency { province { code } }"""


MODULES_OF = """query($p: ID!) {
  modules(provinceId: $p) {
    name version title enabledForMyProvince procedures { code name }
    history { enabled changedBy }
  }
}"""


def province_id(province) -> str:
    from eiso.core.global_ids import encode_id

    return encode_id("Province", province.id, province.id)


async def test_modules_of_a_province_with_version_procedures_and_history(
    module_client, callers, resources, world
):
    """The province console's modules: `modules(provinceId:)` for the province's administrator
    and the national one; another province's administrator gets FORBIDDEN."""
    province = world[0]
    headers = admin_of(callers, province)
    for switch in ("enableModule", "disableModule", "enableModule"):
        await gql(
            module_client,
            f'mutation {{ {switch}(module: "vendor_demo") {{ name }} }}',
            headers=headers,
        )
    body = await gql(module_client, MODULES_OF, {"p": province_id(province)}, headers)
    demo = next(m for m in body["data"]["modules"] if m["name"] == "vendor_demo")
    assert demo["enabledForMyProvince"] is True and demo["version"] and demo["title"]
    assert demo["procedures"] and all(p["code"] and p["name"] for p in demo["procedures"])
    assert [h["enabled"] for h in demo["history"]] == [True, False, True]  # newest first
    assert {h["changedBy"] for h in demo["history"]} == {"admin-" + province.code}
    national = callers.issue(
        Principal("nation", TenantScope.nation(), frozenset({Role.national_admin}))
    )
    body = await gql(module_client, MODULES_OF, {"p": province_id(province)}, national)
    assert next(m for m in body["data"]["modules"] if m["name"] == "vendor_demo")["history"]
    async with resources.session(TenantScope.nation()) as session, session.begin():
        other = await ensure_province(session, unique_code("P"), "Tỉnh Cà Mau Thử")
    body = await gql(module_client, MODULES_OF, {"p": province_id(other)}, headers)
    assert codes(body) == ["FORBIDDEN"] and not body.get("data")
    body = await gql(module_client, MODULES_OF, {"p": "not-an-id"}, headers)
    assert codes(body) == ["NOT_FOUND"]


async def test_agencies_count_their_adopted_procedures_and_modules(
    module_client, callers, resources, world
):
    from eiso.core.dossiers.models import ProcedureAdoption
    from eiso.core.plugins.registry import PluginRegistry

    province, root, tien_yen, _ = world
    code = PluginRegistry.load(["vendor_demo"]).procedures()[0].code
    # The adoption row alone (syncing the catalogue here would retire other tests' procedures).
    scope = TenantScope.agencies([tien_yen.id], [province.id])
    async with resources.session(scope) as session, session.begin():
        session.add(
            ProcedureAdoption(
                province_id=province.id,
                agency_id=tien_yen.id,
                procedure_code=code,
                time_limit_amount=5,
            )
        )
    body = await gql(
        module_client,
        """query($p: String) { agencies(provinceCode: $p, first: 10) {
          edges { node { code adoptedProcedures modules } } } }""",
        {"p": province.code},
        admin_of(callers, province),
    )
    found = {e["node"]["code"]: e["node"] for e in body["data"]["agencies"]["edges"]}
    assert found[tien_yen.code]["adoptedProcedures"] == 1
    assert found[tien_yen.code]["modules"] == ["vendor_demo"]
    assert found[root.code]["adoptedProcedures"] == 0 and found[root.code]["modules"] == []
