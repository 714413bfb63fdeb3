"""The model QMS that eiso ships as data: the documents a local state administrative agency
starts from, after the model frame of Decision 101/QĐ-BKHCN (21/01/2019) of the Ministry of
Science and Technology for TCVN ISO 9001:2015 (docs/qms.md cites what was found; what could not
be checked against the decision's text is listed in core/qms/README.md).

The wording is eiso's own (not the decision's annex, which was not available): a starting text
each agency adapts before its leader approves it. `{agency}` is replaced by the adopting
agency's name. The texts, and each procedure's steps one row a step, are the package's data
file `data/model_qms.json`, read once at import. A province changes this set without touching
code: `installModelQms` copies it into the province's model documents (core/qms/documents.py),
which the province edits and makes effective through the usual workflow; an adoption then takes
the province's effective text.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
from typing import Any

DATA = pathlib.Path(__file__).with_name("data") / "model_qms.json"


@dataclasses.dataclass(frozen=True)
class Template:
    code: str
    kind: str  # a DocumentKind value
    title: str
    clauses: str  # the TCVN ISO 9001:2015 clauses it answers
    content: str


def _procedure(purpose: str, scope: str, steps: list[dict[str, str]], records: str) -> str:
    """The body of an internal procedure: purpose, scope, references, steps, records."""
    lines = [
        f"1. MỤC ĐÍCH\n{purpose}",
        f"2. PHẠM VI\n{scope}",
        f"3. TÀI LIỆU VIỆN DẪN\n- Tiêu chuẩn quốc gia {STANDARD};\n"
        "- Quyết định số 19/2014/QĐ-TTg ngày 05/3/2014 của Thủ tướng Chính phủ;\n"
        f"- {SOURCE}.",
        "4. NỘI DUNG",
    ]
    for number, step in enumerate(steps, start=1):
        lines.append(
            f"Bước {number}. {step['what']}\n   Trách nhiệm: {step['who']}. "
            f"Thời gian: {step['when']}."
        )
    lines.append(f"5. HỒ SƠ\n{records}")
    return "\n\n".join(lines)


def _template(row: dict[str, Any]) -> Template:
    """A row of the file: its text as written, or a procedure's body from its parts."""
    procedure = row.get("procedure")
    content = _procedure(**procedure) if procedure else row["content"]
    return Template(row["code"], row["kind"], row["title"], row["clauses"], content)


_DATA = json.loads(DATA.read_text(encoding="utf-8"))
SOURCE: str = _DATA["source"]
STANDARD: str = _DATA["standard"]
TEMPLATES: tuple[Template, ...] = tuple(_template(row) for row in _DATA["templates"])


def template(code: str) -> Template | None:
    return next((t for t in TEMPLATES if t.code == code), None)
