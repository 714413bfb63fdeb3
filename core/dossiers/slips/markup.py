"""Slips as HTML: Jinja2 templates with autoescaping (every value comes from user input)."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape

from eiso.core.dossiers.slips.documents import MOTTO, NATION, Document


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("eiso.core.dossiers.slips", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )


def render_html(doc: Document) -> str:
    return _environment().get_template("slip.html").render(doc=doc, nation=NATION, motto=MOTTO)
