"""The codes of the GraphQL endpoint's own errors, and the one place every error is given its
`extensions.code` and `extensions.message_vi` before it is sent.

Errors are tagged where they arise, so no message is ever parsed to classify one: the parser
(`parse_failed`), validation (`validation_failed`, our limit rules set their own codes), the
executor's request checks (`request_failed`: variables, operation selection), the HTTP
transport (graphql/server/over_http.py). `format_error` then fills in what is missing:
a `DomainError`'s own code, `GRAPHQL_VALIDATION_FAILED` for a validation error of a path we
did not tag, and `INTERNAL_ERROR` (masked outside development) for anything else: a bug.

`PROBLEMS` lists every code of this module with its Vietnamese message and its HTTP status:
docs/graphql.md's table is checked against it (tests/test_error_codes.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from eiso.core.errors import DomainError
from eiso.core.logs import request_id
from graphql import (
    GraphQLError,
    GraphQLFormattedError,
    GraphQLSyntaxError,
    Node,
    VariableDefinitionNode,
)

log = logging.getLogger("eiso.graphql")


@dataclasses.dataclass(frozen=True)
class Problem:
    """A code of the endpoint. `status` is the HTTP status it answers under
    `application/graphql-response+json` (and under `application/json` too when `transport`:
    the request never became a GraphQL request). `request`: a GraphQL request error, nothing
    ran (the response has no `data` under `application/graphql-response+json`)."""

    code: str
    message_vi: str
    status: int = 400
    request: bool = True
    transport: bool = False


PROBLEMS: dict[str, Problem] = {}


def _problem(**fields: Any) -> Problem:
    problem = Problem(**fields)
    PROBLEMS[problem.code] = problem
    return problem


def _transport(code: str, message_vi: str, status: int = 400) -> Problem:
    """A problem of the request as HTTP or of its trusted document: it never became a GraphQL
    request."""
    return _problem(code=code, message_vi=message_vi, status=status, transport=True)


def _request(code: str, message_vi: str) -> Problem:
    """A GraphQL request error: the document or its variables, refused before anything ran."""
    return _problem(code=code, message_vi=message_vi)


# The request as HTTP: it never reached GraphQL.
BAD_REQUEST = _transport(
    "BAD_REQUEST", "Yêu cầu không đúng dạng GraphQL qua HTTP (JSON hỏng hoặc tham số sai kiểu)"
)
MISSING_QUERY = _transport("MISSING_QUERY", "Yêu cầu thiếu tham số `query`")
BATCH_NOT_SUPPORTED = _transport(
    "BATCH_NOT_SUPPORTED",
    "Không hỗ trợ gửi nhiều thao tác trong một yêu cầu: hãy gửi từng thao tác",
)
UNSUPPORTED_MEDIA_TYPE = _transport(
    "UNSUPPORTED_MEDIA_TYPE", "Yêu cầu POST phải có `content-type: application/json`", status=415
)
MUTATION_REQUIRES_POST = _transport(
    "MUTATION_REQUIRES_POST",
    "Thao tác thay đổi dữ liệu (mutation) chỉ được gửi bằng POST, không bằng GET",
    status=405,
)
# Trusted documents (graphql/server/trusted.py): the request names no text eiso will run.
PERSISTED_QUERY_NOT_FOUND = _transport(
    "PERSISTED_QUERY_NOT_FOUND",
    "Không tìm thấy tài liệu GraphQL đã đăng ký với mã băm này",
    status=404,
)
PERSISTED_QUERY_HASH_MISMATCH = _transport(
    "PERSISTED_QUERY_HASH_MISMATCH", "Mã băm sha256 không khớp với nội dung truy vấn gửi kèm"
)
BAD_DOCUMENT_ID = _transport(
    "BAD_DOCUMENT_ID",
    'Tài liệu được gọi bằng mã sha256: "sha256:<64 chữ số hex>" (documentId) hoặc '
    'persistedQuery {"version": 1, "sha256Hash": "<64 chữ số hex>"}',
)
TRUSTED_DOCUMENT_REQUIRED = _transport(
    "TRUSTED_DOCUMENT_REQUIRED",
    "Máy chủ chỉ thực hiện các tài liệu GraphQL đã đăng ký: hãy đăng ký thao tác "
    "(eiso graphql documents add) và gửi mã băm của nó",
    status=403,
)

# GraphQL request errors: the document or its variables, before anything runs.
PARSE_FAILED = _request("GRAPHQL_PARSE_FAILED", "Câu truy vấn GraphQL sai cú pháp")
VALIDATION_FAILED = _request(
    "GRAPHQL_VALIDATION_FAILED", "Câu truy vấn không hợp lệ với lược đồ GraphQL bạn được dùng"
)
OPERATION_NOT_FOUND = _request(
    "OPERATION_NOT_FOUND",
    "Không xác định được thao tác cần chạy: hãy đặt `operationName` đúng tên một "
    "thao tác trong tài liệu",
)
SUBSCRIPTION_REQUIRES_WEBSOCKET = _request(
    "SUBSCRIPTION_REQUIRES_WEBSOCKET",
    "Đăng ký sự kiện (subscription) chỉ chạy qua websocket (graphql-transport-ws), không qua HTTP",
)
VARIABLE_MISSING = _request("VARIABLE_MISSING", "Thiếu giá trị cho biến bắt buộc của câu truy vấn")
VARIABLE_INVALID = _request(
    "VARIABLE_INVALID",
    "Giá trị của biến không đúng kiểu khai báo (ngày sai định dạng, số quá lớn, "
    "giá trị liệt kê không tồn tại, ...)",
)
# The limits (graphql/server/limits.py).
TOO_MANY_TOKENS = _request("TOO_MANY_TOKENS", "Câu truy vấn quá dài (quá nhiều ký hiệu)")
QUERY_TOO_DEEP = _request("QUERY_TOO_DEEP", "Câu truy vấn lồng quá sâu")
TOO_MANY_ALIASES = _request("TOO_MANY_ALIASES", "Câu truy vấn dùng quá nhiều bí danh")
TOO_MANY_DUPLICATED_FIELDS = _request(
    "TOO_MANY_DUPLICATED_FIELDS", "Một trường được lặp lại quá nhiều lần trong cùng một lựa chọn"
)
TOO_MANY_DIRECTIVES = _request(
    "TOO_MANY_DIRECTIVES", "Câu truy vấn dùng quá nhiều chỉ thị (directive)"
)
QUERY_TOO_COSTLY = _request(
    "QUERY_TOO_COSTLY",
    "Câu truy vấn yêu cầu quá nhiều đối tượng: hãy giảm cỡ trang hoặc bớt quan hệ",
)
INTROSPECTION_TOO_COSTLY = _request(
    "INTROSPECTION_TOO_COSTLY",
    "Truy vấn lược đồ (introspection) vượt quá giới hạn: hãy dùng câu truy vấn introspection chuẩn",
)
# Not the caller's mistake.
INTERNAL_ERROR = _problem(
    code="INTERNAL_ERROR",
    message_vi="Lỗi nội bộ của hệ thống; hãy báo mã yêu cầu (x-request-id) cho quản trị viên",
    status=200,
    request=False,
)
MODULE_CONFLICT = _problem(
    code="MODULE_CONFLICT",
    message_vi="Hai mô-đun tỉnh đã bật không thể dùng cùng nhau: quản trị viên cần xử lý",
    status=500,
    request=False,
    transport=True,
)


def error(
    problem: Problem, message: str, nodes: Sequence[Node] | None = None, **details: Any
) -> GraphQLError:
    """A new error of `problem` (`details` join its extensions)."""
    return GraphQLError(message, nodes, extensions=_extensions(problem, details))


def tag(error: GraphQLError, problem: Problem, **details: Any) -> GraphQLError:
    """Gives `error` the code of `problem` unless it has one (idempotent: parsing and
    validation results are cached and reused)."""
    extensions = error.extensions or {}
    if "code" not in extensions:
        error.extensions = {**extensions, **_extensions(problem, details)}
    elif "message_vi" not in extensions:
        known = PROBLEMS.get(extensions["code"])
        if known is not None:
            error.extensions = {**extensions, "message_vi": known.message_vi}
    return error


def _extensions(problem: Problem, details: dict[str, Any]) -> dict[str, Any]:
    return {"code": problem.code, "message_vi": problem.message_vi, **details}


def parse_failed(error: GraphQLError, max_tokens: int) -> GraphQLError:
    # graphql-core says the token cap only in its message; the cap is ours, so is its wording.
    if isinstance(error, GraphQLSyntaxError) and f"more than {max_tokens} tokens" in error.message:
        return tag(error, TOO_MANY_TOKENS, limit=max_tokens)
    return tag(error, PARSE_FAILED)


def validation_failed(errors: list[GraphQLError]) -> list[GraphQLError]:
    for each in errors:
        tag(each, VALIDATION_FAILED)
    return errors


def request_failed(errors: list[GraphQLError], variables: dict[str, Any] | None) -> None:
    """Tags the errors graphql-core's executor reports before running anything: a variable's
    value (missing or not of its type), else the choice of the operation."""
    for each in errors:
        node = each.nodes[0] if each.nodes else None
        if isinstance(node, VariableDefinitionNode):
            name = node.variable.name.value
            missing = (variables or {}).get(name) is None
            tag(each, VARIABLE_MISSING if missing else VARIABLE_INVALID, variable=name)
        elif "variable" in each.message.lower():  # "Too many errors processing variables"
            tag(each, VARIABLE_INVALID)
        else:
            tag(each, OPERATION_NOT_FOUND)


def code_of(error: GraphQLError) -> str | None:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code
    return (error.extensions or {}).get("code")


def is_request_error(errors: list[GraphQLError]) -> bool:
    """Whether these errors mean nothing ran (a GraphQL request error)."""
    for each in errors:
        problem = PROBLEMS.get(code_of(each) or "")
        if problem is None or not problem.request:
            return False
    return bool(errors)


def format_error(error: GraphQLError, *, dev: bool) -> GraphQLFormattedError:
    """The error as sent: code and `message_vi` always; an unexpected one masked outside
    development (logged with its traceback)."""
    formatted = error.formatted
    original = error.original_error
    extensions = dict(formatted.get("extensions") or {})
    if isinstance(original, DomainError):
        extensions.update(original.extensions)
    elif "code" in extensions and (original is None or isinstance(original, GraphQLError)):
        known = PROBLEMS.get(extensions["code"])
        if known is not None:
            extensions.setdefault("message_vi", known.message_vi)
    elif original is None and not error.path:  # validation on a path that did not tag it
        extensions.update(_extensions(VALIDATION_FAILED, {}))
    else:
        log.error("unexpected error in a resolver", exc_info=original or error)
        extensions = _extensions(INTERNAL_ERROR, {})
        rid = request_id.get()
        if rid is not None:
            extensions["requestId"] = rid.decode(errors="replace")
        if not dev:
            formatted["message"] = "Internal error"
    formatted["extensions"] = extensions
    return formatted
