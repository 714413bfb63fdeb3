"""The feedback table (one row per submission, owned by the agency it is about, under
row-level security like the dossiers) and each province's answer deadline."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlmodel import Field, SQLModel

from eiso.core.feedback.rules import State
from eiso.infra.clock import utcnow
from eiso.tenants.models import TenantOwned, agency_fk, province_key


class Feedback(TenantOwned, table=True):
    __tablename__ = "feedback_items"
    __table_args__ = (
        agency_fk("feedback_items"),
        Index("uq_feedback_items_code", "code", unique=True),
        # The open ones by deadline (the desk's list, overdue counts).
        Index("ix_feedback_items_due", "province_id", "agency_id", "state", "due_at"),
    )

    code: str = Field(max_length=32)
    lookup_hash: str = Field(max_length=64)  # sha256 of the lookup key; the key is never stored
    kind: str = Field(max_length=16)
    subject: str = Field(max_length=16)
    procedure_code: str | None = Field(default=None, max_length=64)
    dossier_code: str | None = Field(default=None, max_length=64)
    content: str = Field(sa_type=Text)
    # Personal data, all optional (anonymous feedback is allowed): read by the agency's staff.
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=200)
    publish_consent: bool = False  # the citizen agrees the answer may be published
    published: bool = False  # the agency published it (only with the citizen's consent)
    state: State = Field(default=State.received, sa_type=String(16))
    received_at: dt.datetime = Field(default_factory=utcnow)
    answer_days: int
    due_at: dt.datetime
    assignee: str | None = Field(default=None, max_length=200)
    answer: str | None = Field(default=None, sa_type=Text)
    answered_by: str | None = Field(default=None, max_length=200)
    answered_at: dt.datetime | None = None
    on_time: bool | None = None  # stamped with the answer
    rating: int | None = None
    rating_comment: str | None = Field(default=None, sa_type=Text)
    rated_at: dt.datetime | None = None


class FeedbackSetting(SQLModel, table=True):
    """A province's answer deadline (working days), at most eiso's ceiling."""

    __tablename__ = "feedback_settings"

    province_id: int = province_key()
    answer_days: int
    changed_by: str = Field(max_length=200)
    changed_at: dt.datetime = Field(default_factory=utcnow)
