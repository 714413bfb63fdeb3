"""The rules of feedback and petitions as data: the states, the moves between them and who may
make each, the answer deadline and the rating scale. Sources and what is not verified:
docs/qms.md ("Feedback and petitions") and core/feedback/README.md."""

from __future__ import annotations

import dataclasses
import enum

from eiso.core.auth.principal import Role

SOURCE = "Nghị định 20/2008/NĐ-CP ngày 14/02/2008 về tiếp nhận, xử lý phản ánh, kiến nghị"


# What the feedback is about: the agency itself, one of its procedures, or a dossier.
Subject = enum.StrEnum("Subject", "agency procedure dossier")


class Kind(str, enum.Enum):
    feedback = "feedback"  # phản ánh: a problem seen (Decree 20/2008 Art. 3)
    petition = "petition"  # kiến nghị: a proposal to change a rule or a practice


State = enum.StrEnum("State", "received assigned answered rated")


CITIZEN = "citizen"  # the submitter, proven by the code and lookup key (no account)


@dataclasses.dataclass(frozen=True)
class Move:
    """One move: from which states, to which, and who may make it (roles, or the citizen)."""

    name: str
    sources: frozenset[State]
    target: State
    actors: frozenset[Role | str]


ANSWERERS = frozenset({Role.officer, Role.iso_secretary, Role.leader})
DISPATCHERS = frozenset({Role.iso_secretary, Role.leader})

MOVES: dict[str, Move] = {
    move.name: move
    for move in (
        Move("assign", frozenset({State.received, State.assigned}), State.assigned, DISPATCHERS),
        Move("answer", frozenset({State.received, State.assigned}), State.answered, ANSWERERS),
        Move("rate", frozenset({State.answered}), State.rated, frozenset({CITIZEN})),
    )
}
OPEN = frozenset({State.received, State.assigned})  # waiting for an answer: the clock runs

# The answer deadline in working days from receipt (counted on the working-day calendar). The
# decree's own time limit was not verified here (README): this is eiso's default and ceiling;
# a province may only shorten it (`setFeedbackAnswerDays`).
DEFAULT_ANSWER_DAYS = 10
MIN_ANSWER_DAYS = 1

RATING_MIN, RATING_MAX = 1, 5
SATISFIED_FROM = 4  # as for dossiers: 4 and 5 of 5 count as satisfied

# Input limits (characters).
CONTENT_MAX = 5000
ANSWER_MAX = 10000
CONTACT_MAX = 200
COMMENT_MAX = 2000
