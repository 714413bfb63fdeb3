"""`eiso agencies list`: the agency codes a receipt, a script or a module's test names, by
province, with their Vietnamese names intact, as a table or JSON."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import eiso

CSV = """code,name,kind,parent_code
QN-UBND,Ủy ban nhân dân tỉnh Quảng Ninh,people_committee,
QN-HALONG,UBND phường Hồng Gai,ward,QN-UBND
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agencies")
    env = {"EISO_DATABASE_URL": f"sqlite:///{folder / 'eiso.db'}", "EISO_LOG_JSON": "false"}
    (folder / "qn.csv").write_text(CSV, encoding="utf-8")
    (folder / "hy.csv").write_text(
        "code,name,kind,parent_code\nHY-KHOAICHAU,UBND xã Khoái Châu,commune,\n", encoding="utf-8"
    )
    for args in (
        ("db", "upgrade"),
        ("provinces", "create", "--code", "22", "--name", "Tỉnh Quảng Ninh"),
        ("provinces", "create", "--code", "33", "--name", "Tỉnh Hưng Yên"),
        ("agencies", "import", str(folder / "qn.csv"), "--province", "22"),
        ("agencies", "import", str(folder / "hy.csv"), "--province", "33"),
    ):
        done = eiso(*args, env=env)
        assert done.returncode == 0, done.stderr
    return env


def test_json_lists_one_province_with_diacritics_and_parents(env):
    done = eiso("agencies", "list", "--province", "22", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "province": "22",
            "code": "QN-HALONG",
            "name": "UBND phường Hồng Gai",
            "kind": "ward",
            "parent": "QN-UBND",
            "status": "active",
        },
        {
            "province": "22",
            "code": "QN-UBND",
            "name": "Ủy ban nhân dân tỉnh Quảng Ninh",
            "kind": "people_committee",
            "parent": None,
            "status": "active",
        },
    ]


def test_the_table_lists_every_province_by_default(env):
    done = eiso("agencies", "list", env=env | {"COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    for text in ("province", "QN-HALONG", "QN-UBND", "HY-KHOAICHAU", "UBND xã Khoái Châu"):
        assert text in done.stdout


def test_an_unknown_province_is_one_line_and_exit_1(env):
    done = eiso("agencies", "list", "--province", "99", env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == "eiso: --province: no province with code '99'"
