"""The layout guard: `import graphql` is always graphql-core, however eiso is started, and the
wheel holds only `eiso/...`."""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib.metadata import packages_distributions

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROOMS = {
    "core": "eiso.core",
    "tenants": "eiso.tenants",
    "graphql": "eiso.graphql",
    "infra": "eiso.infra",
    "plugins": "eiso.plugins",
    "web": "eiso.web",
}
BIN = pathlib.Path(sys.executable).parent
CHECK_GRAPHQL = (
    "import strawberry, graphql, eiso.graphql.schema; "
    "assert 'site-packages' in graphql.__file__, graphql.__file__; print(graphql.__file__)"
)


def _run(*args: str, cwd=ROOT, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_no_init_at_root_or_directly_in_graphql():
    assert not (ROOT / "__init__.py").exists()
    assert not (ROOT / "graphql" / "__init__.py").exists()
    assert not (ROOT / "core" / "http" / "__init__.py").exists()


def test_import_http_with_core_first_is_the_stdlib():
    """`core/http/` (eiso.core.http) has no __init__.py: the stdlib's `http` package wins over it
    even when `core/` comes first on sys.path (a script or uvicorn started in `core/`)."""
    check = "import sys; sys.path.insert(0, 'core'); import http.cookies; assert http.__file__"
    result = _run(sys.executable, "-c", check)
    assert result.returncode == 0, result.stderr


def test_import_graphql_from_the_root_is_graphql_core():
    """`python -c` and `python -m` put the working directory first on sys.path."""
    result = _run(sys.executable, "-c", "import sys; sys.path.insert(0, ''); " + CHECK_GRAPHQL)
    assert result.returncode == 0, result.stderr


def test_python_m_pytest_from_the_root():
    result = _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:randomly",
        "tests/test_settings.py::test_async_driver_is_picked",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_eiso_command_from_the_root():
    result = _run(str(BIN / "eiso"), "graphql", "schema")
    assert result.returncode == 0, result.stderr
    assert "type Query" in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_uvicorn_command_line_from_the_root(tmp_path):
    port = _free_port()
    env = {**os.environ, "EISO_DATABASE_URL": f"sqlite:///{tmp_path}/u.db", "EISO_ENV": "test"}
    server = subprocess.Popen(
        [
            str(BIN / "uvicorn"),
            "--factory",
            "eiso.core.app:asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90  # under the suite's load the import alone took 18 s
        while time.monotonic() < deadline:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": "{ version }"}
                )
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("uvicorn did not answer within 90 s")
        assert response.status_code == 200, response.text
        assert "version" in response.json()["data"]
    finally:
        server.terminate()
        server.wait(10)


def test_editable_install_maps_each_room():
    import eiso.core
    import eiso.graphql.schema

    origin = pathlib.Path(eiso.core.__file__).resolve()
    if ROOT not in origin.parents:
        pytest.skip("eiso is installed from a wheel here, not editable")
    assert pathlib.Path(eiso.graphql.schema.__file__).resolve() == ROOT / "graphql" / "schema.py"


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def _package_folders() -> set[str]:
    found = set()
    for folder, package in ROOMS.items():
        for path in (ROOT / folder).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            relative = path.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *relative.parts]))
    return found


def test_every_folder_with_code_is_a_declared_package():
    """A subpackage missing from the list would silently drop out of the wheel."""
    assert _package_folders() == _declared_packages()


def test_no_module_takes_a_dependency_or_stdlib_name():
    taken = set(sys.stdlib_module_names) | set(packages_distributions())
    taken -= {"eiso", "tests"}
    offenders = []
    for folder in [*ROOMS, "tests"]:
        for path in (ROOT / folder).rglob("*"):
            # tests/vendor_plugin and tests/vendor_walkthrough are installed distributions of
            # their own: their packages are dependencies; tests/clients/node_modules holds the
            # Node clients' packages.
            skipped = {"__pycache__", "vendor_plugin", "vendor_walkthrough", "node_modules"}
            if skipped & set(path.parts):
                continue
            name = path.stem if path.suffix == ".py" else path.name if path.is_dir() else None
            if name and name != "__init__" and name in taken:
                offenders.append(str(path.relative_to(ROOT)))
    # The rooms themselves live inside `eiso.`; only `graphql/` and the HTTP edge `core/http/`
    # share a name, on purpose, and have no __init__.py so they never shadow graphql-core or
    # the stdlib's `http`.
    assert set(offenders) <= {"graphql", "core/http"}, offenders


@pytest.mark.slow
def test_wheel_holds_only_eiso(tmp_path):
    result = _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        str(tmp_path),
        str(ROOT),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wheel = next(tmp_path.glob("eiso-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"eiso"}
    for package in _declared_packages():
        folder = package.replace(".", "/")
        assert any(name.startswith(folder + "/") for name in names), package
    assert "eiso/graphql/schema.graphql" in names
    assert "eiso/graphql/server/graphiql/vendor/graphiql.min.js" in names  # GraphiQL offline
    assert "eiso/graphql/server/graphiql/vendor/LICENSES.txt" in names
    assert "eiso/infra/migrations/env.py" in names
    # The web room's pages: templates, operations, its CSS and the compiled catalogue.
    assert "eiso/web/templates/base.html" in names
    assert "eiso/web/operations/Lookup.graphql" in names
    assert "eiso/web/operations/fragments/ReviewHeld.graphql" in names
    assert "eiso/web/static/eiso.css" in names
    assert "eiso/web/catalogues/vi/LC_MESSAGES/messages.mo" in names
    # The unpacked wheel works from a neutral directory, with graphql-core intact.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    check = (
        CHECK_GRAPHQL + f"; import eiso.core; assert eiso.core.__file__.startswith({str(site)!r})"
    )
    result = _run(sys.executable, "-c", check, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
