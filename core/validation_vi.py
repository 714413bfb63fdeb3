"""Pydantic's validation errors in Vietnamese: its messages are English only ("Input should be
less than or equal to 30"), so a `DomainError`'s `message_vi` is made here from the error's
`type` and its context values (`ctx`: the limit, the length, the pattern), the English
message staying in `message`. A type not listed says the value is not valid, with the
context values it has."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# Pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/), each with
# a text formatted with the error's `ctx`.
TEXTS: dict[str, str] = {
    "missing": "bắt buộc phải nhập",
    "extra_forbidden": "trường không được hỗ trợ",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "less_than": "phải nhỏ hơn {lt}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "greater_than": "phải lớn hơn {gt}",
    "multiple_of": "phải là bội số của {multiple_of}",
    "string_too_long": "dài tối đa {max_length} ký tự",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "too_long": "có tối đa {max_length} phần tử",
    "too_short": "phải có ít nhất {min_length} phần tử",
    "string_pattern_mismatch": "sai định dạng (mẫu {pattern})",
    "string_type": "phải là một chuỗi ký tự",
    "int_type": "phải là một số nguyên",
    "int_parsing": "phải là một số nguyên",
    "int_from_float": "phải là một số nguyên, không có phần lẻ",
    "float_type": "phải là một số",
    "float_parsing": "phải là một số",
    "decimal_parsing": "phải là một số",
    "bool_type": "phải là đúng hoặc sai",
    "bool_parsing": "phải là đúng hoặc sai",
    "date_type": "phải là một ngày",
    "date_parsing": "phải là một ngày hợp lệ (YYYY-MM-DD)",
    "date_from_datetime_parsing": "phải là một ngày hợp lệ (YYYY-MM-DD)",
    "datetime_type": "phải là một thời điểm",
    "datetime_parsing": "phải là một thời điểm hợp lệ",
    "list_type": "phải là một danh sách",
    "dict_type": "phải là một đối tượng",
    "model_type": "phải là một đối tượng",
    "literal_error": "phải là một trong các giá trị: {expected}",
    "enum": "phải là một trong các giá trị: {expected}",
    "url_parsing": "phải là một địa chỉ URL hợp lệ",
    "url_scheme": "địa chỉ URL phải dùng giao thức {expected_schemes}",
    "value_error": "giá trị không hợp lệ",
    "assertion_error": "giá trị không hợp lệ",
}
UNKNOWN = "giá trị không hợp lệ"


def message_vi(error: ErrorDetails | dict[str, Any]) -> str:
    """The Vietnamese text of one pydantic error (without its field)."""
    ctx = {k: _shown(v) for k, v in (error.get("ctx") or {}).items()}
    text = TEXTS.get(str(error.get("type")), UNKNOWN)
    try:
        return text.format(**ctx)
    except (KeyError, IndexError):  # a context value the text names is missing: say no more
        return text.split(" {", 1)[0] if "{" in text else text


def _shown(value: Any) -> str:
    """A context value as people read it: an integral float without its ".0", an expected
    list's English "or" as a comma."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace(" or ", ", ")


def first_error(error: ValidationError, prefix: str) -> tuple[str, str, str]:
    """The first error's field (`prefix.loc`, or `prefix` alone), its English message and its
    Vietnamese message."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}.{where}" if where else prefix
    return field, first["msg"], message_vi(first)
