"""Limits every schema carries: depth, tokens, aliases (through fragments too), duplicated
fields, directives and a cost budget counting requested objects; bounded parser and
validation caches. Strawberry's extensions where they fit, our own validation rules where not.

Every rule works in time linear in the query's text: a fragment's result (depth, aliases,
response keys, cost) is computed once and applied per spread, each rule's visits are counted
(`work`) against a cap derived from the document's size, and a rule stops at the first excess.
Strawberry's depth and alias validators re-walk a fragment per spread (exponential for
fragments spreading fragments), so ours replace them with the same messages. A `first`/`last`
(or the `ids` of `nodes`) given by a variable is costed with the request's value when the
query runs (`execution_cost_error`): validation, cached per query text, knows no variable
values.

The rule classes are built once per set of limits: the validation caches key on them, and a
class made per request would never hit a cache.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from graphql.validation import ASTValidationRule, MaxIntrospectionDepthRule
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.query_depth_limiter import is_introspection_key

from eiso.graphql.server.errors import (
    INTROSPECTION_TOO_COSTLY,
    QUERY_TOO_COSTLY,
    QUERY_TOO_DEEP,
    TOO_MANY_ALIASES,
    TOO_MANY_DIRECTIVES,
    TOO_MANY_DUPLICATED_FIELDS,
    tag,
    validation_failed,
)
from eiso.graphql.server.errors import error as problem_error
from eiso.graphql.server.inputs import literal_error, variable_arguments, variables_error
from eiso.graphql.server.introspection import META_FIELDS, introspection_cost, standard_cost
from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    specified_rules,
    visit,
)


@dataclasses.dataclass(frozen=True)
class Limits:
    max_depth: int = 12
    max_tokens: int = 2000
    max_aliases: int = 30
    max_duplicated_fields: int = 10
    max_directives: int = 20
    max_cost: int = 5000
    # A list field without `first`/`last` counts as this many objects.
    default_list_size: int = 10
    # Introspection (graphql/server/introspection.py): at most this many times the fields of
    # the standard introspection query's answer, and no deeper than it (its `ofType` chain).
    introspection_copies: int = 2
    max_introspection_depth: int = 13
    cache_size: int = 256


# Nodes each rule visited, summed over runs: what the tests read to bound the work (a rule
# visits each selection of the document a bounded number of times, however fragments spread).
work: Counter[str] = Counter()


class _TooMuchWork(Exception):
    """A rule visited more nodes than the document's size allows: it stops with its error."""


class _Walk:
    """Visits counted against a cap derived from the document's size: every rule below
    computes a fragment's result once (memoised per selection set) and applies it per spread,
    so a rule's visits stay linear in the document; the cap is the guard if that breaks."""

    def __init__(self, rule: str, document: DocumentNode) -> None:
        self.rule, self.visits = rule, 0
        self.cap = 8 * _size(document) + 64

    def visit(self, count: int = 1) -> None:
        self.visits += count
        work[self.rule] += count
        if self.visits > self.cap:
            raise _TooMuchWork


def _size(document: DocumentNode) -> int:
    """The number of selections in a document (each counted once, not per spread)."""
    total, stack = 0, [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        total += len(selection_set.selections)
        stack.extend(
            s.selection_set
            for s in selection_set.selections
            if isinstance(s, (FieldNode, InlineFragmentNode))
        )
    return total


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


# Nesting beyond this is not walked (the depth rule refuses far less; the parser's token cap
# bounds it anyway): no rule recurses deep enough to exhaust Python's stack.
_MAX_NESTING = 200

K = TypeVar("K")
V = TypeVar("V")


def _once(memo: dict[K, V], key: K, cycle: V, compute: Callable[[], V]) -> V:
    """A selection set's result, computed once (a fragment's, however often it is spread):
    while it is being computed, the set reads `cycle`, so a fragment cycle counts nothing
    (another rule refuses it)."""
    if key not in memo:
        memo[key] = cycle
        memo[key] = compute()
    return memo[key]


def depth_rule(limit: int, introspection_limit: int) -> type[ValidationRule]:
    """Strawberry's depth limiter (same message; introspection fields are not counted) with
    each fragment's depth computed once: Strawberry's re-walks a fragment per spread. Below
    `__schema` and `__type` the depth has its own limit: the standard introspection query's
    (its `ofType` chain), so a deeper chain is refused."""
    stop = max(limit, introspection_limit)

    class DepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments, walk = _fragments(document), _Walk("depth", document)
            memo: dict[int, int] = {}
            introspection = -1  # the deepest level below a `__schema`/`__type`

            def height(selection_set: SelectionSetNode | None, nesting: int) -> int:
                """The deepest field level below a set (its own fields at 0; -1 if none)."""
                if selection_set is None:
                    return -1
                if nesting > _MAX_NESTING and id(selection_set) not in memo:
                    return stop + 1
                return _once(memo, id(selection_set), -1, lambda: deepest(selection_set, nesting))

            def deepest(selection_set: SelectionSetNode, nesting: int) -> int:
                nonlocal introspection
                best = -1
                for selection in selection_set.selections:
                    walk.visit()
                    if isinstance(selection, FieldNode):
                        below = -1
                        name = selection.name.value
                        if selection.selection_set and name in META_FIELDS:
                            inner = height(selection.selection_set, nesting + 1)
                            introspection = max(introspection, inner)
                        elif selection.selection_set and not is_introspection_key(name):
                            below = height(selection.selection_set, nesting + 1)
                        best = max(best, 0, below + 1)
                    elif isinstance(selection, InlineFragmentNode):
                        best = max(best, height(selection.selection_set, nesting + 1))
                    elif isinstance(selection, FragmentSpreadNode):
                        fragment = fragments.get(selection.name.value)
                        if fragment is not None:
                            best = max(best, height(fragment.selection_set, nesting + 1))
                    if best > stop:
                        break
                return best

            for operation in _operations(document):
                name = operation.name.value if operation.name else "anonymous"
                introspection = -1
                try:
                    exceeded = height(operation.selection_set, 0) > limit
                except _TooMuchWork:
                    exceeded = True
                if exceeded:
                    context.report_error(
                        problem_error(
                            QUERY_TOO_DEEP,
                            f"'{name}' exceeds maximum operation depth of {limit}",
                            [operation],
                            limit=limit,
                        )
                    )
                elif introspection > introspection_limit:
                    context.report_error(
                        problem_error(
                            QUERY_TOO_DEEP,
                            f"'{name}' exceeds maximum introspection depth of "
                            f"{introspection_limit}",
                            [operation],
                            limit=introspection_limit,
                        )
                    )

    return DepthRule


def aliases_rule(limit: int) -> type[ValidationRule]:
    """Strawberry's alias limit (same message): aliases counted through fragments, each spread
    counting its fragment's aliases again, each fragment's count computed once."""

    class AliasesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments, walk = _fragments(document), _Walk("aliases", document)
            memo: dict[int, int] = {}

            def aliases(selection_set: SelectionSetNode | None, nesting: int) -> int:
                if selection_set is None or nesting > _MAX_NESTING:
                    return 0
                return _once(memo, id(selection_set), 0, lambda: count(selection_set, nesting))

            def count(selection_set: SelectionSetNode, nesting: int) -> int:
                total = 0
                for selection in selection_set.selections:
                    walk.visit()
                    if isinstance(selection, FieldNode):
                        total += (selection.alias is not None) + aliases(
                            selection.selection_set, nesting + 1
                        )
                    elif isinstance(selection, InlineFragmentNode):
                        total += aliases(selection.selection_set, nesting + 1)
                    elif isinstance(selection, FragmentSpreadNode):
                        fragment = fragments.get(selection.name.value)
                        if fragment is not None:
                            total += aliases(fragment.selection_set, nesting + 1)
                return total

            try:
                total = sum(aliases(o.selection_set, 0) for o in _operations(document))
            except _TooMuchWork:
                total = sum(memo.values())
            if total > limit:
                context.report_error(
                    problem_error(
                        TOO_MANY_ALIASES, f"{total} aliases found. Allowed: {limit}", limit=limit
                    )
                )

    return AliasesRule


def duplicated_fields_rule(limit: int) -> type[ValidationRule]:
    """The same response key many times in one selection set (graphql-cop's field duplication:
    500 `__typename`s pass a token cap, so they are counted on their own). Fragments and
    inline fragments count into the set that spreads them, each fragment's keys counted once."""

    class DuplicatedFieldsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments, walk = _fragments(document), _Walk("duplicated_fields", document)
            memo: dict[int, Counter[str]] = {}

            def keys(selection_set: SelectionSetNode | None, nesting: int) -> Counter[str]:
                """Response keys of a set with its fragments flattened, counts capped."""
                if selection_set is None or nesting > _MAX_NESTING:
                    return Counter()
                return _once(
                    memo, id(selection_set), Counter(), lambda: flat(selection_set, nesting)
                )

            def flat(selection_set: SelectionSetNode, nesting: int) -> Counter[str]:
                counts: Counter[str] = Counter()
                for selection in selection_set.selections:
                    walk.visit()
                    if isinstance(selection, FieldNode):
                        counts[(selection.alias or selection.name).value] += 1
                        continue
                    if isinstance(selection, InlineFragmentNode):
                        inner = keys(selection.selection_set, nesting + 1)
                    elif isinstance(selection, FragmentSpreadNode):
                        fragment = fragments.get(selection.name.value)
                        if fragment is None:
                            continue
                        inner = keys(fragment.selection_set, nesting + 1)
                    else:
                        continue
                    walk.visit(len(inner))
                    for name, count in inner.items():
                        counts[name] = min(counts[name] + count, limit + 2)
                return counts

            def field_sets(selection_set: SelectionSetNode) -> Iterator[SelectionSetNode]:
                """Every selection set of a field below a set, each visited once."""
                seen: set[int] = set()
                stack = [selection_set]
                while stack:
                    current = stack.pop()
                    if id(current) in seen:
                        continue
                    seen.add(id(current))
                    for selection in current.selections:
                        walk.visit()
                        if isinstance(selection, FieldNode) and selection.selection_set:
                            yield selection.selection_set
                            stack.append(selection.selection_set)
                        elif isinstance(selection, InlineFragmentNode):
                            stack.append(selection.selection_set)
                        elif isinstance(selection, FragmentSpreadNode):
                            fragment = fragments.get(selection.name.value)
                            if fragment is not None:
                                stack.append(fragment.selection_set)

            worst = 0
            try:
                for operation in _operations(document):
                    for selection_set in (
                        operation.selection_set,
                        *field_sets(operation.selection_set),
                    ):
                        counts = keys(selection_set, 0)
                        worst = max(worst, max(counts.values(), default=0) - 1)
                        if worst > limit:
                            break
                    if worst > limit:
                        break
            except _TooMuchWork:
                worst = max(worst, limit + 1)
            if worst > limit:
                context.report_error(
                    problem_error(
                        TOO_MANY_DUPLICATED_FIELDS,
                        f"{worst} duplicated fields in one selection. Allowed: {limit}",
                        limit=limit,
                    )
                )

    return DuplicatedFieldsRule


def directives_rule(limit: int) -> type[ValidationRule]:
    """Directive overloading (`__typename @a @a @a ...`) costs validation time per directive."""

    class DirectivesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            count = 0

            class Count(Visitor):
                def enter_directive(self, *_: Any) -> None:
                    nonlocal count
                    count += 1
                    work["directives"] += 1

            visit(context.document, Count())
            if count > limit:
                context.report_error(
                    problem_error(
                        TOO_MANY_DIRECTIVES,
                        f"{count} directives found. Allowed: {limit}",
                        limit=limit,
                    )
                )

    return DirectivesRule


class IntrospectionDepthRule(MaxIntrospectionDepthRule):
    """graphql-core's guard against `fields { type { fields ...` chains (among the specified
    rules), its refusal given our depth code."""

    def report_error(self, error: GraphQLError) -> None:
        super().report_error(tag(error, QUERY_TOO_DEEP, limit="introspection"))


def graphql_rules() -> tuple[type[ASTValidationRule], ...]:
    """graphql-core's specified rules, with `IntrospectionDepthRule` for its own."""
    return tuple(
        IntrospectionDepthRule if rule is MaxIntrospectionDepthRule else rule
        for rule in specified_rules
    )


def _is_list(type_: GraphQLOutputType | None) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


# Arguments that say how many objects a field answers: a page size, or the list of ids of
# `nodes(ids:)` (its length).
PAGE_ARGUMENTS = ("first", "last", "ids")


def _is_int(value: Any) -> bool:
    """A GraphQL `Int` (32 bits): a larger number is refused as a literal (validation) or a
    variable (VARIABLE_INVALID), not costed: its error says what is wrong."""
    return isinstance(value, int) and -(2**31) <= value < 2**31


def pages_by_variable(document: DocumentNode) -> bool:
    """Whether a `first`/`last`/`ids` of the document is given by a variable."""
    found = False

    class Find(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> Any:
            nonlocal found
            if node.name.value in PAGE_ARGUMENTS and isinstance(node.value, VariableNode):
                found = True
                return BREAK
            return None

    visit(document, Find())
    return found


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    limit: int,
    default_list_size: int,
    variables: dict[str, Any] | None,
) -> int:
    """Objects an operation requests: each field with a selection is one object per parent
    object; a list of it (a field with `first`/`last`, or of a list type) multiplies what is
    below it by its page size. A `first`/`last` given by a variable counts its value from
    `variables`, else the variable's default, else the argument's default, else
    `default_list_size` (with `variables=None`, as validation knows none: the variable's
    default or 1, the least it can be; execution costs it again with the values). Each
    selection set's cost is computed once per type, its multiplier applied per use; the
    count stops a little past `limit` (the number it reports may be a lower bound)."""
    fragments, walk = _fragments(document), _Walk("cost", document)
    defaults = {
        d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
    }
    memo: dict[tuple[int, str], int] = {}

    def page_size(field: FieldNode, definition: GraphQLField | None, fallback: int) -> int:
        for argument in field.arguments or ():
            if argument.name.value not in PAGE_ARGUMENTS:
                continue
            value: ValueNode | None = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                if variables is not None and variables.get(name) is not None:
                    given = variables[name]
                    if isinstance(given, list):  # ids: as many objects
                        given = len(given)
                    if isinstance(given, float) and given.is_integer():
                        given = int(given)  # graphql-core takes 100.0 for an Int
                    return max(given, 0) if _is_int(given) else fallback
                value = defaults.get(name)
                if value is None:
                    if variables is None:
                        return 1
                    arg = definition.args.get(argument.name.value) if definition else None
                    default = getattr(arg, "default_value", None)
                    return max(default, 0) if isinstance(default, int) else default_list_size
            if isinstance(value, IntValueNode) and _is_int(int(value.value)):
                return max(int(value.value), 0)
            if isinstance(value, ListValueNode):
                return len(value.values)
        return fallback

    def type_of(name: str | None, fallback: GraphQLNamedType | None) -> GraphQLNamedType | None:
        return schema.get_type(name) if name else fallback

    def cost(
        selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None, nesting: int
    ) -> int:
        """The cost of one copy of a set (one parent object)."""
        if selection_set is None or nesting > _MAX_NESTING:
            return 0
        key = (id(selection_set), parent.name if parent else "")
        return _once(memo, key, 0, lambda: count(selection_set, parent, nesting))

    def count(
        selection_set: SelectionSetNode, parent: GraphQLNamedType | None, nesting: int
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            walk.visit()
            if isinstance(selection, FieldNode):
                if not selection.selection_set:
                    continue
                name = selection.name.value
                if name in META_FIELDS:
                    continue  # introspection has its own budget (`introspection_rule`)
                definition = getattr(parent, "fields", {}).get(name)
                field_type = definition.type if definition else None
                size = max(
                    page_size(
                        selection, definition, default_list_size if _is_list(field_type) else 1
                    ),
                    1,
                )
                total += size
                if total <= limit:
                    child = get_named_type(field_type) if field_type else None
                    total += size * cost(selection.selection_set, child, nesting + 1)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total += cost(
                    selection.selection_set,
                    type_of(condition.name.value if condition else None, parent),
                    nesting + 1,
                )
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    total += cost(
                        fragment.selection_set,
                        type_of(fragment.type_condition.name.value, parent),
                        nesting + 1,
                    )
            if total > limit:
                break
        return total

    try:
        return cost(operation.selection_set, schema.get_root_type(operation.operation), 0)
    except _TooMuchWork:
        return limit + 1


def _too_costly(spent: int, limit: int) -> GraphQLError:
    return problem_error(
        QUERY_TOO_COSTLY, f"query cost {spent} exceeds the budget of {limit} objects", limit=limit
    )


def cost_rule(limit: int, default_list_size: int) -> type[ValidationRule]:
    """A budget of requested objects (`query_cost`). A `first`/`last` given by a variable is
    costed here at its least; `execution_cost_error` costs it with the request's values."""

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for operation in _operations(context.document):
                spent = query_cost(
                    context.schema, context.document, operation, limit, default_list_size, None
                )
                if spent > limit:
                    context.report_error(_too_costly(spent, limit))

    return CostRule


def introspection_rule(copies: int) -> type[ValidationRule]:
    """Introspection costed by the fields its answer holds, against `copies` times the
    standard introspection query's answer on the same schema (graphql/server/introspection.py)."""

    class IntrospectionRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            budget = copies * standard_cost(context.schema)
            for operation in _operations(context.document):
                spent = introspection_cost(
                    context.schema, context.document, operation, budget, None
                )
                if spent > budget:
                    context.report_error(
                        problem_error(
                            INTROSPECTION_TOO_COSTLY,
                            f"introspection answering {spent} fields exceeds the budget of "
                            f"{budget} ({copies} times the standard introspection query)",
                            limit=budget,
                        )
                    )

    return IntrospectionRule


def execution_cost_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    limits: Limits,
) -> GraphQLError | None:
    """The cost budget again for a valid document whose `first`/`last` is given by a variable,
    with the request's variable values (validation, cached per query text, knows none).
    For documents where `pages_by_variable` holds (the caller caches it per query text)."""
    operations = _operations(document)
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    if len(chosen) != 1 and operation_name is None:
        return None  # graphql-core refuses the ambiguous document itself
    for operation in chosen[:1]:
        spent = query_cost(
            schema,
            document,
            operation,
            limits.max_cost,
            limits.default_list_size,
            variables or {},
        )
        if spent > limits.max_cost:
            return _too_costly(spent, limits.max_cost)
    return None


DEFAULT_LIMITS = Limits()


@functools.lru_cache(maxsize=16)
def limit_rules(limits: Limits = DEFAULT_LIMITS) -> tuple[type[ValidationRule], ...]:
    """Our validation rules for `limits`, built once per set of limits (the caches key on them)."""
    return (
        depth_rule(limits.max_depth, limits.max_introspection_depth),
        aliases_rule(limits.max_aliases),
        duplicated_fields_rule(limits.max_duplicated_fields),
        directives_rule(limits.max_directives),
        cost_rule(limits.max_cost, limits.default_list_size),
        introspection_rule(limits.introspection_copies),
    )


class HygieneFactory:
    """Makes each request's `Hygiene` (a Strawberry extension factory). It carries `limits`:
    what graphql/server/execution.py reads to apply them itself."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.rules = limits, limit_rules(limits)

    def __call__(self) -> Hygiene:
        return Hygiene(self.limits, self.rules)


def schema_extensions(limits: Limits = DEFAULT_LIMITS) -> list[Callable[[], SchemaExtension]]:
    """The limits as a Strawberry extension: what `strawberry.Schema.execute` and `subscribe`
    run. eiso's schemas (graphql/server/execution.py) apply the same rules to queries and
    mutations without the extension machinery."""
    return [HygieneFactory(limits)]


class Hygiene(ParserCache, ValidationCache):
    """Strawberry's MaxTokensLimiter + AddValidationRules + ParserCache + ValidationCache as
    one extension: each extension costs every request a hook lookup per lifecycle step."""

    def __init__(self, limits: Limits, rules: Sequence[type[ValidationRule]]) -> None:
        ParserCache.__init__(self, maxsize=limits.cache_size)
        ValidationCache.__init__(self, maxsize=limits.cache_size)
        self.limits, self.max_tokens, self.rules = limits, limits.max_tokens, tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens  # as MaxTokensLimiter
        context.validation_rules = context.validation_rules + self.rules  # as AddValidationRules
        yield

    def on_validate(self) -> Iterator[None]:
        """ValidationCache's, then the cost budget with the request's variable values when a
        `first`/`last` is given by a variable (the cache knows none)."""
        context = self.execution_context
        document = context.graphql_document
        errors = validation_failed(
            self.cached_validate_document(
                context.schema._schema, document, context.validation_rules
            )
        )
        if not errors and document is not None and pages_by_variable(document):
            error = execution_cost_error(
                context.schema._schema,
                document,
                context.operation_name,
                context.variables,
                self.limits,
            )
            if error is not None:
                errors = [error]  # a new list: the cached one stays as it was
        if not errors and document is not None:  # as graphql/server/execution.py
            bad = literal_error(document) or variables_error(
                context.variables, variable_arguments(document)
            )
            errors = [bad] if bad is not None else errors
        context.pre_execution_errors = errors
        yield
