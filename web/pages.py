"""Rendering a page: Jinja2 templates (web/templates/) with the page language's gettext
catalogue, its date and number formats, and the session's CSRF token."""

from __future__ import annotations

import functools
import pathlib
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from eiso.web import csrf, i18n

TEMPLATES = pathlib.Path(__file__).parent / "templates"
STATIC_PATH = "/static/web"


@functools.cache
def environment(language: str) -> jinja2.Environment:
    """One environment per language: its catalogue installed, its formats as filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value, time=True: i18n.when(value, language, time=time)
    env.filters["number"] = lambda value: i18n.number(value, language)
    env.globals.update(lang=language, languages=i18n.LANGUAGES, static=STATIC_PATH)
    return env


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    language = i18n.language_of(request)
    # The language links keep the page's own query (a lookup stays on its dossier).
    switch = {
        code: "?" + urlencode({**request.query_params, "lang": code}) for code in i18n.LANGUAGES
    }
    body = (
        environment(language)
        .get_template(template)
        .render(
            request=request,
            csrf_token=lambda: csrf.token(request),
            language_links=switch,
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status)
    if (
        request.query_params.get("lang") == language
        and request.cookies.get(i18n.COOKIE) != language
    ):
        response.set_cookie(i18n.COOKIE, language, max_age=365 * 86400, samesite="lax")
    # A page is personal to its visitor's session (a form's token, a lookup's answer).
    response.headers["cache-control"] = "no-store"
    return response
