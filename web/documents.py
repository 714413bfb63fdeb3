"""The web room's GraphQL documents: one operation per file in web/operations/, named by the
file (`Lookup.graphql` holds `query Lookup`); the selections several of them share are
fragments of their own in web/operations/fragments/ (`ReviewHeld.graphql` holds `fragment
ReviewHeld`), added after the text of each operation that spreads them. They are eiso's first
trusted documents: the app registers them at start-up (client "eiso-web"), so a deployment
running only trusted documents (`EISO_GRAPHQL_TRUSTED_ONLY`) still serves its own pages;
tests/web checks each against the committed SDL."""

from __future__ import annotations

import functools
import logging
import pathlib
from typing import Any

import strawberry
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from eiso.core import trusted_documents as store
from eiso.core.resources import Resources
from eiso.graphql.server.trusted import check_documents
from eiso.tenants.scope import TenantScope
from graphql import FragmentDefinitionNode, FragmentSpreadNode, Visitor, parse, visit

FOLDER = pathlib.Path(__file__).parent / "operations"
CLIENT = "eiso-web"
log = logging.getLogger("eiso.web")


@functools.cache
def fragments() -> dict[str, str]:
    """Fragment name → its file's text: the selections several operations share
    (`operations/fragments/<Name>.graphql` holds `fragment <Name>`)."""
    return {
        path.stem: path.read_text(encoding="utf-8")
        for path in sorted((FOLDER / "fragments").glob("*.graphql"))
    }


def _with_fragments(text: str) -> str:
    """The operation's text followed by the shared fragments it spreads (and those they
    spread) that it does not define itself, each once."""
    shared = fragments()
    own = {
        each.name.value
        for each in parse(text).definitions
        if isinstance(each, FragmentDefinitionNode)
    }
    added: list[str] = []
    pending = sorted(_spreads(text))
    while pending:
        name = pending.pop(0)
        if name in shared and name not in own and name not in added:
            added.append(name)
            pending += sorted(_spreads(shared[name]))
    return "\n".join([text, *(shared[name] for name in added)])


def _spreads(text: str) -> set[str]:
    names: set[str] = set()

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            names.add(node.name.value)

    visit(parse(text), Spreads())
    return names


@functools.cache
def documents() -> dict[str, str]:
    """Operation name → its text (what is registered and hashed): its file's, followed by the
    shared fragments it uses (operations/fragments/)."""
    return {
        path.stem: _with_fragments(path.read_text(encoding="utf-8"))
        for path in sorted(FOLDER.glob("*.graphql"))
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
