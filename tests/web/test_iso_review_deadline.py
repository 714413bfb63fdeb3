"""The ISO workspace shows each review flag's due date and marks an overdue one (issue 20), on
the process documents' page and on the procedure's own page."""

from __future__ import annotations

import datetime as dt

from tests.test_review_deadline import add_flag
from tests.web.support import PROC
from tests.web.test_iso_conformity import as_user
from tests.web.test_iso_models import PAGE
from tests.web.test_iso_workspace import office


async def test_flags_show_their_due_date_and_overdue(desk_web, resources):
    staff = await office(resources, "Xã Hạn Rà Soát")
    await add_flag(resources, staff.agency, PROC, "77/2026/NĐ-CP", due_on=dt.date(2026, 1, 5))
    await as_user(desk_web, staff.secretary, PAGE)
    html = (await desk_web.get(PAGE)).text
    assert "77/2026/NĐ-CP (Hạn 2026-01-05" in html and "quá hạn" in html
    detail = (await desk_web.get(f"{PAGE}/thu-tuc/{PROC}")).text
    assert "Hạn 2026-01-05" in detail and "quá hạn" in detail
