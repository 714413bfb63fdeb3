"""`eiso demo` run as an operator runs it, on a fresh database of each backend: every dossier
status in Quảng Ninh, only its two modules in Hưng Yên, a second run changes nothing, the
audit chains verify, and a demo officer logs in and sees the agency's dossiers in GraphQL."""

from __future__ import annotations

import os
import secrets
import subprocess
import urllib.parse

import httpx
import pytest_asyncio
from sqlalchemy import func, select

from eiso.core.audit import AuditEntry
from eiso.core.demo.load import DEMO_PASSWORD, DEMO_WEB_CLIENT, DEMO_WEB_REDIRECTS
from eiso.core.dossiers.models import Dossier, DossierEventRow, ProcedureAdoption, ProcedureRecord
from eiso.core.dossiers.statuses import Status
from eiso.core.feedback.models import Feedback
from eiso.core.feedback.rules import State
from eiso.core.qms import yearly_reports
from eiso.core.qms.conformity import ConformityAnnouncement
from eiso.core.qms.documents import Document
from eiso.core.qms.legal import ProcedureLegalBasis
from eiso.core.qms.nonconformities import Nonconformity
from eiso.core.qms.process_docs import ProcessDocumentSource
from eiso.core.qms.qms_scope import ConformityScope
from eiso.core.resources import Resources
from eiso.core.settings import load_settings
from eiso.infra.clock import aware, utcnow
from eiso.infra.outbox import OutboxEvent
from eiso.tenants.models import Agency, Province
from eiso.tenants.scope import TenantScope
from tests.auth_helpers import authorize_query, login_form, pkce
from tests.conftest import REDIS_URL, create_database
from tests.test_cli import EISO

DEMO_TIMEOUT = 900  # generous: a loaded shared machine is many times slower than an idle one


def eiso(*args: str, env: dict[str, str], timeout: float = 120):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EISO_")} | env
    return subprocess.run(
        [EISO, *args], env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest_asyncio.fixture(scope="module")
async def demo_db(backend, tmp_path_factory):
    """A fresh database (the demo's counts must be its own), and the CLI environment for it."""
    db = await create_database(backend.split("+")[0], tmp_path_factory)
    prefix = f"eiso-test-demo-{secrets.token_hex(4)}:"
    redis_url = "memory://" if backend.endswith("memory") else REDIS_URL
    env = {
        "EISO_DATABASE_URL": db.app_url,
        "EISO_MIGRATION_DATABASE_URL": db.owner_url,
        "EISO_REDIS_URL": redis_url,
        "EISO_REDIS_PREFIX": prefix,
        "EISO_LOG_JSON": "false",
    }
    settings = load_settings(
        env="test",
        database_url=db.app_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        log_json=False,
    )
    resources = Resources.open(settings)
    yield env, resources
    await resources.close()
    await db.drop()


async def snapshot(resources) -> dict[str, int]:
    async with resources.session(TenantScope.nation()) as session:
        return {
            model.__name__: await session.scalar(select(func.count()).select_from(model))
            for model in (
                Dossier,
                DossierEventRow,
                AuditEntry,
                OutboxEvent,
                ProcedureAdoption,
                Agency,
                Feedback,
                Nonconformity,
                ConformityScope,
                ConformityAnnouncement,
                yearly_reports.YearlyReport,
            )
        }


async def statuses(resources, province_code: str) -> dict[Status, int]:
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(Dossier.status, func.count())
            .join(Province, Province.id == Dossier.province_id)
            .where(Province.code == province_code)
            .group_by(Dossier.status)
        )
        return {Status(s): n for s, n in rows}


@pytest_asyncio.fixture(scope="module")
async def demo(demo_db):
    """`eiso demo` twice; the database after each run."""
    env, resources = demo_db
    first = eiso("demo", env=env, timeout=DEMO_TIMEOUT)
    assert first.returncode == 0, first.stderr
    after_first = await snapshot(resources)
    second = eiso("demo", env=env, timeout=DEMO_TIMEOUT)
    assert second.returncode == 0, second.stderr
    return env, resources, first, second, after_first, await snapshot(resources)


async def test_every_status_in_quang_ninh_through_the_engine(demo):
    _, resources, first, *_ = demo
    seen = await statuses(resources, "22")
    assert set(seen) == set(Status), seen
    assert 250 <= sum(seen.values()) + sum((await statuses(resources, "33")).values()) <= 350
    # The summary on stdout: one line per status with the count of each province.
    lines = {line.split(" ")[0]: line for line in first.stdout.splitlines()[1:]}
    assert lines[str(int(Status.returned))].split("\t")[1] == str(seen[Status.returned])
    async with resources.session(TenantScope.nation()) as session:
        actions = {a for (a,) in await session.execute(select(DossierEventRow.action).distinct())}
        assert {
            "apology",
            "supplement_requested",
            "supplement_received",
            "refused",
            "withdrawn",
            "stopped",
            "returned",
            "fee_requested",
            "fee_paid",
            "step_completed",
        } <= actions
        assert await session.scalar(select(func.count()).where(Dossier.was_late.is_(True))) > 0
        assert await session.scalar(select(func.count()).where(Dossier.rating.is_not(None))) > 0
        # Spread over months, timeline dated by the moves themselves.
        first_at, last_at = (
            await session.execute(
                select(func.min(DossierEventRow.at), func.max(DossierEventRow.at))
            )
        ).one()
        assert (last_at - first_at).days > 90
        # The interlinked birth procedure stops before the police's step (another agency).
        steps = {
            s
            for (s,) in await session.execute(
                select(Dossier.current_step).where(Dossier.procedure_code == "LT-KS-TT-BHYT")
            )
        }
        assert steps <= {0}


async def test_the_qms_hears_the_demo(demo):
    """`eiso demo` moves dossiers in a CLI process, where the QMS listens to the engine too: the
    dossiers stopped after acceptance and those apologised for opened their nonconformities,
    and the catalogue sync recorded the procedures' legal bases."""
    _, resources, *_ = demo
    async with resources.session(TenantScope.nation()) as session:
        causes = {
            cause
            for (cause,) in await session.execute(
                select(Nonconformity.cause).where(Nonconformity.source == "dossier").distinct()
            )
        }
        assert {"overdue", "refused_after_acceptance"} <= causes, causes
        assert await session.scalar(select(func.count()).select_from(ProcedureLegalBasis)) > 0
        # Every agency adopted the model QMS; every adoption has its ISO process document.
        policies = select(func.count()).select_from(Document).where(Document.code == "CSCL")
        assert await session.scalar(policies) == await session.scalar(
            select(func.count()).select_from(Agency).where(Agency.status == "active")
        )
        documented = select(func.count()).select_from(ProcessDocumentSource)
        assert await session.scalar(documented) > 0


async def in_quang_ninh(session, model) -> list:
    found = await session.execute(
        select(model)
        .join(Province, Province.id == model.province_id)
        .where(Province.code == "22")
        .order_by(model.id)
    )
    return list(found.scalars())


async def test_the_demo_shows_feedback_yearly_reports_and_conformity(demo):
    """Issue 20's parts the pages show: citizens' feedback (answered and published, rated,
    overdue with its nonconformity), yearly reports in every state of the workflow and the
    province's compiled report, a QMS scope per agency, an announcement, a re-announcement."""
    _, resources, *_ = demo
    async with resources.session(TenantScope.nation()) as session:
        feedback = await in_quang_ninh(session, Feedback)
        states = {State(row.state) for row in feedback}
        assert {State.received, State.answered, State.rated} <= states, states
        assert any(row.published and row.rating == 5 for row in feedback)
        assert any(State(row.state) is State.answered and not row.published for row in feedback)
        now = utcnow()
        overdue = [row for row in feedback if row.state == "received" and aware(row.due_at) < now]
        assert len(overdue) == 1
        nc = await session.scalar(
            select(func.count()).where(
                Nonconformity.source == "feedback", Nonconformity.source_ref == overdue[0].code
            )
        )
        assert nc == 1
        assert not any(row.content.isascii() for row in feedback)  # Vietnamese, with diacritics
        assert await session.scalar(
            select(func.count())
            .select_from(Feedback)
            .join(Province, Province.id == Feedback.province_id)
            .where(Province.code == "33", Feedback.published.is_(True))
        )
        reports = await in_quang_ninh(session, yearly_reports.YearlyReport)
        by_status = {str(getattr(r.status, "value", r.status)) for r in reports}
        assert {"draft", "submitted", "returned", "accepted"} <= by_status, by_status
        returned = next(r for r in reports if r.status == "returned")
        assert returned.history[-1]["comment"].startswith("Đề nghị bổ sung")
        province_id = reports[0].province_id
        compiled = await yearly_reports.compile_province(
            session, TenantScope.nation(), province_id, reports[0].year
        )
        assert [a["agency"] for a in compiled["accepted"]] == ["000.00.22.H49"]
        assert compiled["missing"]
        # A scope for every agency that adopted procedures.
        adopting = select(func.count(ProcedureAdoption.agency_id.distinct()))
        assert await session.scalar(
            select(func.count()).select_from(ConformityScope)
        ) == await session.scalar(adopting)
        announcements = await in_quang_ninh(session, ConformityAnnouncement)
        codes = {
            a.id: a.code
            for a in (
                await session.execute(select(Agency).where(Agency.province_id == province_id))
            ).scalars()
        }
        status = {codes[a.agency_id]: a for a in announcements}
        announced = status["000.00.22.H49"]
        assert announced.status == "announced"
        assert announced.decision_number == "125/QĐ-SXD" and announced.announced_on
        assert announced.dost_notified_at is not None and announced.announced_scope
        again = status["000.31.01.H49"]
        assert again.status == "to_be_reannounced" and again.reannounce_reason


async def test_hung_yen_has_only_its_two_modules(demo):
    _, resources, *_ = demo
    async with resources.session(TenantScope.nation()) as session:
        rows = await session.execute(
            select(ProcedureRecord.module)
            .distinct()
            .join(ProcedureAdoption, ProcedureAdoption.procedure_code == ProcedureRecord.code)
            .join(Province, Province.id == ProcedureAdoption.province_id)
            .where(Province.code == "33")
        )
        assert {m for (m,) in rows} == {"business_registration", "birth_registration"}
        rows = await session.execute(
            select(ProcedureRecord.module)
            .distinct()
            .join(Dossier, Dossier.procedure_code == ProcedureRecord.code)
            .join(Province, Province.id == Dossier.province_id)
            .where(Province.code == "33")
        )
        assert {m for (m,) in rows} == {"business_registration", "birth_registration"}
        # Each demo province has the interlinked partners: commune police and social insurance.
        names = {n for (n,) in await session.execute(select(Agency.name))}
        assert {
            "Công an xã Tiên Yên",
            "Bảo hiểm xã hội cơ sở Tiên Yên",
            "Công an xã Văn Giang",
            "Bảo hiểm xã hội cơ sở Văn Giang",
        } <= names


async def test_second_run_changes_nothing(demo):
    _, _, first, second, after_first, after_second = demo
    assert after_first == after_second
    assert "created 0 dossiers and 0 procedure adoptions and 0 model QMS documents" in second.stderr
    assert first.stdout == second.stdout
    assert first.stderr.splitlines()[-1] == second.stderr.splitlines()[-1]


async def test_audit_verify_passes(demo):
    env, *_ = demo
    result = eiso("audit", "verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stderr + result.stdout


async def demo_officer_token(
    http: httpx.AsyncClient, username: str, scope: str = "dossiers:read"
) -> str:
    """The demo web client's login (authorization code with PKCE), as the frontend does it."""
    verifier, challenge = pkce()
    redirect = DEMO_WEB_REDIRECTS[0]
    page = await http.get(
        "/oauth/authorize?"
        + authorize_query(DEMO_WEB_CLIENT, challenge, scope=scope, redirect=redirect)
    )
    assert page.status_code == 200, page.text
    answer = await http.post(
        "/oauth/authorize", data=login_form(page.text, username, DEMO_PASSWORD)
    )
    assert answer.status_code == 302, answer.text
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))[
        "code"
    ]
    token = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": DEMO_WEB_CLIENT,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


async def test_demo_officer_sees_the_agency_dossiers_in_graphql(demo):
    from eiso.core.app import create_app

    _, resources, *_ = demo
    async with resources.session(TenantScope.nation()) as session:
        mine = await session.scalar(
            select(func.count())
            .select_from(Dossier)
            .join(Agency, Agency.id == Dossier.agency_id)
            .where(Agency.code == "000.31.01.H49")
        )
    app = create_app(resources.settings, resources)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http,
    ):
        token = await demo_officer_token(http, "chuyenvien.halong")
        query = "{ dossiers(first: 100) { totalCount edges { node { code status late } } } }"
        body = (
            await http.post(
                "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
            )
        ).json()
    assert "errors" not in body, body
    page = body["data"]["dossiers"]
    assert page["totalCount"] == mine >= 30
    assert all(e["node"]["code"].startswith("000.31.01.H49-") for e in page["edges"])
    assert len({e["node"]["status"] for e in page["edges"]}) >= 5
