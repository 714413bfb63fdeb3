"""Alembic, driven from code: the same migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = "eiso.infra:migrations"


def alembic_config(database_url: str, app_database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    # The role the application connects as, granted what it needs and no more.
    config.attributes["app_database_url"] = app_database_url or database_url
    return config


def upgrade(
    database_url: str, app_database_url: str | None = None, revision: str = "heads"
) -> None:
    command.upgrade(alembic_config(database_url, app_database_url), revision)
