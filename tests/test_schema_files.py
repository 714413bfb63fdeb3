"""What is committed stays true of the code: the SDL file and the migrations."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import eiso.core.app  # noqa: F401 - imports every model, so the metadata is complete
from eiso.graphql.schema import bundled_sources, schema_sdl

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_committed_sdl_matches_the_code():
    committed = (ROOT / "graphql" / "schema.graphql").read_text()
    assert committed == schema_sdl(), "run `make schema` and commit graphql/schema.graphql"


def test_the_cli_export_of_a_make_run_checkout_is_the_committed_sdl():
    """`eiso graphql schema` (the docs' command for code generation) with the modules a `make
    run` checkout has, eiso's own, prints the committed SDL."""
    env = {**os.environ, "EISO_PLUGINS": ",".join(s.name for s in bundled_sources())}
    cli = pathlib.Path(sys.executable).with_name("eiso")
    printed = subprocess.run(
        [str(cli), "graphql", "schema"], env=env, capture_output=True, text=True, check=True
    )
    assert printed.stdout == (ROOT / "graphql" / "schema.graphql").read_text()


def _dry_run(target: str) -> str:
    make = shutil.which("make")
    assert make, "make is what the README's two commands use"
    return subprocess.run(
        [make, "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_make_run_never_installs_the_test_plugin_and_make_test_does():
    run, test = _dry_run("run"), _dry_run("test")
    for folder, distribution in (
        ("tests/vendor_plugin", "eiso-vendor-demo"),
        ("tests/vendor_walkthrough", "eiso-vendor-queue-tickets"),
    ):
        assert f"-e {folder}" not in run
        assert "uninstall" in run and distribution in run  # left by an earlier `make test`
        assert f"-e {folder}" in test


async def test_migrations_match_the_models(resources):
    """Alembic's own comparison: a model change without a migration fails here."""
    from eiso.infra.db import make_engine

    engine = make_engine(resources.settings.migration_database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), SQLModel.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []
