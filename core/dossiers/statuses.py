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
    S.new: frozenset({S.received, S.not_received}),
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
    S.supplement_requested: frozenset({S.in_progress, S.withdrawn, S.stopped}),
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
