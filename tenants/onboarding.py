"""Bulk onboarding of a province's agencies from a CSV or JSON file.

Every row is validated before anything is written and every bad row is reported with its line
number; one bad row means nothing is written. A re-run of the same file changes nothing: an
agency of the same province with the same code is left alone when it already matches, or
brought to the file's values. Parents may come after their children in the file (rows are
ordered with `graphlib`). Inserts go in one bulk statement per chunk, without per-row flushes.

Every value obeys the limits of the GraphQL edge (infra/input_limits.py: no control character
such as NUL, at most 10,000 characters, JSON at most 12 levels deep and 1,000 keys); a row
over one is reported with its line and column (or JSON field) and left out.

Admin accounts named in the file are validated with the rows; the caller passes an
`AccountWriter` (the auth room's, which this room may not import) that creates them in the same
transaction as the agencies, so a username taken elsewhere rolls the whole import back too.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import enum
import graphlib
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from eiso.infra.clock import utcnow
from eiso.infra.ids import new_id, saved_id
from eiso.infra.input_limits import MAX_DEPTH, BadValue, check_value
from eiso.infra.tables import table_of
from eiso.infra.text import fold
from eiso.tenants.models import Agency, AgencyKind, IsoStatus, Province, TenantStatus
from eiso.tenants.scope import TenantScope

FIELDS = ("code", "name", "kind", "parent_code", "admin_username", "admin_email")
REQUIRED = ("code", "name", "kind")
KINDS = tuple(kind.value for kind in AgencyKind)
CHUNK = 500  # rows per bulk statement (well under SQLite's bound-parameter limit)

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# A deliberately plain check: the auth room sends the invitation, which is the real test.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FileFormat(str, enum.Enum):
    csv = "csv"
    json = "json"


@dataclasses.dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    reason_vi: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclasses.dataclass
class AgencyRow:
    line: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    admin_username: str | None = None
    admin_email: str | None = None


@dataclasses.dataclass(frozen=True)
class PendingAccount:
    agency_code: str
    username: str
    email: str | None


@dataclasses.dataclass
class OnboardingReport:
    province_code: str
    dry_run: bool
    total: int = 0
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    errors: list[RowError] = dataclasses.field(default_factory=list)
    pending_accounts: list[PendingAccount] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# (rows done, rows total), told after each bulk statement; a coroutine function is awaited
# (the console's import writes its progress to Redis, web/console_import.py).
Progress = Callable[[int, int], Awaitable[None] | None]


async def _tell(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        told = progress(done, total)
        if told is not None:
            await told


# Creates the admin accounts inside the import's transaction; returns the refused ones as
# {agency_code: (reason, reason_vi)}; any refusal rolls the import back.
AccountWriter = Callable[
    [AsyncSession, list[PendingAccount]], Awaitable[dict[str, tuple[str, str]]]
]


class _AccountsRefused(Exception):
    def __init__(self, refused: dict[str, tuple[str, str]]) -> None:
        self.refused = refused


OpenSession = Callable[[TenantScope], AsyncSession]


# --- parsing ---------------------------------------------------------------------------------


def detect_format(name: str, content: bytes) -> FileFormat:
    """JSON when the file name says so or the content starts with `[`; CSV otherwise."""
    if name.lower().endswith(".json"):
        return FileFormat.json
    return FileFormat.json if content.lstrip()[:1] == b"[" else FileFormat.csv


def _error(line: int, reason: str, reason_vi: str) -> RowError:
    return RowError(line, reason, reason_vi)


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _row(line: int, record: dict[str, Any]) -> AgencyRow:
    values = {field: _clean(record.get(field)) for field in FIELDS}
    return AgencyRow(
        line=line,
        code=values["code"] or "",
        name=values["name"] or "",
        kind=values["kind"] or "",
        parent_code=values["parent_code"],
        admin_username=values["admin_username"],
        admin_email=values["admin_email"],
    )


def _bad_value(line: int, place: str, place_vi: str, bad: BadValue) -> RowError:
    return _error(line, f"{place}: {bad.reason}", f"{place_vi}: {bad.reason_vi}")


# `csv` refuses a field over its process-wide limit (131,072) with an error that names no
# column. While a file is read the limit is the file's size, so every field is read and the
# over-long one is reported by `check_value` with its column; the lock keeps two imports in
# threads from restoring each other's figure.
_FIELD_LIMIT = threading.Lock()


@contextlib.contextmanager
def _fields_up_to(size: int) -> Iterator[None]:
    with _FIELD_LIMIT:
        before = csv.field_size_limit()
        csv.field_size_limit(max(before, size + 1))
        try:
            yield
        finally:
            csv.field_size_limit(before)


def parse_csv(content: bytes) -> tuple[list[AgencyRow], list[RowError]]:
    with _fields_up_to(len(content)):
        return _parse_csv(content)


def _parse_csv(content: bytes) -> tuple[list[AgencyRow], list[RowError]]:
    errors: list[RowError] = []
    lines: list[str] = []
    for number, raw in enumerate(content.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            errors.append(
                _error(number, "not valid UTF-8 (bad encoding)", "không phải mã UTF-8 hợp lệ")
            )
            lines.append("\n")  # keep the line numbers of the rows after it
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        return [], [
            *errors,
            _error(1, "empty file: expected a header line", "tệp rỗng: thiếu dòng tiêu đề"),
        ]
    header = [cell.strip().lower() for cell in header]
    missing = [field for field in (*REQUIRED, "parent_code") if field not in header]
    unknown = [cell for cell in header if cell not in FIELDS]
    if missing or unknown:
        reason = "header must be code,name,kind,parent_code[,admin_username,admin_email]"
        detail = (f"; missing {', '.join(missing)}" if missing else "") + (
            f"; unknown {', '.join(unknown)}" if unknown else ""
        )
        return [], [
            *errors,
            _error(1, reason + detail, "dòng tiêu đề phải là code,name,kind,parent_code"),
        ]
    rows: list[AgencyRow] = []
    bad_lines = {error.line for error in errors}
    line = reader.line_num
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:  # not expected once the field limit is lifted; still a line
            errors.append(_error(reader.line_num, f"not CSV: {error}", f"không phải CSV: {error}"))
            break
        if cells is None:
            break
        start, line = line + 1, reader.line_num
        if start in bad_lines or not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            errors.append(
                _error(
                    start,
                    f"{len(cells)} fields, the header has {len(header)}",
                    f"có {len(cells)} cột, dòng tiêu đề có {len(header)}",
                )
            )
            continue
        try:
            for column, cell in zip(header, cells, strict=False):
                check_value(cell, column)
        except BadValue as bad:
            errors.append(_bad_value(start, f"column {bad.field}", f"cột {bad.field}", bad))
            continue
        # A short row leaves its last fields empty.
        rows.append(_row(start, dict(zip(header, cells, strict=False))))
    return rows, errors


def parse_json(content: bytes) -> tuple[list[AgencyRow], list[RowError]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        return [], [_error(line, "not valid UTF-8 (bad encoding)", "không phải mã UTF-8 hợp lệ")]
    decoder = json.JSONDecoder()
    rows: list[AgencyRow] = []
    errors: list[RowError] = []

    def line_at(position: int) -> int:
        return text.count("\n", 0, position) + 1

    position = _skip_space(text, 0)
    if text[position : position + 1] != "[":
        return [], [
            _error(line_at(position), "expected a JSON list of objects", "cần một danh sách JSON")
        ]
    position = _skip_space(text, position + 1)
    if text[position : position + 1] == "]":
        return [], []
    while True:
        try:
            record, end = decoder.raw_decode(text, position)
        except RecursionError:  # the decoder's own bound (about 1,000 levels); ours is lower
            return rows, [
                *errors,
                _error(
                    line_at(position),
                    f"nested deeper than {MAX_DEPTH} levels",
                    f"lồng sâu quá {MAX_DEPTH} cấp",
                ),
            ]
        except json.JSONDecodeError as error:
            return rows, [
                *errors,
                _error(
                    error.lineno, f"invalid JSON: {error.msg}", f"JSON không hợp lệ: {error.msg}"
                ),
            ]
        if isinstance(record, dict):
            bad = _record_error(line_at(position), record)
            if bad is None:
                rows.append(_row(line_at(position), record))
            else:
                errors.append(bad)
        else:
            errors.append(
                _error(
                    line_at(position),
                    "each item must be an object",
                    "mỗi phần tử phải là một đối tượng",
                )
            )
        position = _skip_space(text, end)
        separator = text[position : position + 1]
        if separator == "]":
            return rows, errors
        if separator != ",":
            return rows, [
                *errors,
                _error(line_at(position), "invalid JSON: expected ',' or ']'", "JSON không hợp lệ"),
            ]
        position = _skip_space(text, position + 1)


def _record_error(line: int, record: dict[str, Any]) -> RowError | None:
    """The first value of a JSON item over a limit, or a field that is not text or a number."""
    try:
        check_value(record, "", depth=1)  # the list holding the items is the first level
    except BadValue as bad:
        if not bad.field:  # the item itself: too many keys
            return _bad_value(line, "item", "phần tử", bad)
        return _bad_value(line, f"field {bad.field}", f"trường {bad.field}", bad)
    for field in FIELDS:
        if isinstance(record.get(field), dict | list):
            return _error(
                line, f"field {field}: must be text", f"trường {field}: phải là chuỗi ký tự"
            )
    return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def parse(content: bytes, file_format: FileFormat) -> tuple[list[AgencyRow], list[RowError]]:
    return parse_csv(content) if file_format is FileFormat.csv else parse_json(content)


# --- validation --------------------------------------------------------------------------------


def check_rows(rows: list[AgencyRow]) -> list[RowError]:
    """What can be said from the file alone: fields, kinds, formats, duplicate codes."""
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for row in rows:
        missing = [field for field in REQUIRED if not getattr(row, field)]
        if missing:
            errors.append(
                _error(
                    row.line,
                    f"missing field {', '.join(missing)}",
                    f"thiếu trường {', '.join(missing)}",
                )
            )
        if row.code and not _CODE.match(row.code):
            errors.append(
                _error(
                    row.line,
                    f"bad code {row.code!r}: letters, digits, '.', '_' or '-', at most 64",
                    f"mã {row.code!r} không hợp lệ",
                )
            )
        if row.code in first_line:
            errors.append(
                _error(
                    row.line,
                    f"duplicate code {row.code!r} (first on line {first_line[row.code]})",
                    f"mã {row.code!r} bị trùng (đã có ở dòng {first_line[row.code]})",
                )
            )
        elif row.code:
            first_line[row.code] = row.line
        if row.kind and row.kind not in KINDS:
            errors.append(
                _error(
                    row.line,
                    f"bad kind {row.kind!r}: one of {', '.join(KINDS)}",
                    f"loại {row.kind!r} không hợp lệ: một trong {', '.join(KINDS)}",
                )
            )
        if len(row.name) > 300:
            errors.append(
                _error(row.line, "name longer than 300 characters", "tên dài quá 300 ký tự")
            )
        if row.parent_code and row.parent_code == row.code:
            errors.append(
                _error(
                    row.line,
                    "an agency cannot be its own parent",
                    "cơ quan không thể là cấp trên của chính nó",
                )
            )
        if row.admin_email and not row.admin_username:
            errors.append(
                _error(
                    row.line,
                    "admin_email given without admin_username",
                    "có admin_email nhưng thiếu admin_username",
                )
            )
        if row.admin_username and not _USERNAME.match(row.admin_username):
            errors.append(
                _error(
                    row.line,
                    f"bad admin_username {row.admin_username!r}: 3-64 of a-z 0-9 . _ -",
                    f"admin_username {row.admin_username!r} không hợp lệ",
                )
            )
        if row.admin_email and not _EMAIL.match(row.admin_email):
            errors.append(
                _error(
                    row.line,
                    f"bad admin_email {row.admin_email!r}",
                    f"admin_email {row.admin_email!r} không hợp lệ",
                )
            )
    return errors


def order_rows(rows: list[AgencyRow]) -> tuple[list[AgencyRow], list[RowError]]:
    """Parents before children, whatever the file's order; a cycle is an error on each row."""
    by_code = {row.code: row for row in rows}
    sorter = graphlib.TopologicalSorter(
        {row.code: ([row.parent_code] if row.parent_code in by_code else []) for row in rows}
    )
    try:
        return [by_code[code] for code in sorter.static_order()], []
    except graphlib.CycleError as error:
        cycle = error.args[1]
        return [], [
            _error(
                by_code[code].line,
                f"parent cycle: {' -> '.join(cycle)}",
                f"vòng lặp cấp trên: {' -> '.join(cycle)}",
            )
            for code in dict.fromkeys(cycle)
        ]


async def _existing(session: AsyncSession, codes: list[str]) -> dict[str, Agency]:
    found: dict[str, Agency] = {}
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        result = await session.execute(select(Agency).where(col(Agency.code).in_(chunk)))
        found.update((agency.code, agency) for agency in result.scalars())
    return found


# --- the import --------------------------------------------------------------------------------


async def onboard(
    open_session: OpenSession,
    province: Province,
    content: bytes,
    file_format: FileFormat,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    accounts: AccountWriter | None = None,
) -> OnboardingReport:
    """Validate the file, then (unless `dry_run` or any row is bad) write it in one transaction.

    The caller has checked that whoever asked may administer `province`. Codes are unique in
    the whole country, so one look-up runs with the nation's scope; it answers only "this code
    belongs to another province", never that agency's data.
    """
    report = OnboardingReport(province_code=province.code, dry_run=dry_run)
    rows, errors = parse(content, file_format)
    report.total = len(rows)
    errors += check_rows(rows)
    codes = {row.code for row in rows if row.code}
    parent_codes = {row.parent_code for row in rows if row.parent_code} - codes
    async with open_session(TenantScope.nation()) as lookup:
        anywhere = await _existing(lookup, sorted(codes | parent_codes))
    mine = {code: agency for code, agency in anywhere.items() if agency.province_id == province.id}
    for row in rows:
        other = anywhere.get(row.code)
        if other is not None and other.province_id != province.id:
            errors.append(
                _error(
                    row.line,
                    f"code {row.code!r} is already used by an agency of another province",
                    f"mã {row.code!r} đã được một cơ quan của tỉnh khác sử dụng",
                )
            )
        if row.parent_code and row.parent_code not in codes and row.parent_code not in mine:
            errors.append(
                _error(
                    row.line,
                    f"unknown parent_code {row.parent_code!r}",
                    f"không tìm thấy cơ quan cấp trên {row.parent_code!r}",
                )
            )
    if not errors:
        rows, errors = order_rows(rows)
    report.errors = sorted(set(errors), key=lambda error: (error.line, error.reason))
    report.pending_accounts = [
        PendingAccount(row.code, row.admin_username, row.admin_email)
        for row in rows
        if row.admin_username
    ]
    if errors:
        return report
    province_id = saved_id(province)
    ids = {code: agency.id for code, agency in mine.items()}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    now = utcnow()
    for row in rows:
        parent_id = ids[row.parent_code] if row.parent_code else None
        values = {
            "name": row.name,
            "name_folded": fold(row.name),
            "kind": row.kind,
            "parent_id": parent_id,
        }
        current = mine.get(row.code)
        if current is None:
            ids[row.code] = new_id()
            inserts.append(
                {
                    "province_id": province_id,
                    "id": ids[row.code],
                    "code": row.code,
                    **values,
                    "iso_status": IsoStatus.not_started.value,
                    "iso_status_since": None,
                    "status": TenantStatus.active.value,
                    "merged_into_id": None,
                    "created_at": now,
                }
            )
            report.created.append(row.code)
        elif any(getattr(current, key) != value for key, value in values.items()):
            updates.append({"agency_id": current.id, **values})
            report.updated.append(row.code)
        else:
            report.unchanged.append(row.code)
    if dry_run:
        return report
    try:
        await _write(
            open_session,
            province,
            inserts,
            updates,
            progress,
            len(rows) - len(inserts) - len(updates),
            accounts,
            report.pending_accounts,
        )
    except _AccountsRefused as refusal:
        lines = {row.code: row.line for row in rows}
        report.created, report.updated, report.unchanged = [], [], []
        report.errors = sorted(
            (
                _error(lines.get(code, 0), reason, reason_vi)
                for code, (reason, reason_vi) in refusal.refused.items()
            ),
            key=lambda error: error.line,
        )
    except IntegrityError:
        # Another import wrote some of these codes between our check and our write; the
        # transaction rolled back, so a re-run sees them and reports precisely.
        report.created, report.updated, report.unchanged = [], [], []
        report.errors = [
            _error(
                0,
                "another change to these agencies ran at the same time; nothing was written, "
                "run the import again",
                "có thay đổi đồng thời; chưa ghi gì, hãy nhập lại",
            )
        ]
    return report


async def _write(
    open_session: OpenSession,
    province: Province,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    progress: Progress | None,
    skipped: int,
    accounts: AccountWriter | None = None,
    pending: Sequence[PendingAccount] = (),
) -> None:
    total = len(inserts) + len(updates) + skipped
    done = skipped
    await _tell(progress, done, total)
    table = table_of(Agency)
    province_id = saved_id(province)
    async with open_session(TenantScope.province(province_id)) as session, session.begin():
        for start in range(0, len(inserts), CHUNK):
            chunk = inserts[start : start + CHUNK]
            await session.execute(insert(table), chunk)
            done += len(chunk)
            await _tell(progress, done, total)
        for values in updates:
            agency_id = values.pop("agency_id")
            await session.execute(
                update(table)
                .where(table.c.province_id == province_id, table.c.id == agency_id)
                .values(**values)
            )
            done += 1
            await _tell(progress, done, total)
        if accounts is not None and pending:
            refused = await accounts(session, list(pending))
            if refused:
                raise _AccountsRefused(refused)  # leaves the `begin()` block: rolled back
