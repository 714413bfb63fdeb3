"""Strawberry permission classes over the rules of core/auth/rules.py (the one place rules live).

Declare a root type (a part of Query, Mutation or Subscription) with `@guarded` instead of
`@strawberry.type`: each of its fields then runs only when the caller passes the rule of its
GraphQL name, `RULES["fieldName"]`; otherwise the error carries code UNAUTHENTICATED or
FORBIDDEN. A field with no rule fails at import, so none can be left open by mistake. Elsewhere
(a module's fields), `guard("operation")` is a field's `extensions`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.utils.str_converters import to_camel_case

from eiso.core.auth import rules


class Allowed(BasePermission):
    """The caller passes the named operation's rule (raises the rule's error otherwise)."""

    def __init__(self, operation: str) -> None:
        if operation not in rules.RULES:
            raise KeyError(f"no rule for GraphQL operation {operation!r} in core/auth/rules.py")
        self.operation = operation

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        rules.check_operation(info.context.principal, self.operation)
        return True


def guard(operation: str) -> list[FieldExtension]:
    """The extensions of a field that runs only for callers passing `RULES[operation]` (a list
    of the base class: what `strawberry.field(extensions=...)` takes)."""
    return [PermissionExtension(permissions=[Allowed(operation)], use_directives=False)]


T = TypeVar("T")


def guarded(cls: type[T]) -> type[T]:
    """`strawberry.type(cls)`, each field guarded by the rule of its GraphQL name."""
    typed = strawberry.type(cls)
    for field in typed.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        name = field.graphql_name or to_camel_case(field.python_name)
        field.extensions = [*guard(name), *field.extensions]
    return typed
