"""The GraphQL types of feedback and petitions: the citizen's view and the agency's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from eiso.core.feedback import service
from eiso.core.feedback.models import Feedback
from eiso.graphql.shared.enums import FeedbackKind, FeedbackState, FeedbackSubject
from eiso.graphql.shared.node import node_of
from eiso.infra.clock import aware, utcnow


@strawberry.input(description="Who to answer (all optional: feedback may be anonymous).")
class FeedbackContactInput:
    name: str | None = None
    phone: str | None = None
    email: str | None = None

    def stored(self) -> service.Contact:
        return service.Contact(self.name, self.phone, self.email)


@strawberry.input(description="A citizen's feedback (phản ánh) or petition (kiến nghị).")
class FeedbackInput:
    agency_id: strawberry.ID = strawberry.field(description="The agency's global id (Agency).")
    kind: FeedbackKind
    subject: FeedbackSubject
    content: str = strawberry.field(description="What happened or what is proposed.")
    procedure_code: str | None = strawberry.field(
        default=None, description="Required when the subject is PROCEDURE: one it offers."
    )
    dossier_code: str | None = strawberry.field(
        default=None, description="Required when the subject is DOSSIER."
    )
    contact: FeedbackContactInput | None = None
    publish_consent: bool = strawberry.field(
        default=False, description="The citizen agrees the answer may be published."
    )


@strawberry.type(description="A submitted feedback: its code and lookup key, given once.")
class FeedbackSubmission:
    code: str
    lookup_key: str = strawberry.field(description="Given once; eiso keeps only its hash.")
    due_at: dt.datetime = strawberry.field(description="When the agency must answer by.")


@strawberry.type(description="What the citizen sees of a feedback: no contact data, no names.")
class PublicFeedback:
    code: str
    kind: FeedbackKind
    subject: FeedbackSubject
    procedure_code: str | None
    state: FeedbackState
    received_at: dt.datetime
    due_at: dt.datetime
    answered_at: dt.datetime | None
    answer: str | None
    late: bool = strawberry.field(description="Answered late, or still open past the deadline.")
    rating: int | None

    @classmethod
    def of(cls, seen: dict[str, Any]) -> PublicFeedback:
        return cls(
            **{
                **seen,
                "kind": FeedbackKind(seen["kind"].value),
                "subject": FeedbackSubject(seen["subject"].value),
                "state": FeedbackState(seen["state"].value),
            }
        )


@strawberry.type(
    description="An answer an agency published with the citizen's consent (no contact data)."
)
class PublishedFeedback:
    code: str
    kind: FeedbackKind
    subject: FeedbackSubject
    procedure_code: str | None
    agency: str = strawberry.field(description="The answering agency's name.")
    content: str
    answer: str
    answered_at: dt.datetime

    @classmethod
    def of(cls, seen: dict[str, Any]) -> PublishedFeedback:
        return cls(
            **{
                **seen,
                "kind": FeedbackKind(seen["kind"].value),
                "subject": FeedbackSubject(seen["subject"].value),
            }
        )


@strawberry.type(description="A feedback as the agency's staff see it (with contact data).")
class FeedbackNode:
    id: strawberry.ID = strawberry.field(description="Global id (Feedback).")
    code: str
    kind: FeedbackKind
    subject: FeedbackSubject
    procedure_code: str | None
    dossier_code: str | None
    content: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    publish_consent: bool
    published: bool
    state: FeedbackState
    received_at: dt.datetime
    answer_days: int = strawberry.field(description="The deadline it was given, working days.")
    due_at: dt.datetime
    overdue: bool = strawberry.field(description="Still unanswered past the deadline.")
    assignee: str | None
    answer: str | None
    answered_by: str | None
    answered_at: dt.datetime | None
    on_time: bool | None
    rating: int | None
    rating_comment: str | None

    @classmethod
    def of(cls, row: Feedback) -> FeedbackNode:
        return node_of(
            cls,
            row,
            "Feedback",
            received_at=aware(row.received_at),
            due_at=aware(row.due_at),
            overdue=service.is_overdue(row, utcnow()),
            answered_at=aware(row.answered_at),
        )
