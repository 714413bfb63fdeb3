"""SQLite backup and restore through the online backup API (`sqlite3.Connection.backup`).

The backup reads the source inside one read transaction: the rows it counts and the pages it
copies are the same snapshot, while the app keeps writing (WAL). The copy is a self-contained
file (rollback journal, no -wal beside it), checked with `PRAGMA integrity_check`.
"""

from __future__ import annotations

import contextlib
import pathlib
import sqlite3
from collections.abc import Iterator

from eiso.infra import backups


@contextlib.contextmanager
def _connect(path: pathlib.Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        yield connection
    finally:
        connection.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_counts(connection: sqlite3.Connection) -> backups.TableCounts:
    names = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return {
        name: connection.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        for (name,) in names
    }


def _check_integrity(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise backups.BackupError(f"{what} fails SQLite's integrity check: {result}")


def backup(database: pathlib.Path, target: pathlib.Path) -> backups.Outcome:
    """Copy `database` to `target` (a new file) and check that it holds every row."""
    backups.refuse_existing(target)
    if not database.is_file():
        raise backups.BackupError(f"no SQLite database at {database}")
    with _connect(database, read_only=True) as source, backups.partial_file(target) as partial:
        source.execute("BEGIN")  # one snapshot for the counts and the copy
        expected = table_counts(source)
        with _connect(partial) as copy:
            source.backup(copy)
            source.execute("COMMIT")
            copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            _check_integrity(copy, "the backup")
            backups.check_counts(expected, table_counts(copy), copy_name="the backup")
    return backups.outcome(expected)


def _is_empty(path: pathlib.Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return True
    with _connect(path, read_only=True) as connection:
        return not table_counts(connection)


def restore(backup_file: pathlib.Path, database: pathlib.Path, *, force: bool) -> backups.Outcome:
    """Copy the backup into `database`: a new or empty file, or any file when `force`d (its
    content is replaced whole). Stop the app first: the copy replaces the pages under it."""
    backups.require_format(
        backup_file, backups.SQLITE_MAGIC, "an eiso SQLite backup (`eiso db backup`)"
    )
    if not force and not _is_empty(database):
        raise backups.BackupError(
            f"the database {database} is not empty: restore into a new file, "
            "or pass --force to replace its content"
        )
    database.parent.mkdir(parents=True, exist_ok=True)
    with _connect(backup_file, read_only=True) as source:
        _check_integrity(source, str(backup_file))
        source.execute("BEGIN")
        expected = table_counts(source)
        if "alembic_version" not in expected:
            raise backups.BackupError(
                f"{backup_file} is not an eiso database (no alembic_version table)"
            )
        with _connect(database) as target:
            source.backup(target)
            source.execute("COMMIT")
            backups.check_counts(expected, table_counts(target), copy_name="the restored database")
    return backups.outcome(expected)
