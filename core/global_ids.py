"""Opaque, typed global ids: base64 of "Type:<province_id>:<id>".

An id of another type, of another tenant or not made here resolves as NOT_FOUND, exactly like
an id that does not exist, so a caller learns nothing from guessing.
"""

from __future__ import annotations

import base64
import binascii

from eiso.core.errors import NotFound

# Row ids and province ids are 64-bit integers (BIGINT): a larger number names no row, and
# the database would refuse it as a parameter rather than find nothing.
MAX_ROW_ID = 2**63 - 1


# `base64.urlsafe_b64encode` without its two Python calls: an id is made per node of a page.
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode_id(type_name: str, province_id: int, row_id: int) -> str:
    text = f"{type_name}:{province_id}:{row_id}".encode()
    return binascii.b2a_base64(text, newline=False).translate(_URLSAFE).decode()


def decode_id(global_id: str, type_name: str) -> tuple[int, int]:
    """(province_id, id) of a `type_name` id, or NotFound."""
    try:
        kind, province, row = base64.urlsafe_b64decode(global_id.encode()).decode().split(":")
        province_id, row_id = int(province), int(row)
        if kind == type_name and max(abs(province_id), abs(row_id)) <= MAX_ROW_ID:
            return province_id, row_id
    except (binascii.Error, ValueError, UnicodeError):
        pass
    raise not_found(type_name, global_id)


def id_type(global_id: str) -> str | None:
    """The type a global id names, or None for an id not made here (it is not checked
    further: `decode_id` does that)."""
    try:
        kind, _, _ = base64.urlsafe_b64decode(global_id.encode()).decode().split(":")
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return kind


def not_found(type_name: str, global_id: str) -> NotFound:
    # The id is not echoed: the answer is the same whatever was guessed.
    return NotFound(f"no such {type_name}", f"không tìm thấy {type_name}")
