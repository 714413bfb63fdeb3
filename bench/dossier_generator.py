"""Fill a PostgreSQL database with N dossiers (and their timelines) for the dossier benchmark.

    .venv/bin/python -m bench.dossier_generator \\
        --database-url postgresql://postgres@127.0.0.1:5432/eiso_bench_dossiers \\
        --create --dossiers 1000000 --provinces 4 --agencies 50 [--no-events]

P provinces × A agencies each (communes), every agency adopting the bundled modules' commune
procedures. Each agency gets a share of the N dossiers (uneven: a few busy agencies, many
quiet ones), received on the working days of the past year during office hours. The status
follows the dossier's age: old ones are mostly returned (some rated, a few late, withdrawn,
stopped or refused), recent ones are still open (received, in progress, waiting for a
supplement or a fee). Rows are what the engine itself would have written: codes
`<agency>-<yymmdd>-<seq>` unique per agency and local day, time-ordered ids (infra.ids
layout), lookup keys whose hash the public lookup checks, the day counters set to the last
sequence used (so the app's next receipt continues them), and, unless `--no-events`, one
`dossier_events` row per transition. Audit entries and outbox rows are not generated: that
history predates eiso.

The lookup key of a generated dossier is `lookup_key(code)` (deterministic, for the bench).
The dossiers are made by the server itself (`INSERT … SELECT … FROM generate_series`), one
statement per group of agencies; the provinces and agencies go through the app's services.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import hashlib
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eiso.core.dossiers.catalogue import row_values
from eiso.core.plugins.activation import set_module
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.core.workdays import VN_TZ
from eiso.infra import migrate
from eiso.infra.ids import EPOCH_MS
from eiso.tenants.models import AgencyKind
from eiso.tenants.scope import TenantScope
from eiso.tenants.services import ensure_agency, ensure_province

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/eiso_bench_dossiers"
APP_ROLE = "eiso_app"
MODULES = ("birth_registration", "business_registration", "construction_permits", "land_use_rights")
# How often each procedure is asked for at a commune (birth registrations dominate).
WEIGHTS = {
    "1.001193": 30,
    "LT-KS-TT-BHYT": 18,
    "1.001612": 8,
    "2.000720": 6,
    "1.013978": 6,
    "LUR-BIEN-DONG": 8,
}
PROVINCES = [
    "Quảng Ninh",
    "Hưng Yên",
    "Lào Cai",
    "Cao Bằng",
    "Nghệ An",
    "Đắk Lắk",
    "Cà Mau",
    "Hà Tĩnh",
    "Thanh Hóa",
    "Sơn La",
    "Điện Biên",
    "Lai Châu",
    "Tuyên Quang",
    "Lạng Sơn",
    "Gia Lai",
    "An Giang",
]
PLACES = [
    "Tiên Yên",
    "Đầm Hà",
    "Hải Hà",
    "Bình Liêu",
    "Ba Chẽ",
    "Vân Đồn",
    "Cô Tô",
    "Đông Triều",
    "Yên Mỹ",
    "Khoái Châu",
    "Ân Thi",
    "Kim Động",
    "Phù Cừ",
    "Đức Thọ",
    "Quảng Hà",
    "Hoành Bồ",
]
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = ["Thị", "Văn", "Minh", "Thu", "Đức", "Ngọc", "Quang", "Thanh", "Hữu", "Bảo"]
GIVEN = [
    "Hoa",
    "Khôi",
    "Lan",
    "Hùng",
    "Mai",
    "Dũng",
    "Hương",
    "Nam",
    "Linh",
    "Tuấn",
    "Yến",
    "Sơn",
    "Thảo",
]
COMMENTS = ["Nhanh gọn", "Cán bộ nhiệt tình", "Phải chờ lâu", "Hài lòng", "Hướng dẫn rõ ràng"]


def lookup_key(code: str) -> str:
    """The citizen's lookup key of a generated dossier (the app stores only its sha256)."""
    return hashlib.md5(f"bench:{code}".encode()).hexdigest()[:10].upper()


@dataclasses.dataclass
class Summary:
    provinces: list[dict]  # {"id", "code", "agencies": [{"id", "code", "dossiers"}]}
    procedures: list[str]
    dossiers: int
    events: int
    seconds: float


# -- database ---------------------------------------------------------------------------------


def _with_database(url: str, database: str, user: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}@{parts.netloc.split('@', 1)[-1]}"
    return parts._replace(netloc=netloc, path=f"/{database}").geturl()


def app_url(database_url: str) -> str:
    """The URL the app connects with: the same database as the non-superuser role, so that
    row-level security applies as in production."""
    return _with_database(database_url, urlsplit(database_url).path.lstrip("/"), APP_ROLE)


async def create_database(database_url: str) -> None:
    """Drop and create the database, ensure the app role, migrate to every head."""
    import asyncpg

    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN "
            f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$;"
        )
    finally:
        await admin.close()
    await asyncio.to_thread(migrate.upgrade, database_url, app_url(database_url))


async def drop_database(database_url: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await admin.execute(
            f'DROP DATABASE IF EXISTS "{urlsplit(database_url).path.lstrip("/")}" WITH (FORCE)'
        )
    finally:
        await admin.close()


# -- tenants and catalogue --------------------------------------------------------------------


def procedures() -> list:
    """The bundled modules' commune-level procedures: what a commune adopts."""
    registry = PluginRegistry.load(MODULES)
    return [
        (name, p)
        for name, record in registry.loaded.items()
        for p in record.procedures
        if p.level == "commune"
    ]


async def make_tenants(database_url: str, prefix: str, provinces: int, agencies: int) -> list[dict]:
    settings = load_settings(
        env="test",
        database_url=database_url,
        migration_database_url=database_url,
        redis_url="memory://bench-generator:",
        log_json=False,
        plugins=[],
    )
    resources = Resources.open(settings)
    made = []
    try:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            for p in range(provinces):
                name = PROVINCES[p % len(PROVINCES)] + (
                    f" {p // len(PROVINCES) + 1}" if p >= len(PROVINCES) else ""
                )
                province = await ensure_province(
                    session, f"{prefix}{p:02d}", f"Tỉnh {name} ({prefix})"
                )
                for module in MODULES:  # receipts need the procedure's module on
                    await set_module(session, province.id, module, True, by="bench")
                rows = []
                for a in range(agencies):
                    place = f"{PLACES[a % len(PLACES)]} {a + 1}"
                    agency = await ensure_agency(
                        session,
                        province,
                        f"{prefix}{p:02d}.{a:03d}",
                        f"Ủy ban nhân dân xã {place}",
                        AgencyKind.commune,
                    )
                    rows.append({"id": agency.id, "code": agency.code})
                made.append({"id": province.id, "code": province.code, "agencies": rows})
    finally:
        await resources.close()
    return made


async def upsert_catalogue(connection, procs: list, tenants: list[dict]) -> None:
    """The procedures (left alone where they exist: a catalogue sync owns them) and one
    adoption per agency and procedure."""
    import orjson
    from sqlalchemy import JSON

    from eiso.core.dossiers.models import ProcedureRecord

    # The JSON columns, from the model: a new one (e.g. `revisions`) needs no change here.
    json_columns = {c.name for c in ProcedureRecord.__table__.columns if isinstance(c.type, JSON)}
    for module, procedure in procs:
        values = row_values(procedure, module)
        columns = ["code", *values, "updated_at"]
        row = [
            procedure.code,
            *(
                orjson.dumps(v).decode() if k in json_columns and v is not None else v
                for k, v in values.items()
            ),
            dt.datetime.now(dt.UTC),
        ]
        placeholders = ", ".join(f"${i + 1}" for i in range(len(columns)))
        await connection.execute(
            f"INSERT INTO procedures ({', '.join(columns)}) VALUES ({placeholders})"
            " ON CONFLICT (code) DO NOTHING",
            *row,
        )
    await connection.execute(
        """INSERT INTO procedure_adoptions (province_id, id, agency_id, procedure_code,
                                            time_limit_amount, step_units, adopted_at)
           SELECT a.province_id, ((extract(epoch FROM now()) * 1000)::bigint - $3) << 22
                                 | (row_number() OVER () + 3000000),
                  a.id, p.code, p.time_limit_amount, '{}', now() - interval '400 days'
           FROM agencies a CROSS JOIN procedures p
           WHERE a.id = ANY($1::bigint[]) AND p.code = ANY($2::text[])
           ON CONFLICT (agency_id, procedure_code) DO NOTHING""",
        [a["id"] for t in tenants for a in t["agencies"]],
        [p.code for _, p in procs],
        EPOCH_MS,
    )


# -- dossiers ---------------------------------------------------------------------------------


def shares(total: int, count: int, rng: random.Random) -> list[int]:
    """`total` split over `count` agencies unevenly (log-normal weights), summing exactly."""
    weights = [rng.lognormvariate(0, 0.6) for _ in range(count)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % count] += 1
    return counts


def working_days(today: dt.date, days: int = 365) -> list[dt.date]:
    """Monday to Friday of the `days` days before today (holidays ignored: a few dossiers on
    a holiday do not change a page's cost). Today stays empty: nothing is received in the
    future, and the app's receipts of today number their codes from 1."""
    start = today - dt.timedelta(days=days)
    return [d for d in (start + dt.timedelta(days=i) for i in range(days)) if d.weekday() < 5]


def calendar_days(procedure) -> float:
    """The time limit as calendar days, roughly: enough to place appointments."""
    limit = procedure.time_limit
    if limit.unit == "working_hours":
        return max(1.0, limit.amount / 8 * 1.4)
    if limit.unit == "working_days":
        return limit.amount * 1.4
    return float(limit.amount)


# One statement per group of agencies: pick every dossier's day, time, procedure and fate,
# insert the dossiers, their timelines and the day counters. `src` is referenced by several
# inserts, so PostgreSQL materialises it once: every random() is drawn once per dossier.
DOSSIERS_SQL = r"""
WITH ag AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::bigint[])
        AS a(province_id, agency_id, agency_code, n, serial0)
), base AS (
    SELECT ag.province_id, ag.agency_id, ag.agency_code, ag.serial0 + j AS serial,
           -- the working day of the j-th dossier of this agency, at an office hour
           -- (07:30-17:00 local)
           (($6::date[])[1 + floor((j + random()) * cardinality($6::date[]) / ag.n)::int]
               + interval '7 hours 30 minutes' + random() * interval '9 hours 30 minutes')
               AT TIME ZONE 'Asia/Ho_Chi_Minh' AS received_at,
           width_bucket(random(), $8::float8[]) AS p,
           random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
           random() AS r6, random() AS r7
    FROM ag, generate_series(0, ag.n - 1) AS j
), aged AS (
    SELECT b.*, ($7::text[])[p] AS procedure_code, ($9::float8[])[p] AS lim,
           ($10::int[])[p] AS steps,
           extract(epoch FROM $11::timestamptz - received_at) / 86400 AS age
    FROM base b
), fated AS (
    SELECT a.*,
        CASE
            WHEN r1 < 0.010 THEN 3                                   -- online, refused
            WHEN r1 < 0.020 THEN 7                                   -- withdrawn
            WHEN r1 < 0.025 THEN 8                                   -- stopped
            WHEN r2 < least(1, age / (lim * 1.3 + 5)) * 0.92 THEN 10  -- returned
            -- processed, waiting for pickup
            WHEN r2 < least(1, age / (lim * 1.3 + 5)) * 0.99 THEN 9
            WHEN r3 < 0.05 AND age < 2 THEN 1                        -- online, not yet accepted
            WHEN r3 < 0.30 THEN 2
            WHEN r3 < 0.80 THEN 4
            WHEN r3 < 0.92 THEN 5
            ELSE 6
        END AS status
    FROM aged a
), shaped AS (
    SELECT f.*,
        CASE WHEN status IN (1, 3) THEN NULL ELSE received_at + lim * interval '1 day' END AS due,
        status IN (4, 9, 10) AND r5 < 0.08 AS resumed,      -- had a supplement, now resumed
        CASE WHEN status IN (9, 10) THEN steps - 1 WHEN status = 4 THEN floor(r4 * steps)::int
             ELSE 0 END AS step,
        -- when the dossier last moved: finished ones mostly before their appointment, 4 % after
        least($11::timestamptz, received_at + lim * interval '1 day'
              * CASE WHEN status IN (1, 2) THEN 0 WHEN r4 < 0.04 THEN 1.05 + r6
                     ELSE 0.2 + 0.75 * r6 END
              + CASE WHEN status = 10 THEN r7 * interval '3 days' ELSE interval '0' END) AS last_at
    FROM fated f
), src AS (
    SELECT s.*,
        s.agency_code || '-' || to_char(received_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD')
            AS prefix,
        row_number() OVER (
            PARTITION BY agency_id, to_char(received_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYMMDD')
            ORDER BY received_at, serial
        ) AS seq,
        CASE WHEN status NOT IN (4, 5, 6, 8, 9, 10) THEN NULL
             ELSE 'officer-' || (1 + floor(r6 * 6)::int) || '@' || lower(agency_code) END
            AS assignee,
        -- late: finished after the appointment, or still open past it and an apology recorded
        (status IN (7, 8, 9, 10) AND r4 < 0.04)
            OR (status IN (2, 4, 6) AND due < $11::timestamptz AND r5 < 0.5) AS was_late,
        ((extract(epoch FROM received_at) * 1000)::bigint - $12) << 22 | (serial & 4194303) AS id,
        -- the timeline: actions and the status each one leads to
        CASE status
            WHEN 1 THEN ARRAY['registered'] WHEN 3 THEN ARRAY['registered', 'refused']
            WHEN 2 THEN ARRAY['received'] WHEN 7 THEN ARRAY['received', 'withdrawn']
            ELSE ARRAY['received', 'assigned']
                 || CASE WHEN resumed THEN ARRAY['supplement_requested', 'supplement_received']
                         ELSE '{}' END
                 || array_fill('step_completed'::text,
                               ARRAY[CASE WHEN status IN (4, 9, 10) THEN step ELSE 0 END])
                 || CASE status WHEN 5 THEN ARRAY['supplement_requested']
                                WHEN 6 THEN ARRAY['fee_requested']
                                WHEN 8 THEN ARRAY['stopped'] WHEN 9 THEN ARRAY['processed']
                                WHEN 10 THEN ARRAY['processed', 'returned'] ELSE '{}' END
        END AS actions,
        CASE status
            WHEN 1 THEN ARRAY[1] WHEN 3 THEN ARRAY[1, 3]
            WHEN 2 THEN ARRAY[2] WHEN 7 THEN ARRAY[2, 7]
            ELSE ARRAY[2, 4] || CASE WHEN resumed THEN ARRAY[5, 4] ELSE '{}' END
                 || array_fill(4, ARRAY[CASE WHEN status IN (4, 9, 10) THEN step ELSE 0 END])
                 || CASE status WHEN 5 THEN ARRAY[5] WHEN 6 THEN ARRAY[6] WHEN 8 THEN ARRAY[8]
                                WHEN 9 THEN ARRAY[9] WHEN 10 THEN ARRAY[9, 10] ELSE '{}' END
        END AS tos
    FROM shaped s
), dossiers_in AS (
    INSERT INTO dossiers (province_id, id, agency_id, code, lookup_hash, procedure_code, applicant,
                          sector_data, status, current_step, assignee, received_at, appointment_at,
                          paused_at, pauses, supplement_count, was_late, version, idempotency_key,
                          input_hash, rating, rating_comment, updated_at)
    SELECT province_id, id, agency_id, code,
           encode(sha256(convert_to(upper(substr(md5('bench:' || code), 1, 10)), 'UTF8')), 'hex'),
           procedure_code,
           json_build_object(
               'full_name', ($13::text[])[1 + floor(r7 * cardinality($13::text[]))::int] || ' '
                            || ($14::text[])[1 + floor(r6 * cardinality($14::text[]))::int] || ' '
                            || ($15::text[])[1 + floor(r5 * cardinality($15::text[]))::int],
               'phone', '09' || lpad((serial * 7919 % 100000000)::text, 8, '0')),
           '{}'::json, status, step, assignee, received_at,
           CASE WHEN was_late AND status IN (2, 4, 6) THEN $11::timestamptz + interval '2 days'
                ELSE due END,
           CASE WHEN status = 5 THEN last_at END,
           CASE WHEN resumed THEN json_build_array(json_build_array(
                    to_char((received_at + (last_at - received_at) * 0.3) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
                    to_char((received_at + (last_at - received_at) * 0.4) AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')))
                ELSE '[]'::json END,
           CASE WHEN resumed OR status = 5 THEN 1 ELSE 0 END, was_late, cardinality(actions), NULL,
           NULL,
           CASE WHEN status = 10 AND r7 < 0.35 THEN
               CASE WHEN r3 < 0.55 THEN 5 WHEN r3 < 0.85 THEN 4 WHEN r3 < 0.93 THEN 3
                    WHEN r3 < 0.97 THEN 2 ELSE 1 END END,
           CASE WHEN status = 10 AND r7 < 0.10
                THEN ($16::text[])[1 + floor(r2 * cardinality($16::text[]))::int] END,
           last_at
    FROM (SELECT src.*, prefix || '-' || CASE WHEN seq < 10000 THEN lpad(seq::text, 4, '0')
                                              ELSE seq::text END AS code
          FROM src) AS coded
    RETURNING 1
), events_in AS (
    INSERT INTO dossier_events (province_id, id, agency_id, dossier_id, at, actor, action,
                                from_status, to_status, note)
    SELECT src.province_id,
           ((extract(epoch FROM at) * 1000)::bigint - $12) << 22 | ((serial * 16 + k) & 4194303),
           src.agency_id, src.id, at,
           CASE WHEN k = 1 THEN 'tiepnhan@' || lower(agency_code)
                ELSE coalesce(assignee, 'tiepnhan@' || lower(agency_code)) END,
           action, CASE WHEN k = 1 THEN NULL ELSE tos[k::int - 1] END, tos[k::int],
           CASE action WHEN 'refused' THEN 'Hồ sơ không đủ điều kiện tiếp nhận'
                       WHEN 'withdrawn' THEN 'Công dân rút hồ sơ'
                       WHEN 'stopped' THEN 'Dừng xử lý theo quy định'
                       WHEN 'supplement_requested' THEN 'Thiếu bản sao giấy tờ tùy thân' ELSE '' END
    FROM src, unnest(actions) WITH ORDINALITY AS t(action, k),
         LATERAL (SELECT received_at
                         + (last_at - received_at) * (k - 1) / greatest(cardinality(actions) - 1, 1)
                         AS at) AS w
    WHERE $17::bool
    RETURNING 1
), steps_in AS (
    -- The step the dossier is at, held by its own agency: what makes it visible to that agency
    -- (the tenant scope shows an agency the dossiers it holds a step of).
    INSERT INTO dossier_steps (province_id, id, agency_id, dossier_id, step_index, step_code,
                               status, sector_data, started_at)
    SELECT province_id, id, agency_id, id, step, 'step-' || step,
           CASE WHEN status IN (3, 7, 8, 9, 10) THEN 'done' ELSE 'active' END, '{}'::json,
           received_at
    FROM src
    RETURNING 1
), counters_in AS (
    INSERT INTO dossier_counters (province_id, id, agency_id, day, last)
    SELECT province_id,
           ((extract(epoch FROM now()) * 1000)::bigint - $12) << 22
           | ((min(serial) + 2000000) & 4194303),
           agency_id, split_part(prefix, '-', 2), max(seq)
    FROM src GROUP BY province_id, agency_id, prefix
    RETURNING 1
)
SELECT (SELECT count(*) FROM dossiers_in), (SELECT count(*) FROM events_in),
       (SELECT count(*) FROM counters_in)
"""


def batches(agencies: list[dict], size: int) -> list[list[dict]]:
    """Whole agencies per statement (their day sequences are numbered in one go)."""
    groups, current, count = [], [], 0
    for agency in agencies:
        if current and count + agency["dossiers"] > size:
            groups.append(current)
            current, count = [], 0
        current.append(agency)
        count += agency["dossiers"]
    return [*groups, current] if current else groups


async def insert_dossiers(
    connection,
    agencies: list[dict],
    procs: list,
    *,
    events: bool,
    batch: int,
    now: dt.datetime,
    log=print,
) -> tuple[int, int]:
    days = working_days(now.astimezone(VN_TZ).date())
    chosen = [p for _, p in procs]
    weights = [WEIGHTS.get(p.code, 2) for p in chosen]
    bounds, total = [], 0.0
    for w in weights:  # the lower bound of each procedure's slice of [0, 1)
        bounds.append(total / sum(weights))
        total += w
    made = made_events = 0
    for group in batches(agencies, batch):
        async with connection.transaction():
            row = await connection.fetchrow(
                DOSSIERS_SQL,
                [a["province_id"] for a in group],
                [a["id"] for a in group],
                [a["code"] for a in group],
                [a["dossiers"] for a in group],
                [a["serial0"] for a in group],
                days,
                [p.code for p in chosen],
                bounds,
                [calendar_days(p) for p in chosen],
                [len(p.steps) for p in chosen],
                now,
                EPOCH_MS,
                FAMILY,
                MIDDLE,
                GIVEN,
                COMMENTS,
                events,
            )
        made, made_events = made + row[0], made_events + row[1]
        log(f"  {made:>9,} dossiers  {made_events:>10,} events")
    return made, made_events


HAND_OVER = """
-- A share of the dossiers in progress or finished had their later step handed over to the
-- next agency of the province (in id order): that agency holds a step of a dossier it does
-- not own, as the interlinked procedures make it. Ids: the dossier's, negated (unique, and
-- never an id the app makes).
WITH ranked AS (
    SELECT province_id, id, row_number() OVER (PARTITION BY province_id ORDER BY id) AS n,
           count(*) OVER (PARTITION BY province_id) AS c
    FROM agencies WHERE id = ANY($1::bigint[])
), neighbour AS (
    SELECT a.id AS agency_id, b.id AS next_id
    FROM ranked a JOIN ranked b ON b.province_id = a.province_id AND b.n = a.n % a.c + 1
)
INSERT INTO dossier_steps (province_id, id, agency_id, dossier_id, step_index, step_code, status,
                           sector_data, from_agency_id, started_at)
SELECT d.province_id, -d.id, nb.next_id, d.id, d.current_step + 1, 'handed-over', 'active',
       '{}'::json, d.agency_id, d.received_at
FROM dossiers d JOIN neighbour nb ON nb.agency_id = d.agency_id
WHERE d.agency_id = ANY($1::bigint[]) AND d.status IN (4, 9, 10) AND d.id % $2 = 0
  AND nb.next_id <> d.agency_id
"""


async def hand_over(connection, agency_ids: list[int], share: float) -> int:
    """About `share` of the dossiers in progress or finished get a step handed over (HAND_OVER)."""
    if share <= 0:
        return 0
    status = await connection.execute(HAND_OVER, agency_ids, max(1, round(1 / share)))
    return int(status.split()[-1])


async def generate(
    database_url: str,
    *,
    dossiers: int,
    provinces: int,
    agencies: int,
    events: bool = True,
    prefix: str = "BN",
    seed: int = 7,
    batch: int = 50_000,
    handed_over: float = 0.05,
    log=print,
) -> Summary:
    """Provinces, agencies, adoptions and `dossiers` dossiers on an already migrated database."""
    import asyncpg

    start = time.perf_counter()
    rng = random.Random(seed)
    tenants = await make_tenants(database_url, prefix, provinces, agencies)
    procs = procedures()
    flat = [{**a, "province_id": t["id"]} for t in tenants for a in t["agencies"]]
    serial = 0
    for agency, count in zip(flat, shares(dossiers, len(flat), rng), strict=True):
        agency["dossiers"], agency["serial0"] = count, serial
        serial += count
    connection = await asyncpg.connect(database_url)
    try:
        existing = await connection.fetchval(
            "SELECT count(*) FROM dossiers WHERE agency_id = ANY($1::bigint[])",
            [a["id"] for a in flat],
        )
        if existing:
            raise SystemExit(
                f"{existing} dossiers exist already for the agencies of prefix {prefix!r}: "
                "use another --prefix or --create"
            )
        await connection.execute("SELECT setseed($1)", (seed % 1000) / 1000)
        await upsert_catalogue(connection, procs, tenants)
        made, made_events = await insert_dossiers(
            connection,
            [a for a in flat if a["dossiers"]],
            procs,
            events=events,
            batch=batch,
            now=dt.datetime.now(dt.UTC),
            log=log,
        )
        handed = await hand_over(connection, [a["id"] for a in flat], handed_over)
        log(f"  {handed:>9,} steps handed over to another agency")
        await _roll_up(connection, [t["id"] for t in tenants])
        for table in (
            "dossiers",
            "dossier_steps",
            "dossier_events",
            "dossier_counters",
            "procedure_adoptions",
        ):
            await connection.execute(f"ANALYZE {table}")
    finally:
        await connection.close()
    by_province = {t["id"]: t for t in tenants}
    for agency in flat:
        next(a for a in by_province[agency["province_id"]]["agencies"] if a["id"] == agency["id"])[
            "dossiers"
        ] = agency["dossiers"]
    return Summary(
        tenants, [p.code for _, p in procs], made, made_events, time.perf_counter() - start
    )


async def _roll_up(connection, province_ids: list[int]) -> None:
    """The figures' rollups of the generated provinces, from their rows (what the engine keeps
    with each move, and `eiso qms rollups rebuild` recomputes): the figures read them."""
    from eiso.core.qms import rollups

    if not await connection.fetchval("SELECT to_regclass('figure_counters') IS NOT NULL"):
        return  # a database migrated to a revision before the rollups (or before 0910)
    for province_id in province_ids:
        for table in rollups.TABLES:
            await connection.execute(
                f"DELETE FROM {table.name} WHERE province_id = $1", province_id
            )
        for statement in rollups.rebuild_sql():
            await connection.execute(statement.replace(":province", "$1"), province_id)
    for table in rollups.TABLES:
        await connection.execute(f"ANALYZE {table.name}")


def fill(database_url: str, **options) -> Summary:
    """A new database (`create_database`) filled by `generate(database_url, **options)`,
    quietly: for the benchmarks."""
    asyncio.run(create_database(database_url))
    return asyncio.run(generate(database_url, **({"log": lambda _: None} | options)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=DEFAULT_URL, help="the owner's URL (migrates, bypasses RLS)"
    )
    parser.add_argument(
        "--create", action="store_true", help="drop and create the database, then migrate"
    )
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--provinces", type=int, default=4)
    parser.add_argument("--agencies", type=int, default=50, help="agencies per province")
    parser.add_argument(
        "--handed-over",
        type=float,
        default=0.05,
        help="share of the dossiers in progress or finished with a step handed over",
    )
    parser.add_argument(
        "--no-events", dest="events", action="store_false", help="no dossier_events rows"
    )
    parser.add_argument("--prefix", default="BN", help="province and agency codes start with it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--batch", type=int, default=50_000, help="dossiers per INSERT statement (whole agencies)"
    )
    args = parser.parse_args(argv)

    async def run() -> None:
        if args.create:
            await create_database(args.database_url)
        else:
            await asyncio.to_thread(migrate.upgrade, args.database_url, app_url(args.database_url))
        summary = await generate(
            args.database_url,
            dossiers=args.dossiers,
            provinces=args.provinces,
            agencies=args.agencies,
            events=args.events,
            prefix=args.prefix,
            seed=args.seed,
            batch=args.batch,
            handed_over=args.handed_over,
        )
        agencies = sum(len(p["agencies"]) for p in summary.provinces)
        print(
            f"{summary.dossiers:,} dossiers, {summary.events:,} events, "
            f"{len(summary.provinces)} provinces, "
            f"{agencies} agencies, {len(summary.procedures)} procedures in {summary.seconds:.1f} s "
            f"({summary.dossiers / summary.seconds:,.0f} dossiers/s)"
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()
