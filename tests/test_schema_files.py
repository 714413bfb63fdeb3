"""What is committed stays true of the code: the SDL file and the migrations."""

from __future__ import annotations

import pathlib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import eiso.core.app  # noqa: F401 - imports every model, so the metadata is complete
from eiso.graphql.schema import schema_sdl

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_committed_sdl_matches_the_code():
    committed = (ROOT / "graphql" / "schema.graphql").read_text()
    assert committed == schema_sdl(), "run `make schema` and commit graphql/schema.graphql"


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
