"""Limits every schema carries: depth, tokens, aliases (through fragments too), duplicated
fields, directives and a cost budget counting requested objects; bounded parser and
validation caches. Strawberry's extensions where they fit, our own validation rules where not.

The rule classes are built once per set of limits: the validation caches key on them, and a
class made per request would never hit a cache.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLOutputType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    Visitor,
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
    cache_size: int = 256


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d
        for d in context.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }


def _expanded(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[FieldNode]:
    """The selections of a set with fragment spreads and inline fragments flattened."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _expanded(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen or name not in fragments:
                continue
            yield from _expanded(fragments[name].selection_set, fragments, seen | {name})


def duplicated_fields_rule(limit: int) -> type[ValidationRule]:
    """The same response key many times in one selection set (graphql-cop's field duplication:
    500 `__typename`s pass a token cap, so they are counted on their own)."""

    class DuplicatedFieldsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = _fragments(context)
            worst = 0
            stack = [
                d.selection_set
                for d in context.document.definitions
                if isinstance(d, OperationDefinitionNode)
            ]
            while stack:
                fields = list(_expanded(stack.pop(), fragments))
                keys = Counter((f.alias or f.name).value for f in fields)
                worst = max(worst, max(keys.values(), default=0) - 1)
                stack.extend(f.selection_set for f in fields if f.selection_set)
                if worst > limit:
                    break
            if worst > limit:
                context.report_error(
                    _error(
                        f"{worst} duplicated fields in one selection. Allowed: {limit}",
                        "TOO_MANY_DUPLICATED_FIELDS",
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

            visit(context.document, Count())
            if count > limit:
                context.report_error(
                    _error(f"{count} directives found. Allowed: {limit}", "TOO_MANY_DIRECTIVES")
                )

    return DirectivesRule


def _page_size(field: FieldNode, default: int) -> int:
    for argument in field.arguments or ():
        if argument.name.value in ("first", "last") and isinstance(argument.value, IntValueNode):
            return max(int(argument.value.value), 0)
    return default


def cost_rule(limit: int, default_list_size: int) -> type[ValidationRule]:
    """A budget of requested objects: each field with a selection is one object per parent
    object; a list of it (a field with `first`/`last`, or of a list type) multiplies what is
    below it by its page size (variables and unknown sizes count as `default_list_size`)."""

    from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef

    from graphql import GraphQLList, GraphQLNamedType, GraphQLNonNull, get_named_type

    meta_fields = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}

    def is_list(type_: GraphQLOutputType | None) -> bool:
        while isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        return isinstance(type_, GraphQLList)

    class CostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            schema = context.schema
            fragments = _fragments(context)

            def cost(
                selection_set: SelectionSetNode | None,
                parent_type: GraphQLNamedType | None,
                multiplier: int,
                depth: int,
            ) -> int:
                total = 0
                if depth > 50:
                    return total
                for field in _expanded(selection_set, fragments):
                    if not field.selection_set:
                        continue
                    definition = meta_fields.get(field.name.value) or getattr(
                        parent_type, "fields", {}
                    ).get(field.name.value)
                    field_type = definition.type if definition else None
                    size = _page_size(field, default_list_size if is_list(field_type) else 1)
                    objects = multiplier * max(size, 1)
                    total += objects
                    if total > limit:
                        return total
                    total += cost(
                        field.selection_set,
                        get_named_type(field_type) if field_type else None,
                        objects,
                        depth + 1,
                    )
                return total

            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                root = schema.get_root_type(definition.operation)
                spent = cost(definition.selection_set, root, 1, 0)
                if spent > limit:
                    context.report_error(
                        _error(
                            f"query cost {spent} exceeds the budget of {limit} objects",
                            "QUERY_TOO_COSTLY",
                        )
                    )

    return CostRule


DEFAULT_LIMITS = Limits()


@functools.lru_cache(maxsize=16)
def limit_rules(limits: Limits = DEFAULT_LIMITS) -> tuple[type[ValidationRule], ...]:
    """Our validation rules for `limits`, built once per set of limits (the caches key on them)."""
    return (
        depth_validator(limits.max_depth, None),
        alias_validator(limits.max_aliases),
        duplicated_fields_rule(limits.max_duplicated_fields),
        directives_rule(limits.max_directives),
        cost_rule(limits.max_cost, limits.default_list_size),
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
        self.max_tokens, self.rules = limits.max_tokens, tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens  # as MaxTokensLimiter
        context.validation_rules = context.validation_rules + self.rules  # as AddValidationRules
        yield
