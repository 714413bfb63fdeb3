"""Time-ordered 63-bit ids (Snowflake layout), so tenant tables can key on (province_id, id).

41 bits of milliseconds since 2025-01-01, 10 bits of worker, 12 bits of sequence. The worker
bits are drawn at random per process (again after a fork), so ids stay unique across workers
in practice, and within a process they only ever increase: cursors can page by id.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Protocol

from eiso.infra.defaults import plain_factory

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
_lock = threading.Lock()
_state = {"worker": secrets.randbelow(1024), "last": 0, "seq": 0}


def _reseed() -> None:
    _state.update(worker=secrets.randbelow(1024), last=0, seq=0)


os.register_at_fork(after_in_child=_reseed)


@plain_factory  # a table model's default factory (infra/defaults.py)
def new_id() -> int:
    with _lock:
        now = int(time.time() * 1000) - EPOCH_MS
        if now <= _state["last"]:
            now = _state["last"]
            _state["seq"] = (_state["seq"] + 1) & 0xFFF
            if _state["seq"] == 0:  # 4096 ids in one millisecond: borrow the next one
                now += 1
        else:
            _state["seq"] = 0
        _state["last"] = now
        return (now << 22) | (_state["worker"] << 12) | _state["seq"]


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """The id of a row known to be saved (added and flushed): a row with a database-assigned
    key has none before its first flush."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: it was not flushed")
    return row.id
