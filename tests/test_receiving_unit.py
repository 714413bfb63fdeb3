"""The receiving unit the slips name: the agency's own setting, else the public
administrative service centre of its commune, ward or special zone, or of its province; and
the special-zone kind, through GraphQL (`Agency.receivingUnitName`, `AgencyKind.SPECIAL_ZONE`)."""

from __future__ import annotations

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
