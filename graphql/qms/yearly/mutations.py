"""Yearly report mutations: the agency fills and submits, the province's administrators (the
DOST) return with comments or accept, and set the deadline. Each in one transaction: a refused
move changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from eiso.core.auth.principal import Principal
from eiso.core.auth.rules import require_province_admin
from eiso.core.qms import yearly_reports
from eiso.core.qms.yearly_reports import YearlyReport
from eiso.graphql.qms.yearly.nodes import YearlyReportDeadline, YearlyReportInput, YearlyReportNode
from eiso.graphql.qms.yearly.queries import province_of
from eiso.graphql.shared.permissions import guarded
from eiso.graphql.shared.transactions import act_on_node, in_own_agency, in_transaction


async def _node(session: AsyncSession, row: YearlyReport) -> YearlyReportNode:
    return YearlyReportNode.of(row, await yearly_reports.deadline(session, row.province_id))


ReportMove = Callable[..., Awaitable[YearlyReport]]


async def _moved(
    info: strawberry.Info, id: strawberry.ID, move: ReportMove, *extra: str
) -> YearlyReportNode:
    """The report `id` moved by `move(session, who, province_id, row_id, *extra)` (the service
    finds it in the caller's scope), answered with its deadline."""

    async def work(
        session: AsyncSession, who: Principal, province_id: int, row_id: int
    ) -> YearlyReportNode:
        return await _node(session, await move(session, who, province_id, row_id, *extra))

    return await act_on_node(info, id, "YearlyReport", work)


@guarded
class YearlyReportsMutation:
    @strawberry.mutation(
        description="Open or change the caller's agency's report of `year` (a draft or a "
        "returned report); eiso refreshes the figures."
    )
    async def save_yearly_report(
        self, info: strawberry.Info, year: int, input: YearlyReportInput
    ) -> YearlyReportNode:
        async def work(session: AsyncSession, who: Principal) -> YearlyReportNode:
            row = await in_own_agency(
                session, who, yearly_reports.save, year=year, parts=input.parts()
            )
            return await _node(session, row)

        return await in_transaction(info, work)

    @strawberry.mutation(description="Send the report to the DOST (again, after a return).")
    async def submit_yearly_report(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> YearlyReportNode:
        return await _moved(info, id, yearly_reports.submit)

    @strawberry.mutation(description="Return a submitted report for revision, saying what to fix.")
    async def return_yearly_report(
        self, info: strawberry.Info, id: strawberry.ID, comment: str
    ) -> YearlyReportNode:
        return await _moved(info, id, yearly_reports.return_for_revision, comment)

    @strawberry.mutation(description="Accept a submitted report.")
    async def accept_yearly_report(
        self, info: strawberry.Info, id: strawberry.ID, comment: str = ""
    ) -> YearlyReportNode:
        return await _moved(info, id, yearly_reports.accept, comment)

    @strawberry.mutation(
        description="The province's deadline: day and month of the report's year, and how many "
        "days before it the reminders start."
    )
    async def set_yearly_report_deadline(
        self,
        info: strawberry.Info,
        due_month: int,
        due_day: int,
        remind_days_before: int,
        province_id: strawberry.ID | None = None,
    ) -> YearlyReportDeadline:
        async def work(session: AsyncSession, who: Principal) -> YearlyReportDeadline:
            province = province_of(who, province_id)
            require_province_admin(who, province)
            deadline = await yearly_reports.set_deadline(
                session, who, province, due_month, due_day, remind_days_before
            )
            return YearlyReportDeadline.of(deadline)

        return await in_transaction(info, work)
