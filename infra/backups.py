"""Backups that restore: what the SQLite and PostgreSQL backups share.

A backup is written beside its target as `<file>.partial` and renamed into place only after
its rows were counted and found equal, table by table, to the database's rows in the same
snapshot; otherwise it is deleted and the error names the table. A restore goes into an empty
database (or replaces what the dump holds when forced) and counts again afterwards.
The backends: `sqlite_backup.py` (the online backup API) and `pg_backup.py` (pg_dump and
pg_restore, custom format, as a role that bypasses row-level security).
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
from collections.abc import Iterator

# Table name (schema-qualified on PostgreSQL) -> rows.
TableCounts = dict[str, int]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore refused or failed; the message is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a backup holds or a restore loaded: tables and rows, counted and checked."""

    tables: int
    rows: int


def outcome(counts: TableCounts) -> Outcome:
    return Outcome(len(counts), sum(counts.values()))


def check_counts(database: TableCounts, copy: TableCounts, *, copy_name: str) -> None:
    """Raise naming the first table whose rows `copy` does not hold exactly as `database`."""
    for table in sorted(set(database) | set(copy)):
        expected, found = database.get(table), copy.get(table)
        if expected is None:
            raise BackupError(f"{copy_name} holds table {table}, which the database does not have")
        if found != expected:
            held = "no data" if found is None else f"{found} rows"
            raise BackupError(
                f"{copy_name} holds {held} of table {table}, the database has {expected}"
            )


def refuse_existing(path: pathlib.Path) -> None:
    if path.exists():
        raise BackupError(f"{path} exists: give the backup a new name (e.g. with the date)")


@contextlib.contextmanager
def partial_file(path: pathlib.Path) -> Iterator[pathlib.Path]:
    """`<path>.partial` to write into; renamed to `path` when the block succeeds, deleted when
    it fails, so a file with the backup's name is always a checked, complete backup."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def require_format(path: pathlib.Path, magic: bytes, kind: str) -> None:
    """A clear refusal of a file that is not a backup of this backend."""
    try:
        with path.open("rb") as file:
            head = file.read(len(magic))
    except OSError as error:
        raise BackupError(f"cannot read {path}: {error.strerror}") from None
    if head != magic:
        raise BackupError(f"{path} is not {kind}")
