"""The Starlette app factory: the composition root of the web side. It wires everything, and
only the rest of the composition root uses it: the CLI (`eiso serve` names `eiso.core.app:asgi`)
and the test kit that builds an app (core/plugins/testing.py); tests and bench, outside eiso."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

import eiso.core.qms  # noqa: F401 - the QMS listens to the dossier engine (core/qms/__init__.py)
from eiso.core import audit as _audit  # noqa: F401 - registers the audit tables
from eiso.core.auth import models as _auth_models  # noqa: F401 - registers the auth tables
from eiso.core.auth.authenticator import Authenticator
from eiso.core.auth.keys import ensure_current_key
from eiso.core.auth.service import AuthService
from eiso.core.dossiers import catalogue
from eiso.core.dossiers import models as _dossier_models  # noqa: F401 - registers the dossier tables
from eiso.core.dossiers import slips as _slips  # noqa: F401 - issued at their event
from eiso.core.dossiers.engine import TOPIC as DOSSIER_TOPIC
from eiso.core.dossiers.hooks import HookWorkers
from eiso.core.feedback import models as _feedback_models  # noqa: F401 - registers the tables
from eiso.core.http import downloads, federation_routes, health, metrics, oauth_routes
from eiso.core.http.authentication import jwt_authenticator
from eiso.core.http.edge import EdgeStarlette
from eiso.core.logs import configure_logging
from eiso.core.plugins.activation import ActiveModules, watch_module_changes
from eiso.core.plugins.registry import PluginRegistry
from eiso.core.qms import models as _qms_models  # noqa: F401 - registers the QMS tables
from eiso.core.qms import objectives as _objectives  # noqa: F401 - registers the objectives table
from eiso.core.qms import yearly_reports as _yearly_reports  # noqa: F401 - registers its tables
from eiso.core.resources import Resources
from eiso.core.settings import Settings, SettingsError, get_settings
from eiso.core.workdays import overrides as calendar_overrides  # registers the table too
from eiso.graphql.schema import make_assembler
from eiso.graphql.server.assembly import SchemaClash
from eiso.graphql.server.dispatch import ProvinceGraphQL
from eiso.graphql.server.ide import assets_route as graphiql_assets
from eiso.graphql.server.limits import Limits
from eiso.graphql.server.trusted import TrustedDocuments
from eiso.infra.cancellation import stop_tasks
from eiso.infra.gc_pauses import freeze_startup_objects
from eiso.infra.live_feed import LiveFeed
from eiso.infra.relay import Relay
from eiso.tenants import modules as _modules  # noqa: F401 - registers the module tables
from eiso.tenants import reorganisation as _reorganisation  # noqa: F401 - registers its tables
from eiso.web import documents as web_documents
from eiso.web import routes as web_routes

log = logging.getLogger("eiso.app")


async def _sync_catalogue(resources: Resources, plugins: PluginRegistry) -> None:
    """The procedure catalogue follows the loaded modules. Every worker does it at start-up:
    the sync is idempotent and serialised (catalogue.sync_catalogue). A database that cannot be
    reached is logged, not fatal: /readyz reports it, and the next start-up syncs."""
    try:
        report = await catalogue.sync_registry(resources, plugins)
    except (SQLAlchemyError, OSError) as error:
        log.error("procedure catalogue not synced", extra={"error": str(error).splitlines()[0]})
        return
    for code, kept, ignored in report.duplicates:
        log.warning(
            "two modules offer one procedure code: the first is used",
            extra={"procedure": code, "kept_module": kept, "ignored_module": ignored},
        )
    if report.added or report.updated or report.deactivated:
        log.info(
            "procedure catalogue synced",
            extra={
                "added": len(report.added),
                "updated": len(report.updated),
                "deactivated": len(report.deactivated),
                "unchanged": report.unchanged,
            },
        )


async def _ensure_signing_key(resources: Resources) -> None:
    """The JWKS publishes a key from the first start (keys.ensure_current_key). A database
    that cannot be reached is logged, not fatal: the first token creates the key then."""
    try:
        if await ensure_current_key(resources):
            log.info("first token signing key created")
    except (SQLAlchemyError, OSError) as error:
        log.error("signing key not checked", extra={"error": str(error).splitlines()[0]})


def create_app(
    settings: Settings | None = None,
    resources: Resources | None = None,
    authenticator: Authenticator | None = None,
    plugins: PluginRegistry | None = None,
) -> Starlette:
    """Build the app. Pass `resources` to share an engine and Redis client (tests, benchmarks),
    `plugins` to choose the modules (default: the installed ones `EISO_PLUGINS` allows)."""
    settings = settings or get_settings()
    plugins = plugins if plugins is not None else PluginRegistry.load(settings.plugins)
    assembler = make_assembler(plugins, Limits(max_depth=settings.graphql_max_depth))
    assembler.get(())  # the core schema: a broken core fails here, at start-up
    try:
        assembler.get()  # every loaded module together: a clash is reported at start-up
    except SchemaClash as clash:
        log.error(
            "loaded modules clash; provinces enabling both get MODULE_CONFLICT",
            extra={"error": str(clash)},
        )
    active = ActiveModules(plugins)
    view = ProvinceGraphQL(
        assembler,
        active,
        dev=settings.env == "dev",
        allowed_origins=settings.cors_origins,
        graphiql=settings.graphiql_enabled,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = resources is None
        app.state.resources = resources or Resources.open(settings)
        res = app.state.resources
        await _sync_catalogue(res, plugins)
        relay_task = None
        if settings.relay_enabled:
            relay = Relay(res.sessionmaker, res.redis, res.key)
            relay_task = asyncio.create_task(relay.run(settings.events_relay_interval))
        hooks = HookWorkers(res, plugins, active) if settings.hooks_enabled else None
        if hooks is not None:
            hooks.start()
        # One stream reader per worker for every subscription it serves (started lazily).
        app.state.live_feed = LiveFeed(res.stream_redis, res.key, [DOSSIER_TOPIC])
        app.state.auth = AuthService(app.state.resources)
        await _ensure_signing_key(res)
        await web_documents.register(res, assembler.get(()))
        watch_module_changes(res)
        # Module switches arrive by pub/sub: no Redis round trip per request while it is up.
        listener = asyncio.create_task(active.listen(res))
        # Revoked access tokens arrive the same way (core/auth/revocations.py).
        revoked = asyncio.create_task(app.state.auth.authenticator.watch.listen(res))
        # Calendar changes too (core/workdays/overrides.py): no Redis GET per timed move.
        calendar = asyncio.create_task(calendar_overrides.listen(res))
        # Last: what start-up made lives as long as the worker; the collector stops walking
        # it (full collections were 0.1-0.3 s pauses at 1M dossiers: infra/gc_pauses.py).
        freeze_startup_objects()
        log.info("eiso started", extra={"env": settings.env})
        try:
            yield
        finally:
            await app.state.live_feed.close()
            if hooks is not None:
                await hooks.stop()
            await stop_tasks([listener, revoked, calendar, relay_task, *app.state.jobs])
            if owned:
                await app.state.resources.close()

    routes: list[BaseRoute] = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", metrics.metrics_endpoint),
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        *with_session(settings, [*oauth_routes.routes, *federation_routes.routes]),
        *downloads.routes,
        *with_session(settings, web_routes.page_routes(), cookie="eiso_web", max_age=7200),
        *web_routes.static_routes(),
    ]
    if settings.graphiql_enabled:
        routes.append(graphiql_assets())
    app = EdgeStarlette(
        routes=routes,
        lifespan=lifespan,
        cors=cors_options(settings),
        issuer_from_request=settings.issuer is None,
    )
    app.state.settings = settings
    app.state.jobs = set()  # the app's background jobs (web/console_import.py), stopped at shutdown
    app.state.authenticator = authenticator or jwt_authenticator
    app.state.plugins = plugins
    app.state.schemas = assembler
    app.state.graphql = view  # the web room runs its operations through it (web/run.py)
    app.state.trusted_documents = TrustedDocuments(only=settings.graphql_trusted_only)
    return app


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """CORSMiddleware's options for the configured origins (None: no CORS). The app applies
    them at its edge (core/http/edge.py), with the request id and metrics, in the layer
    Starlette always has; bench/http_bench.py measures it around a trivial route."""
    if not settings.cors_origins:
        return None
    return {
        "allow_origins": settings.cors_origins,
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["authorization", "content-type", "x-request-id"],
        # A browser script reads only the response headers CORS exposes: the request id
        # is what a frontend quotes when it reports a problem.
        "expose_headers": ["x-request-id"],
        "allow_credentials": True,
    }


def with_session(
    settings: Settings, routes: list[Route], cookie: str = "eiso_session", max_age: int = 600
) -> list[Route]:
    """Copies of `routes` behind the signed cookie session. Only the sign-in flows and the
    web room's pages keep state in it (the forms' CSRF tokens, the federation login's state
    and nonce), so `/graphql` and the rest do not parse and re-sign the cookie on every
    request. (What `Route(middleware=...)` does, for routes other modules build.) The pages
    have their own cookie, kept longer: a citizen may take a while over a form."""
    session = Middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie=cookie,
        same_site="lax",
        max_age=max_age,
        https_only=settings.env == "prod",
    )
    wrapped = []
    for route in routes:
        route = copy.copy(route)
        route.app = session.cls(route.app, *session.args, **session.kwargs)
        wrapped.append(route)
    return wrapped


def asgi() -> Starlette:
    """`uvicorn --factory eiso.core.app:asgi`: reads the settings from the environment."""
    try:
        settings = get_settings()
    except SettingsError as error:
        # One clear line naming the variable, not a traceback from inside uvicorn.
        print(f"eiso: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
