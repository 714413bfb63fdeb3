"""The web room's GraphQL documents: one operation per file in web/operations/, named by the
file (`Lookup.graphql` holds `query Lookup`). They are eiso's first trusted documents: the app
registers them at start-up (client "eiso-web"), so a deployment running only trusted
documents (`EISO_GRAPHQL_TRUSTED_ONLY`) still serves its own pages; tests/web checks each
against the committed SDL."""

from __future__ import annotations

import functools
import logging
import pathlib

import strawberry
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from eiso.core import trusted_documents as store
from eiso.core.resources import Resources
from eiso.graphql.server.trusted import check_documents
from eiso.tenants.scope import TenantScope

FOLDER = pathlib.Path(__file__).parent / "operations"
CLIENT = "eiso-web"
log = logging.getLogger("eiso.web")


@functools.cache
def documents() -> dict[str, str]:
    """Operation name → its file's exact text (what is registered and hashed)."""
    return {
        path.stem: path.read_text(encoding="utf-8") for path in sorted(FOLDER.glob("*.graphql"))
    }


def document(name: str) -> str:
    return documents()[name]


async def register(resources: Resources, schema: strawberry.Schema) -> None:
    """Register the documents (idempotent; every worker does it at start-up). A document the
    schema refuses is logged and nothing is stored; a database that cannot be reached too:
    without the trusted-only switch the pages run as before."""
    found, problems = check_documents(schema, sorted(documents().items()))
    if problems:
        log.error("web operations do not match the schema", extra={"error": str(problems[0])})
        return
    try:
        async with resources.session(TenantScope.nation()) as session, session.begin():
            await store.store(session, found, client=CLIENT, actor="eiso")
    except IntegrityError:
        log.info("web operations registered by another worker starting at the same time")
    except (SQLAlchemyError, OSError) as error:
        log.error("web operations not registered", extra={"error": str(error).splitlines()[0]})
