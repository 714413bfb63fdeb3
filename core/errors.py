"""Errors a caller can act on: a stable code plus a message in English and Vietnamese.

GraphQL answers them as `errors[].extensions.code` (with `message_vi` beside the English
message); the CLI prints the message and exits 1. Anything else is an internal error, masked
outside development.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Generic, TypeVar

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


Err = TypeVar("Err", bound=DomainError)


@dataclasses.dataclass(frozen=True)
class Refusal(Generic[Err]):
    """A kind of error as data: its class and code, its message in English and Vietnamese
    (format strings over the values the call names) and what its extensions carry besides:
    the `field`, and the `details`, values of the call by name. Calling it makes the error."""

    error: type[Err]
    code: str
    en: str
    vi: str
    field: str | None = None
    details: tuple[str, ...] = ()

    def __call__(self, **values: Any) -> Err:
        fixed = {"field": self.field} if self.field else {}
        named = {name: values[name] for name in self.details}
        return self.error(
            self.en.format(**values), self.vi.format(**values), code=self.code, **fixed, **named
        )


# The kinds of error made apart from the line that raises them (raised from several places,
# or a rule's refusal kept out of its flow): one table, each a `Refusal`. A refusal spelled
# once where it is raised stays a `DomainError(...)` there.
STALE_VERSION = Refusal(
    Conflict,
    "CONFLICT",
    "dossier {dossier.code} changed: version {version}, not {expected}; reload it",
    "hồ sơ {dossier.code} đã thay đổi (phiên bản {version}); hãy tải lại",
    details=("version",),
)
SUPPLEMENT_ALREADY_USED = Refusal(
    DomainError,
    "SUPPLEMENT_ALREADY_USED",
    "dossier {dossier.code}: a supplement may be requested {limit} time(s) per stage",
    "hồ sơ {dossier.code}: mỗi cơ quan chỉ được yêu cầu bổ sung {limit} lần",
    details=("limit", "used"),
)
COUNTING_LOOSER = Refusal(
    DomainError,
    "COUNTING_LOOSER",
    "{field}: {en}; an agency may only tighten the procedure's counting rules",
    "{field}: {vi}; cơ quan chỉ được thắt chặt quy tắc tính thời hạn của thủ tục",
    details=("field",),
)
MODULE_DISABLED = Refusal(
    DomainError,
    "MODULE_DISABLED",
    "procedure {procedure.code!r}: its module {procedure.module!r} is not enabled in this"
    " province; no new dossier can be received",
    "thủ tục {procedure.code!r}: mô-đun {procedure.module!r} chưa được bật (hoặc đã tắt) ở"
    " tỉnh này; không thể tiếp nhận hồ sơ mới",
    field="procedureCode",
)
UNKNOWN_CHECKLIST_ITEM = Refusal(
    DomainError,
    "UNKNOWN_CHECKLIST_ITEM",
    "itemCode: {code} is not on this inspection's checklist",
    "itemCode: {code} không có trong danh mục kiểm tra của đợt này",
    field="itemCode",
)


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
