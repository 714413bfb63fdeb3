"""A module's own tables: its Alembic migrations (`ModuleInfo.migrations`), applied by
`eiso db upgrade` after the core's, for every loaded module that declares them.

Each module keeps its revision in its own version table (`alembic_version_<module>`), so its
revisions chain among themselves and never mix with the core's. eiso only upgrades: a module
that is disabled in a province, or no longer loaded, keeps its tables and their rows (eiso
never deletes a module's data).
"""

from __future__ import annotations

import importlib.resources
import logging
import pathlib

from eiso.core.plugins.declarations import ModuleInfo
from eiso.core.plugins.registry import PluginRegistry
from eiso.infra import migrate
from eiso.infra.citus import distribute_database

log = logging.getLogger("eiso.plugins")


class ModuleMigrationsError(Exception):
    """A module's declared migrations folder cannot be found."""


def migrations_folder(info: ModuleInfo) -> pathlib.Path | None:
    """The folder of the module's revision files, None when it declares none."""
    if info.migrations is None:
        return None
    package, _, folder = info.migrations.partition(":")
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as error:
        raise ModuleMigrationsError(
            f"module {info.name}: migrations package {package!r} not found"
        ) from error
    path = pathlib.Path(str(root.joinpath(folder)))
    if not path.is_dir():
        raise ModuleMigrationsError(f"module {info.name}: no migrations folder {path}")
    return path


def upgrade_modules(
    registry: PluginRegistry, database_url: str, app_database_url: str | None = None
) -> list[str]:
    """Apply the migrations of every loaded module that has them (after the core's: call
    `migrate.upgrade` first), by module name; the names of the modules upgraded."""
    done = []
    for name, record in registry.loaded.items():
        folder = None if record.info is None else migrations_folder(record.info)
        if folder is None:
            continue
        migrate.upgrade_module(database_url, app_database_url, name, str(folder))
        log.info("module migrations applied", extra={"plugin": name})
        done.append(name)
    return done


def upgrade_database(
    registry: PluginRegistry, database_url: str, app_database_url: str | None = None
) -> list[str]:
    """The core's migrations, then the loaded modules', then on a Citus coordinator the
    distribution of the tables they made (what `eiso db upgrade` runs)."""
    migrate.upgrade(database_url, app_database_url)
    upgraded = upgrade_modules(registry, database_url, app_database_url)
    distribute_database(database_url)
    return upgraded
