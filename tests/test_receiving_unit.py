"""The receiving unit the slips name: the agency's own setting, else the public
administrative service centre of its commune, ward or special zone, or of its province; and
the special-zone kind, through GraphQL (`Agency.receivingUnitName`, `AgencyKind.SPECIAL_ZONE`)."""

from __future__ import annotations

import sqlite3

from eiso.tenants.models import Agency, AgencyKind, receiving_unit
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province
from tests.conftest import unique_code
from tests.test_tenants_api import admin_of, gql


def _agency(name: str, kind: AgencyKind, unit: str | None = None) -> Agency:
    return Agency(province_id=1, code="x", name=name, kind=kind, receiving_unit_name=unit)


def test_the_default_names_the_service_centre():
    province = "Tỉnh Quảng Ninh"
    assert (
        receiving_unit(
            _agency("Ủy ban nhân dân đặc khu Vân Đồn", AgencyKind.special_zone), province
        )
        == "Trung tâm Phục vụ hành chính công đặc khu Vân Đồn"
    )
    assert (
        receiving_unit(_agency("Ủy ban nhân dân phường Hạ Long", AgencyKind.ward), province)
        == "Trung tâm Phục vụ hành chính công phường Hạ Long"
    )
    assert (
        receiving_unit(_agency("Sở Xây dựng tỉnh Quảng Ninh", AgencyKind.department), province)
        == "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"
    )
    assert (
        receiving_unit(_agency("Công an xã Tiên Yên", AgencyKind.other), province)
        == "Bộ phận Một cửa - Công an xã Tiên Yên"
    )
    own = _agency("Sở Xây dựng", AgencyKind.department, "Bộ phận Một cửa Sở Xây dựng")
    assert receiving_unit(own, province) == "Bộ phận Một cửa Sở Xây dựng"


async def test_graphql_names_the_unit_and_the_special_zone_kind(client, callers, resources):
    async with resources.session(TenantScope.nation()) as session, session.begin():
        province = await ensure_province(session, unique_code("P"), "Tỉnh Quảng Ninh")
        zone = await ensure_agency(
            session,
            province,
            unique_code("A"),
            "Ủy ban nhân dân đặc khu Cô Tô",
            AgencyKind.special_zone,
        )
    body = await gql(
        client,
        "query($p: String) { agencies(provinceCode: $p, first: 5) "
        "{ edges { node { code kind receivingUnitName } } } }",
        {"p": province.code},
        admin_of(callers, province),
    )
    assert "errors" not in body, body
    [node] = [edge["node"] for edge in body["data"]["agencies"]["edges"]]
    assert node == {
        "code": zone.code,
        "kind": "SPECIAL_ZONE",
        "receivingUnitName": "Trung tâm Phục vụ hành chính công đặc khu Cô Tô",
    }


def test_the_cli_sets_and_clears_the_unit(tmp_path):
    from tests.test_cli import eiso

    env = {"EISO_DATABASE_URL": f"sqlite:///{tmp_path / 'eiso.db'}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=env).returncode == 0
    assert (
        eiso("provinces", "create", "--code", "22", "--name", "Tỉnh Quảng Ninh", env=env).returncode
        == 0
    )
    rows = tmp_path / "a.csv"
    rows.write_text("code,name,kind,parent_code\nS.22,Sở Xây dựng tỉnh Quảng Ninh,department,\n")
    assert eiso("agencies", "import", "--province", "22", str(rows), env=env).returncode == 0
    done = eiso("agencies", "receiving-unit", "S.22", "Bộ phận Một cửa Sở Xây dựng", env=env)
    assert done.returncode == 0 and "Bộ phận Một cửa Sở Xây dựng" in done.stderr
    with sqlite3.connect(tmp_path / "eiso.db") as db:
        query = "SELECT receiving_unit_name FROM agencies WHERE code = 'S.22'"
        assert db.execute(query).fetchone() == ("Bộ phận Một cửa Sở Xây dựng",)
    cleared = eiso("agencies", "receiving-unit", "S.22", "", env=env)
    assert cleared.returncode == 0 and "(default)" in cleared.stderr
    missing = eiso("agencies", "receiving-unit", "NOPE", "x", env=env)
    assert missing.returncode == 1 and "no agency with code 'NOPE'" in missing.stderr
