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


def module_version_table(module: str) -> str:
    """Where a module's own migrations record their revision (one table per module, beside the
    core's `alembic_version`)."""
    return f"alembic_version_{module}"


def upgrade_module(
    database_url: str,
    app_database_url: str | None,
    module: str,
    versions: str,
    revision: str = "heads",
) -> None:
    """Apply one module's migrations (the revision files in the folder `versions`) with eiso's
    environment, recording them in the module's own version table. Never downgrades."""
    config = alembic_config(database_url, app_database_url)
    config.set_main_option("version_locations", versions)
    config.attributes["version_table"] = module_version_table(module)
    command.upgrade(config, revision)
