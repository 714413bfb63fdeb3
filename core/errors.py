"""Errors a caller can act on: a stable code plus a message in English and Vietnamese.

GraphQL answers them as `errors[].extensions.code` (with `message_vi` beside the English
message); the CLI prints the message and exits 1. Anything else is an internal error, masked
outside development.
"""

from __future__ import annotations

import enum
from typing import Any, TypeVar

E = TypeVar("E", bound=enum.Enum)


class DomainError(Exception):
    """Bad input or a refused action. Nothing was changed."""

    code = "BAD_INPUT"

    def __init__(
        self,
        message: str,
        message_vi: str | None = None,
        *,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_vi = message_vi or message
        if code:
            self.code = code
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        """Read by graphql-core when it wraps the error for the response."""
        return {"code": self.code, "message_vi": self.message_vi, **self.details}


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"


class Conflict(DomainError):
    code = "CONFLICT"


def member_of(
    kind: type[E], value: str | enum.Enum, field: str, message: str = "", message_vi: str = ""
) -> E:
    """The member of `kind` that `value` names (its value, or a member of a mirror enum of the
    same values), or BAD_INPUT on `field`: the message given, else "<field>: one of <values>"."""
    try:
        return kind(getattr(value, "value", value))
    except ValueError:
        names = ", ".join(str(item.value) for item in kind)
        raise DomainError(
            message or f"{field}: one of {names}",
            message_vi or f"{field}: một trong {names}",
            field=field,
        ) from None
