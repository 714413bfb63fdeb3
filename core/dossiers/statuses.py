"""The ten national dossier statuses exchanged with the national portal, and the allowed moves."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    new = 1
    received = 2
    not_received = 3
    in_progress = 4
    supplement_requested = 5
    financial_obligation_requested = 6
    withdrawn = 7
    stopped = 8
    processed = 9
    returned = 10


S = Status
# from → the statuses the engine may move a dossier to; anything else is INVALID_TRANSITION.
ALLOWED: dict[Status, frozenset[Status]] = {
    # Before acceptance (an online dossier): accepted, refused, a supplement asked through the
    # portal, or withdrawn by the citizen.
    S.new: frozenset({S.received, S.not_received, S.supplement_requested, S.withdrawn}),
    S.received: frozenset(
        {
            S.in_progress,
            S.supplement_requested,
            S.financial_obligation_requested,
            S.withdrawn,
            S.stopped,
        }
    ),
    S.in_progress: frozenset(
        {
            S.in_progress,
            S.supplement_requested,
            S.financial_obligation_requested,
            S.withdrawn,
            S.stopped,
            S.processed,
        }
    ),
    # back to `new` when the supplement of a dossier not yet accepted arrives (engine.accepted)
    S.supplement_requested: frozenset({S.in_progress, S.new, S.withdrawn, S.stopped}),
    S.financial_obligation_requested: frozenset({S.in_progress, S.withdrawn, S.stopped}),
    S.processed: frozenset({S.returned}),
    S.not_received: frozenset(),
    S.withdrawn: frozenset(),
    S.stopped: frozenset(),
    S.returned: frozenset(),
}
# Finished: the clock no longer matters, so such a dossier is never "overdue".
FINISHED = frozenset({S.processed, S.returned, S.not_received, S.withdrawn, S.stopped})
# The clock runs (one past its appointment is late): not finished, not waiting for a supplement.
CLOCK_RUNS = frozenset(set(S) - FINISHED - {S.supplement_requested})

# Still the agency's business: not finished, or processed with the result not yet returned
# (an adoption cannot end while one is: catalogue.drop).
OPEN_FOR_DROP = frozenset(set(S) - FINISHED | {S.processed})

# Vietnamese and English labels of the statuses (what the national portal shows).
LABELS: dict[Status, tuple[str, str]] = {
    S.new: ("Mới đăng ký", "New"),
    S.received: ("Được tiếp nhận", "Received"),
    S.not_received: ("Không được tiếp nhận", "Not received"),
    S.in_progress: ("Đang xử lý", "In progress"),
    S.supplement_requested: ("Yêu cầu bổ sung giấy tờ", "Supplement requested"),
    S.financial_obligation_requested: (
        "Yêu cầu thực hiện nghĩa vụ tài chính",
        "Financial obligation requested",
    ),
    S.withdrawn: ("Công dân yêu cầu rút hồ sơ", "Withdrawn by the citizen"),
    S.stopped: ("Dừng xử lý", "Stopped"),
    S.processed: ("Đã xử lý xong", "Processed"),
    S.returned: ("Đã trả kết quả", "Result returned"),
}
