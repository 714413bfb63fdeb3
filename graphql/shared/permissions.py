"""Strawberry permission classes over the rules of core/auth/rules.py (the one place rules live).

Use `guard("operation")` as a field's `extensions`: the field then runs only when the caller
passes `RULES["operation"]`; otherwise the error carries code UNAUTHENTICATED or FORBIDDEN.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

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
