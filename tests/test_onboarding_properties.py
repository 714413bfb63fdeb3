"""Properties of the importer's pure parts: any row order imports parents first, and any
Vietnamese name survives a CSV or JSON round trip."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from eiso.tenants.onboarding import AgencyRow, check_rows, order_rows, parse_csv, parse_json

VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậếềểễệốồổỗộớờởỡợíìỉĩịúùủũụứừửữựýỳỷỹỵ ,\"'-",
    min_size=1,
    max_size=40,
).filter(lambda name: name.strip())


@st.composite
def forests(draw):
    """Agencies whose parents are earlier agencies, then shuffled."""
    size = draw(st.integers(1, 40))
    rows = []
    for index in range(size):
        parent = draw(st.one_of(st.none(), st.integers(0, index - 1))) if index else None
        rows.append(
            AgencyRow(
                line=index + 2,
                code=f"C{index}",
                name=f"Xã {index}",
                kind="commune",
                parent_code=None if parent is None else f"C{parent}",
            )
        )
    return draw(st.permutations(rows))


@given(forests())
def test_any_order_imports_parents_first(rows):
    ordered, errors = order_rows(list(rows))
    assert not errors and sorted(r.code for r in ordered) == sorted(r.code for r in rows)
    position = {row.code: index for index, row in enumerate(ordered)}
    assert all(position[row.parent_code] < position[row.code] for row in ordered if row.parent_code)


@given(st.lists(VIETNAMESE, min_size=1, max_size=10))
def test_names_survive_csv_and_json(names):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["code", "name", "kind", "parent_code"])
    for index, name in enumerate(names):
        writer.writerow([f"C{index}", name, "ward", ""])
    rows, errors = parse_csv(buffer.getvalue().encode())
    assert not errors and [row.name for row in rows] == [name.strip() for name in names]
    assert not check_rows(rows)
    content = json.dumps(
        [{"code": f"C{i}", "name": n, "kind": "ward"} for i, n in enumerate(names)],
        ensure_ascii=False,
    )
    rows, errors = parse_json(content.encode())
    assert not errors and [row.name for row in rows] == [name.strip() for name in names]
