"""Decision 766/QĐ-TTg scoring (core/qms/index766.py) as pure functions of a figures row."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from eiso.core.qms import annual_report, index766
from eiso.core.qms.figures import Figures

counts = st.integers(min_value=0, max_value=500)


@st.composite
def agencies(draw: st.DrawFn) -> tuple[Figures, int]:
    """An agency's figures and how many more of its dossiers went past their deadline."""
    finished_late, on_time = draw(counts), draw(counts)
    backlog_late = draw(counts)
    backlog = backlog_late + draw(counts)
    rating_count = draw(st.integers(min_value=0, max_value=finished_late + on_time))
    row = Figures(
        received=draw(counts) + finished_late + on_time + backlog,
        received_online=0,
        finished=finished_late + on_time,
        on_time=on_time,
        finished_late=finished_late,
        backlog=backlog,
        backlog_late=backlog_late,
        rating_count=rating_count,
        satisfied=draw(st.integers(min_value=0, max_value=rating_count)),
    )
    row = dataclasses.replace(row, received_online=draw(st.integers(0, row.received)))
    answered_late, answered_on_time = draw(counts), draw(counts)
    feedback_rated = draw(st.integers(0, answered_late + answered_on_time))
    row = dataclasses.replace(
        row,
        feedback_answered=answered_late + answered_on_time,
        feedback_on_time=answered_on_time,
        feedback_overdue=draw(counts),
        feedback_rated=feedback_rated,
        feedback_satisfied=draw(st.integers(0, feedback_rated)),
    )
    return row, draw(st.integers(min_value=1, max_value=200))


def _points(row: Figures) -> float:
    return index766.total(index766.scores(row)) or 0.0


def _progress(row: Figures) -> float | None:
    (group,) = [g for g in index766.scores(row) if g["group"] == "progress"]
    return group["points"]


@given(agencies())
def test_leaving_dossiers_overdue_never_scores_higher_than_finishing_them_late(agency):
    row, overdue = agency
    left_open = dataclasses.replace(
        row, backlog=row.backlog + overdue, backlog_late=row.backlog_late + overdue
    )
    finished_late = dataclasses.replace(
        row, finished=row.finished + overdue, finished_late=row.finished_late + overdue
    )
    assert _points(left_open) <= _points(finished_late)
    assert (_progress(left_open) or 0.0) <= (_progress(finished_late) or 0.0)


def _satisfaction(row: Figures) -> float:
    (group,) = [g for g in index766.scores(row) if g["group"] == "satisfaction"]
    return group["points"] or 0.0


@given(agencies())
def test_leaving_feedback_unanswered_never_scores_higher_than_answering_it_late(agency):
    row, overdue = agency
    left_open = dataclasses.replace(row, feedback_overdue=row.feedback_overdue + overdue)
    answered_late = dataclasses.replace(row, feedback_answered=row.feedback_answered + overdue)
    assert _points(left_open) <= _points(answered_late)
    assert _satisfaction(left_open) <= _satisfaction(answered_late)
    # And answering on time never scores lower than answering late.
    on_time = dataclasses.replace(
        answered_late, feedback_on_time=answered_late.feedback_on_time + overdue
    )
    assert _satisfaction(answered_late) <= _satisfaction(on_time)


def test_feedback_is_measured_from_its_counts():
    row = Figures(
        feedback_answered=8,
        feedback_on_time=6,
        feedback_overdue=2,
        feedback_rated=10,
        feedback_satisfied=9,
    )
    criteria = {c["code"]: c for g in index766.scores(row) for c in g["criteria"]}
    on_time, rated = criteria["HL-2"], criteria["HL-3"]
    assert on_time["measured"] and on_time["numerator"] == {
        "metric": "feedback_on_time",
        "value": 6,
    }
    assert on_time["denominator"] == {"metric": "feedback_due", "value": 10}
    assert on_time["points"] == index766.FEEDBACK_ON_TIME_POINTS * 0.6
    assert rated["points"] == index766.FEEDBACK_RATING_POINTS  # 90 % satisfied: full marks
    # No feedback at all: measured, but no points to give (not a zero).
    empty = {c["code"]: c for g in index766.scores(Figures()) for c in g["criteria"]}
    assert empty["HL-2"]["measured"] and empty["HL-2"]["points"] is None


@given(agencies())
def test_overdue_open_dossiers_cost_progress_points(agency):
    row, overdue = agency
    worse = dataclasses.replace(
        row, backlog=row.backlog + overdue, backlog_late=row.backlog_late + overdue
    )
    assert (_progress(worse) or 0.0) <= (_progress(row) or 0.0)
    (before,), (after,) = (
        [c for c in index766.scores(r)[1]["criteria"] if c["code"] == "TD-1"] for r in (row, worse)
    )
    assert after["numerator"] == before["numerator"]
    assert after["denominator"]["value"] == before["denominator"]["value"] + overdue
    # The deprecated reading ignores them (why it is deprecated).
    assert annual_report.index_766(worse)["progress"] == annual_report.index_766(row)["progress"]


@given(agencies())
def test_points_stay_within_each_criterion_and_group(agency):
    row, _ = agency
    for group in index766.scores(row):
        assert group["measuredMaxPoints"] <= group["maxPoints"]
        if group["points"] is not None:
            assert 0 <= group["points"] <= group["measuredMaxPoints"]
        for criterion in group["criteria"]:
            if criterion["points"] is not None:
                assert 0 <= criterion["points"] <= criterion["maxPoints"]


def test_the_table_has_the_portal_groups_and_every_unmeasured_criterion_says_why():
    assert index766.GROUPS == {
        "transparency": 18,
        "progress": 20,
        "online_services": 12,
        "online_payment": 10,
        "satisfaction": 18,
        "digitisation": 22,
    }
    assert sum(index766.GROUPS.values()) == 100
    for group, points in index766.GROUPS.items():
        assert sum(c.max_points for c in index766.CRITERIA if c.group == group) == points
    codes = [c.code for c in index766.CRITERIA]
    assert len(codes) == len(set(codes))
    for criterion in index766.CRITERIA:
        assert criterion.group in index766.GROUPS and criterion.source
        assert (criterion.measure is None) == bool(criterion.reason_vi and criterion.reason_en)
    ratings = {c.code: c for c in index766.CRITERIA}["HL-1"]
    assert (ratings.group, ratings.max_points) == ("satisfaction", 6)
    feedback = [c for c in index766.CRITERIA if c.code in ("HL-2", "HL-3")]
    assert sum(c.max_points for c in feedback) == 12 and all(c.measure for c in feedback)


def test_ratings_give_full_marks_from_ninety_percent_satisfied():
    def ratings(satisfied: int) -> float:
        (group,) = [
            g
            for g in index766.scores(Figures(rating_count=100, satisfied=satisfied))
            if g["group"] == "satisfaction"
        ]
        return group["criteria"][0]["points"]

    assert ratings(90) == ratings(100) == 6.0
    assert ratings(45) == 3.0
    assert ratings(0) == 0.0
    assert ratings(89) < 6.0
