"""The schema class eiso serves: Strawberry's, with a lean path for queries and mutations.

Strawberry's `Schema.execute` builds its extension machinery for every request (four context
managers, each looking up hooks by introspection) and its parser and validation caches key
on the document, which hashes the whole syntax tree again each time. For `{ __typename }`
that was most of the time spent in eiso. `EisoSchema.execute` keeps what those steps do and
drops what they cost:

- one bounded LRU per schema maps the query text to its parsed document and validation
  errors (the token cap, graphql-core's rules, Strawberry's own rules and ours in
  graphql/server/limits.py, and the literal arguments' hygiene of graphql/server/inputs.py),
  so a repeated query is a dict lookup;
- the variable values pass the same hygiene before anything runs;
- the operation type is checked against what the transport allows (no mutation over GET)
  before validation errors are reported, as Strawberry does;
- graphql-core executes with Strawberry's execution context (field extensions, `info`,
  permissions and the module gate all run as before), plain leaf fields read in place
  (graphql/server/executor.py);
- errors go through Strawberry's error processing (field suggestions removed, logged).

A schema given any other schema extension or directive falls back to Strawberry's path;
subscriptions always take it (they are long-lived, their set-up cost does not matter).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from inspect import isawaitable
from typing import Any, NamedTuple, TypeGuard, cast

import orjson
import strawberry
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, validate_document
from strawberry.types import ExecutionContext as StrawberryContext
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from eiso.core.errors import DomainError
from eiso.core.resources import reads_only
from eiso.graphql.server import arguments
from eiso.graphql.server.errors import parse_failed, validation_failed
from eiso.graphql.server.executor import EisoExecutionContext
from eiso.graphql.server.inputs import literal_error, variable_arguments, variables_error
from eiso.graphql.server.introspection import is_introspection_only
from eiso.graphql.server.limits import (
    HygieneFactory,
    Limits,
    execution_cost_error,
    graphql_rules,
    limit_rules,
    pages_by_variable,
    schema_extensions,
)
from graphql import DocumentNode, GraphQLError, execute, parse

# Strawberry annotates its check `-> bool`; graphql-core asks for the TypeGuard that it is.
_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


class Prepared(NamedTuple):
    document: DocumentNode | None  # None: a parse error
    errors: list[GraphQLError]
    pages_by_variable: bool = False  # a `first`/`last` given by a variable
    introspection_only: bool = False  # an answer that depends on the schema alone
    variable_arguments: dict[str, str] | None = None  # variable -> the argument it is


class Answers:
    """A small LRU of introspection answers (`clear()` empties it: the cold benchmark)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize, self._items = maxsize, OrderedDict[Hashable, ExecutionResult]()

    def get(self, key: Hashable) -> ExecutionResult | None:
        answer = self._items.get(key)
        if answer is not None:
            self._items.move_to_end(key)
        return answer

    def put(self, key: Hashable, answer: ExecutionResult) -> None:
        self._items[key] = answer
        if len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def _answer_key(
    query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> Hashable:
    return query, operation_name, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)


def _clients(error: GraphQLError) -> bool:
    """A parse, validation or request error (no exception behind it, or graphql-core's own,
    e.g. a variable's value not coerced) or a DomainError: the answer tells the client; the
    operator has nothing to do."""
    original = error.original_error
    return original is None or isinstance(original, DomainError | GraphQLError)


class EisoSchema(strawberry.Schema):
    def __init__(self, query: type, *, limits: Limits, **kwargs: Any) -> None:
        kwargs.setdefault("execution_context_class", EisoExecutionContext)
        arguments.install()  # each field's arguments converted by a plan made once
        super().__init__(query, extensions=schema_extensions(limits), **kwargs)
        self.limits = limits
        self.rules = (*graphql_rules(), *limit_rules(limits))
        # Bound to this schema: validation depends on it. Bounded: query texts come from
        # anyone (the limits cap what one entry costs).
        self.prepared = functools.lru_cache(maxsize=limits.cache_size)(self._prepare)
        # Introspection answers depend on the schema alone: one schema per set of modules,
        # so each province's callers get their own schema's answer.
        self.introspection_answers = Answers(maxsize=16)
        self.lean = not self.directives and all(
            isinstance(factory, HygieneFactory) for factory in self.extensions
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: StrawberryContext | None = None
    ) -> None:
        """Strawberry logs every error at ERROR with its traceback, a client's mistakes too
        (under fuzzing, a traceback for each refused request buried the real bugs):
        only errors that are not the client's are passed on (`format_error` logs them too)."""
        unexpected = [e for e in errors if not _clients(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)

    def _prepare(self, query: str) -> Prepared:
        """A query text parsed and validated (cached), its errors tagged with their codes."""
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            return Prepared(None, [parse_failed(error, self.limits.max_tokens)])
        except Exception as error:  # noqa: BLE001 - as Strawberry: any parser failure is an error
            failed = GraphQLError(str(error), original_error=error)
            return Prepared(None, [parse_failed(failed, self.limits.max_tokens)])
        errors = validation_failed(validate_document(self._schema, document, self.rules))
        if not errors:
            bad = literal_error(document)
            errors = [bad] if bad is not None else []
        if errors:
            return Prepared(document, errors)
        return Prepared(
            document,
            errors,
            pages_by_variable=pages_by_variable(document),
            introspection_only=is_introspection_only(document),
            variable_arguments=variable_arguments(document),
        )

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        if not self.lean:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        if not query:
            raise MissingQueryError
        prepared = self.prepared(query)
        document, errors = prepared.document, prepared.errors
        kind = None
        if document is not None:
            kind = self._check_operation(document, operation_name, allowed_operation_types)
        if errors or document is None:  # no document: a parse error
            return self._failed(errors)
        bad = variables_error(variable_values, prepared.variable_arguments or {})
        if bad is not None:
            return self._failed([bad])
        if prepared.introspection_only:
            key = _answer_key(query, operation_name, variable_values)
            answer = self.introspection_answers.get(key)
            if answer is None:
                answer = await self._run(
                    document, variable_values, context_value, root_value, operation_name, None
                )
                if not answer.errors:
                    self.introspection_answers.put(key, answer)
            return answer
        if prepared.pages_by_variable:  # the cost budget with this request's values
            error = execution_cost_error(
                self._schema, document, operation_name, variable_values, self.limits
            )
            if error is not None:
                return self._failed([error])
        # A query's sessions only read: one round trip each on PostgreSQL (core/resources.py).
        reading = reads_only.set(kind is OperationType.QUERY)
        try:
            return await self._run(
                document,
                variable_values,
                context_value,
                root_value,
                operation_name,
                operation_extensions,
            )
        finally:
            reads_only.reset(reading)

    async def _run(
        self,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any | None,
        root_value: Any | None,
        operation_name: str | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        try:
            result = execute(
                self._schema,
                document,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                executor_class=self.execution_context_class,
                is_awaitable=_IS_AWAITABLE,
                operation_extensions=operation_extensions,
            )
            if isawaitable(result):
                result = await result
        except Exception as error:  # noqa: BLE001 - as Strawberry: reported, not raised
            return self._failed(
                [
                    error
                    if isinstance(error, GraphQLError)
                    else GraphQLError(str(error), original_error=error)
                ]
            )
        if result.errors:
            self._process_errors(result.errors)
        return ExecutionResult(data=result.data, errors=result.errors)

    @staticmethod
    def _check_operation(
        document: DocumentNode,
        operation_name: str | None,
        allowed: Iterable[OperationType] | None,
    ) -> OperationType:
        try:
            operation_type = get_operation_type(document, operation_name)
        except RuntimeError as error:
            raise CannotGetOperationTypeError(operation_name) from error
        if operation_type not in (
            allowed if allowed is not None else DEFAULT_ALLOWED_OPERATION_TYPES
        ):
            raise InvalidOperationTypeError(operation_type)
        return operation_type

    def _failed(self, errors: list[GraphQLError]) -> ExecutionResult:
        self._process_errors(errors)
        return ExecutionResult(data=None, errors=errors)
