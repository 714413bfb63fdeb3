"""`eiso provinces`, `eiso agencies import` and `eiso modules`, run as a user runs them."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import eiso


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    path = tmp_path_factory.mktemp("tenancy-cli") / "eiso.db"
    values = {"EISO_DATABASE_URL": f"sqlite:///{path}", "EISO_LOG_JSON": "false"}
    assert eiso("db", "upgrade", env=values).returncode == 0
    assert (
        eiso(
            "provinces", "create", "--code", "22", "--name", "Tỉnh Quảng Ninh", env=values
        ).returncode
        == 0
    )
    return values


def test_provinces_create_is_idempotent_and_refuses_a_rename(env):
    assert (
        eiso("provinces", "create", "--code", "22", "--name", "Tỉnh Quảng Ninh", env=env).returncode
        == 0
    )
    result = eiso("provinces", "create", "--code", "22", "--name", "Tỉnh Khác", env=env)
    assert result.returncode == 1 and "already exists" in result.stderr
    assert eiso("provinces", "create", "--code", "22", env=env).returncode == 2


def test_import_then_reimport_changes_nothing(env, tmp_path):
    file = tmp_path / "agencies.csv"
    file.write_text(
        "code,name,kind,parent_code,admin_username,admin_email\n"
        "000.32.01.H49,Ủy ban nhân dân xã Tiên "
        "Yên,commune,000.00.00.H49,tienyen,tienyen@example.vn\n"
        "000.00.00.H49,Ủy ban nhân dân tỉnh Quảng Ninh,people_committee,,,\n",
        encoding="utf-8",
    )
    dry = eiso("agencies", "import", "--province", "22", str(file), "--dry-run", env=env)
    assert dry.returncode == 0 and "would create 2" in dry.stderr
    first = eiso("agencies", "import", "--province", "22", str(file), env=env)
    assert first.returncode == 0, first.stderr
    assert "created 2" in first.stderr and "tienyen" in first.stderr
    second = eiso("agencies", "import", "--province", "22", str(file), env=env)
    assert second.returncode == 0 and "created 0, updated 0, unchanged 2" in second.stderr


def test_import_lists_every_bad_line_and_exits_1(env, tmp_path):
    file = tmp_path / "bad.csv"
    file.write_bytes(
        "code,name,kind,parent_code\n"
        "B.1,Xã Một,commune,\n"
        "B.2,Xã Hai,town,\n"
        "B.1,Xã Ba,commune,\n"
        ",Xã Bốn,commune,\n".encode()
        + b"B.5,X\xff,ward,\n"
        + b"B.6,X\xc3\xa3 S\xc3\xa1u,commune,X\n"
    )
    result = eiso("agencies", "import", "--province", "22", str(file), env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[:-1] == [
        "eiso: line 3: bad kind 'town': one of department, service_centre, people_committee, "
        "commune, ward, special_zone, other",
        "eiso: line 4: duplicate code 'B.1' (first on line 2)",
        "eiso: line 5: missing field code",
        "eiso: line 6: not valid UTF-8 (bad encoding)",
        "eiso: line 7: unknown parent_code 'X'",
    ]
    assert "nothing was written" in lines[-1]
    again = eiso("agencies", "import", "--province", "22", str(file), "--dry-run", env=env)
    assert again.returncode == 1


def test_import_json_and_unknown_province(env, tmp_path):
    file = tmp_path / "agencies.json"
    file.write_text(
        '[{"code": "000.41.01.H49", "name": "Phường Hạ Long", "kind": "ward"}]', encoding="utf-8"
    )
    assert eiso("agencies", "import", "--province", "22", str(file), env=env).returncode == 0
    result = eiso("agencies", "import", "--province", "99", str(file), env=env)
    assert result.returncode == 1 and "--province '99'" in result.stderr
    result = eiso("agencies", "import", "--province", "22", str(tmp_path / "missing.csv"), env=env)
    assert result.returncode == 1


def test_modules_enable_disable_list(env):
    assert eiso("modules", "enable", "--province", "22", "vendor_demo", env=env).returncode == 0
    listed = eiso("modules", "list", "--province", "22", env=env)
    assert listed.returncode == 0 and "vendor_demo" in listed.stdout and "yes" in listed.stdout
    assert eiso("modules", "disable", "--province", "22", "vendor_demo", env=env).returncode == 0
    listed = eiso("modules", "list", "--province", "22", "--json", env=env)
    row = next(row for row in json.loads(listed.stdout) if row["name"] == "vendor_demo")
    assert (row["state"], row["version"], row["enabled"]) == ("loaded", "0.3.0", False)
    assert row["changed_by"].startswith("cli:") and row["changed_at"]
    only = eiso(
        "modules", "list", "--province", "22", "--json", env={**env, "EISO_PLUGINS": "vendor_demo"}
    )
    row = next(row for row in json.loads(only.stdout) if row["name"] == "birth_registration")
    assert (row["state"], row["reason"], row["enabled"]) == (
        "skipped",
        "not in EISO_PLUGINS",
        False,
    )
    bad = eiso("modules", "enable", "--province", "22", "Bad Name", env=env)
    assert bad.returncode == 1 and "MODULE 'Bad Name'" in bad.stderr
    assert eiso("modules", "enable", "--province", "99", "vendor_demo", env=env).returncode == 1
    unknown = eiso("modules", "enable", "--province", "22", "not_installed", env=env)
    assert unknown.returncode == 1 and "not installed" in unknown.stderr


def test_merge_commands(env, tmp_path):
    assert (
        eiso("provinces", "create", "--code", "23", "--name", "Tỉnh Hà Giang", env=env).returncode
        == 0
    )
    file = tmp_path / "hg.csv"
    file.write_text(
        "code,name,kind,parent_code\nHG.1,Xã Một,commune,\nHG.2,Xã Hai,commune,\n", encoding="utf-8"
    )
    assert eiso("agencies", "import", "--province", "23", str(file), env=env).returncode == 0
    merged = eiso(
        "agencies",
        "merge",
        "--province",
        "23",
        "--code",
        "HG.12",
        "--name",
        "Xã Một Hai",
        "HG.1",
        "HG.2",
        env=env,
    )
    assert merged.returncode == 0, merged.stderr
    again = eiso(
        "agencies",
        "merge",
        "--province",
        "23",
        "--code",
        "HG.13",
        "--name",
        "X",
        "HG.1",
        "HG.2",
        env=env,
    )
    assert again.returncode == 1 and "already merged" in again.stderr
    assert eiso("provinces", "merge", "--into", "22", "--from", "23", env=env).returncode == 0
    result = eiso("provinces", "merge", "--into", "22", "--from", "23", env=env)
    assert result.returncode == 1 and "cannot merge" in result.stderr
