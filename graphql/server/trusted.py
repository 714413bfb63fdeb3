"""Trusted documents at request time: which text an operation runs, found by its hash.

A request names a registered document in one of two ways (docs/graphql.md):
- Apollo's persisted-query extension, `"extensions": {"persistedQuery": {"version": 1,
  "sha256Hash": "<hex>"}}`, over POST and GET;
- a `documentId` beside `query` (GraphQL-over-HTTP persisted documents), `"sha256:<hex>"` or
  the bare hex.
With a hash and no text, the registered text runs; with both, they must agree. With
`EISO_GRAPHQL_TRUSTED_ONLY`, an operation runs only if it is registered (a registered text
sent in full counts, so tools that send the text keep working once it is registered).

Texts are cached in the worker (a found text for a minute, an unknown hash for a few
seconds, so a flood of unknown hashes costs one query per hash and period); a document
registered or removed through this worker is seen at once, through another within that time.
While the database cannot be read, what the worker knew keeps serving. Redis is not used: a
lookup is one primary-key read, and the worker's cache answers nearly every request.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import strawberry
from prometheus_client import Counter
from sqlalchemy.exc import SQLAlchemyError

from eiso.core import trusted_documents as store
from eiso.core.resources import Resources
from eiso.core.trusted_documents import NewDocument, document_id, parse_id
from eiso.graphql.server import errors
from eiso.tenants.scope import TenantScope
from graphql import (
    ASTValidationRule,
    ExecutableDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)

log = logging.getLogger("eiso.graphql")
FOUND_FOR = 60.0  # seconds a registered text stays cached
UNKNOWN_FOR = 5.0  # seconds an unknown hash stays cached
CACHE_SIZE = 10_000

LOOKUPS = Counter(
    "eiso_graphql_trusted_documents",
    "Operations named by a trusted document hash (hit, miss) and operations refused because "
    "they are not registered (refused)",
    ["outcome"],
)
_HIT, _MISS, _REFUSED = (LOOKUPS.labels(outcome) for outcome in ("hit", "miss", "refused"))


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why a request runs no operation: an HTTP status and a GraphQL error."""

    status: int
    code: str
    message: str
    message_vi: str

    @property
    def body(self) -> dict[str, Any]:
        extensions = {"code": self.code, "message_vi": self.message_vi}
        return {"errors": [{"message": self.message, "extensions": extensions}]}


def _refusal(problem: errors.Problem, message: str) -> Refusal:
    return Refusal(problem.status, problem.code, message, problem.message_vi)


NOT_FOUND = _refusal(
    errors.PERSISTED_QUERY_NOT_FOUND,
    "PersistedQueryNotFound",  # Apollo's clients look for this message
)
MISMATCH = _refusal(
    errors.PERSISTED_QUERY_HASH_MISMATCH,
    "The sha256 hash given does not match the query text sent with it",
)
BAD_HASH = _refusal(
    errors.BAD_DOCUMENT_ID,
    'A document is named by its sha256: "sha256:<64 hex digits>" (documentId) or '
    'persistedQuery {"version": 1, "sha256Hash": "<64 hex digits>"}',
)
ONLY_TRUSTED = _refusal(
    errors.TRUSTED_DOCUMENT_REQUIRED,
    "This server runs only registered (trusted) documents: register the operation "
    "(eiso graphql documents add) and send its hash",
)


class TrustedDocuments:
    """One per app: the worker's cache of registered texts and the trusted-only switch."""

    def __init__(self, *, only: bool) -> None:
        self.only = only
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def operation(
        self, resources: Resources, query: object, extensions: object, document: object
    ) -> object:
        """The text to run (as sent when it is not a str: the caller words that error), or a
        `Refusal`. `query`, `extensions`, `document`: the request's fields of those names."""
        named = _named_id(extensions, document)
        if named is None:  # no hash: the text as sent
            if not self.only or not isinstance(query, str):
                return query
            return query if await self._registered(resources, document_id(query)) else _refused()
        if isinstance(named, Refusal):
            return named
        if isinstance(query, str) and query:
            if document_id(query) != named:
                return MISMATCH
            if self.only and not await self._registered(resources, named):
                return _refused()
            return query
        cached = self._cache.get(named)  # the common case, without a coroutine more
        body = (
            cached[0]
            if cached is not None and cached[1] > time.monotonic()
            else await self.body(resources, named)
        )
        if body is None:
            _MISS.inc()
            return NOT_FOUND
        _HIT.inc()
        return body

    async def body(self, resources: Resources, id: str) -> str | None:
        cached = self._cache.get(id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            async with resources.session(TenantScope.nation()) as session:
                body = await store.body_of(session, id)
        except (SQLAlchemyError, OSError) as error:
            if cached is None:
                raise
            # The database is down: what this worker knew still serves (degraded, not out).
            log.warning("trusted document read from a stale cache", extra={"error": str(error)})
            return cached[0]
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[id] = (body, now + (FOUND_FOR if body is not None else UNKNOWN_FOR))
        return body

    async def _registered(self, resources: Resources, id: str) -> bool:
        return await self.body(resources, id) is not None

    def forget(self, ids: Sequence[str]) -> None:
        """Registered or removed here: drop what the cache says of them."""
        for id in ids:
            self._cache.pop(id, None)


def _refused() -> Refusal:
    _REFUSED.inc()
    return ONLY_TRUSTED


def _named_id(extensions: object, document: object) -> str | Refusal | None:
    """The hex id a request names (`documentId` first, then Apollo's extension), a Refusal
    when it names one badly, None when it names none."""
    if document is not None:
        found = parse_id(document) if isinstance(document, str) else None
        return BAD_HASH if found is None else found
    persisted = extensions.get("persistedQuery") if isinstance(extensions, Mapping) else None
    if persisted is None:
        return None
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        return BAD_HASH
    sha = persisted.get("sha256Hash")
    found = parse_id(sha) if isinstance(sha, str) else None
    return BAD_HASH if found is None else found


# --- registration --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """A document that cannot be registered: which one (its name), the line, what is wrong."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


def check_documents(
    schema: strawberry.Schema, sources: Sequence[tuple[str, str]]
) -> tuple[list[NewDocument], list[Problem]]:
    """Parse and validate each (name, text) against `schema` with the rules every request
    meets (graphql-core's and eiso's limits, graphql/server/execution.py): the documents, and
    every problem found (the caller stores nothing when there is one)."""
    rules = getattr(schema, "rules", specified_rules)
    documents, problems = [], []
    for name, text in sources:
        found = _check(schema._schema, rules, name, text)
        if isinstance(found, NewDocument):
            documents.append(found)
        else:
            problems.extend(found)
    return documents, problems


def _check(
    schema: GraphQLSchema, rules: Sequence[type[ASTValidationRule]], name: str, text: str
) -> NewDocument | list[Problem]:
    try:
        parsed = parse(text)
    except GraphQLError as error:
        return [_problem(name, error)]
    others = [d for d in parsed.definitions if not isinstance(d, ExecutableDefinitionNode)]
    if others:
        line = (
            others[0].loc.source.get_location(others[0].loc.start).line if others[0].loc else None
        )
        return [Problem(name, line, "only operations and fragments can be registered")]
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if not operations:
        return [Problem(name, None, "no operation in the document")]
    errors = validate(schema, parsed, rules)
    if errors:
        return [_problem(name, error) for error in errors]
    names = tuple(op.name.value if op.name else "(anonymous)" for op in operations)
    return NewDocument(text, names)


def _problem(name: str, error: GraphQLError) -> Problem:
    line = error.locations[0].line if error.locations else None
    return Problem(name, line, error.message)
