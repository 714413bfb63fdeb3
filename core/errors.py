"""Errors a caller can act on: a stable code plus a message in English and Vietnamese.

GraphQL answers them as `errors[].extensions.code` (with `message_vi` beside the English
message); the CLI prints the message and exits 1. Anything else is an internal error, masked
outside development.
"""

from __future__ import annotations

from typing import Any


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
