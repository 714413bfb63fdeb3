"""Languages of the pages: Vietnamese first, English second. Texts are gettext messages
(English ids, catalogues in web/catalogues/<lang>/LC_MESSAGES/messages.po, compiled to .mo and
committed; `make messages` extracts and compiles, tests/web/test_catalogue.py checks that every
message has its Vietnamese text and the .mo matches the .po). Dates and numbers are formatted
by Babel in the page's locale, in Vietnam's time zone."""

from __future__ import annotations

import datetime as dt
import functools
import pathlib
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from starlette.requests import Request

from eiso.core.workdays import VN_TZ

LOCALES = pathlib.Path(__file__).parent / "catalogues"
LANGUAGES = ("vi", "en")
DEFAULT = "vi"
COOKIE = "eiso_lang"
DOMAIN = "messages"


def language_of(request: Request) -> str:
    """`?lang=` first (a link that switches), then the cookie it leaves, then Vietnamese."""
    for asked in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if asked in LANGUAGES:
            return asked
    return DEFAULT


@functools.cache
def translations(language: str) -> NullTranslations:
    return Translations.load(str(LOCALES), [language], DOMAIN)


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def when(value: str | dt.datetime | None, language: str, *, time: bool = True) -> str:
    """An ISO date-time (as GraphQL sends it) in words of the page's language, local time:
    "14:30, 5 tháng 12, 2026" in Vietnamese."""
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(VN_TZ)
    if not time:
        return format_date(moment.date(), "long", locale=_locale(language))
    return format_datetime(moment, "HH:mm, d MMMM, y", locale=_locale(language))


def number(value: object, language: str) -> str:
    """A number with the locale's separators (Vietnamese: 1.500.000)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_decimal(amount, locale=_locale(language))
