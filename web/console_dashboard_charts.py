"""The dashboard's charts: SVG written on the server (web/svg_charts.py), embedded inline in
the page: no script, nothing from elsewhere. Each chart is a static picture (white ground,
dark text, contrasting colours: it prints as it shows) named for screen readers, with its
values on its marks; the page shows the table each is drawn from next to it."""

from __future__ import annotations

import functools
from typing import Any

from eiso.web import i18n
from eiso.web import svg_charts as draw

RANKED = 15  # agencies in the ranking's chart (the table has them all)

# The dashboard's texts (Vietnamese, English) by key: the charts' titles and series first.
TEXTS = {
    "received": ("Tiếp nhận", "Received"),
    "onTime": ("Đúng hạn", "On time"),
    "late": ("Trễ hạn", "Late"),
    "backlogLate": ("Tồn quá hạn", "Overdue backlog"),
    "onTimeRate": ("Tỷ lệ đúng hạn (%)", "On-time rate (%)"),
    "satisfiedShare": ("Hài lòng (%)", "Satisfied (%)"),
    "points": ("Điểm đạt", "Points"),
    "maxPoints": ("Điểm tối đa", "Maximum points"),
    "trend": ("Hồ sơ theo tháng", "Dossiers per month"),
    "rates": ("Tỷ lệ theo tháng", "Rates per month"),
    "ranking": ("Xếp hạng cơ quan theo tỷ lệ đúng hạn", "Agencies ranked by on-time rate"),
    "index766": (
        "Điểm theo sáu nhóm của Quyết định 766",
        "Points of the six groups of Decision 766",
    ),
    "conformity": ("Tình trạng công bố ISO", "ISO conformity status"),
    "none": ("Chưa có số liệu", "No data yet"),
    "agencies": ("cơ quan", "agencies"),
    # The metrics a number of the dashboard counts (its dossiers' page names them).
    "RECEIVED": ("Tiếp nhận", "Received"),
    "FINISHED": ("Đã giải quyết", "Finished"),
    "ON_TIME": ("Giải quyết đúng hạn", "Finished on time"),
    "FINISHED_LATE": ("Giải quyết trễ hạn", "Finished late"),
    "BACKLOG": ("Tồn cuối kỳ", "Backlog at the end"),
    "BACKLOG_LATE": ("Tồn quá hạn", "Overdue backlog"),
    "LATE": ("Trễ hạn", "Late"),
    "RATED": ("Được đánh giá", "Rated"),
    "SATISFIED": ("Hài lòng", "Satisfied"),
    # The agencies' ISO conformity statuses.
    "ANNOUNCED": ("Đã công bố", "Announced"),
    "BUILDING": ("Đang xây dựng", "Building"),
    "TO_BE_REANNOUNCED": ("Cần công bố lại", "To be re-announced"),
    "NOT_STARTED": ("Chưa bắt đầu", "Not started"),
    # The groups' names in Decision 766/QĐ-TTg's appendix (the Decision has five; eiso's
    # core/qms/index766.py scores "Cung cấp dịch vụ trực tuyến" as online services and payment).
    "TRANSPARENCY": ("Công khai, minh bạch", "Transparency"),
    "PROGRESS": ("Tiến độ, kết quả giải quyết", "Progress and results"),
    "ONLINE_SERVICES": ("Cung cấp dịch vụ trực tuyến", "Online services"),
    "ONLINE_PAYMENT": ("Thanh toán trực tuyến", "Online payment"),
    "SATISFACTION": ("Mức độ hài lòng", "Satisfaction"),
    "DIGITISATION": ("Số hóa hồ sơ", "Digitisation"),
}


def text(key: str, language: str) -> str:
    vi, en = TEXTS[key]
    return vi if language == "vi" else en


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


# Each chart is drawn once for its numbers: a page shown again with the same numbers (the
# past months, a refresh, a colleague's view) takes the SVG drawn before. A drawing depends
# only on the values and texts it is given.
DRAWN = 64  # drawings kept per chart (~5–15 kB each)
Values = tuple[float | int | None, ...]
PERCENTS = (0, 20, 40, 60, 80, 100)


def _counts(language: str) -> draw.Format:
    return lambda value: i18n.number(value, language)


def _percents(language: str) -> draw.Format:
    return lambda value: f"{i18n.number(value, language)} %"


def _span(months: tuple[str, ...], language: str) -> str:
    if not months:
        return text("none", language)
    return f"{months[0]} – {months[-1]}" if language == "vi" else f"{months[0]} to {months[-1]}"


def _monthly(
    key: str, months: tuple[str, ...], series: tuple[tuple[str, Values], ...], language: str
) -> draw.Chart:
    """A chart of the twelve months: `key` its name's, the series named in `language`."""
    named = [(text(name, language), values) for name, values in series]
    span = _span(months, language)
    label = _percents(language) if key == "rates" else _counts(language)
    return draw.Chart(f"chart-{key}", text(key, language), span, months, named, label)


def trend_chart(trend: list[dict[str, Any]], language: str) -> str:
    keys = ("received", "onTime", "late", "backlogLate")
    series = tuple((key, tuple(m.get(key) for m in trend)) for key in keys)
    return _trend(tuple(m["period"] for m in trend), series, language)


@functools.lru_cache(maxsize=DRAWN)
def _trend(months: tuple[str, ...], series: tuple[tuple[str, Values], ...], language: str) -> str:
    return draw.bars(_monthly("trend", months, series, language))


def rates_chart(trend: list[dict[str, Any]], language: str) -> str:
    keys = ("onTimeRate", "satisfiedShare")
    series = tuple((key, tuple(_percent(m.get(key)) for m in trend)) for key in keys)
    return _rates(tuple(m["period"] for m in trend), series, language)


@functools.lru_cache(maxsize=DRAWN)
def _rates(months: tuple[str, ...], series: tuple[tuple[str, Values], ...], language: str) -> str:
    return draw.lines(_monthly("rates", months, series, language), PERCENTS)


def ranking_chart(ranking: list[dict[str, Any]], language: str) -> str:
    shown = tuple((r["name"][:40], _percent(r["onTimeRate"])) for r in ranking[:RANKED])
    return _ranking(shown, language)


@functools.lru_cache(maxsize=DRAWN)
def _ranking(shown: tuple[tuple[str, float | None], ...], language: str) -> str:
    names = [name for name, _ in shown]
    series = [(text("onTimeRate", language), [rate for _, rate in shown])]
    desc = f"{text('onTimeRate', language)}: {len(shown)} {text('agencies', language)}"
    chart = draw.Chart(
        "chart-ranking", text("ranking", language), desc, names, series, _percents(language)
    )
    return draw.horizontal_bars(chart, PERCENTS)


def index766_chart(total: dict[str, Any], language: str) -> str:
    groups = tuple((g["group"], g["maxPoints"], g["points"]) for g in total["index766Groups"])
    return _index766(groups, language)


@functools.lru_cache(maxsize=DRAWN)
def _index766(groups: tuple[tuple[str, float, float], ...], language: str) -> str:
    names = [text(group, language) for group, _, _ in groups]
    series = [
        (text("maxPoints", language), [most for _, most, _ in groups]),
        (text("points", language), [points for _, _, points in groups]),
    ]
    top = max((most for _, most, _ in groups), default=0)
    desc = f"{text('points', language)} / {text('maxPoints', language)}"
    chart = draw.Chart(
        "chart-index766", text("index766", language), desc, names, series, _counts(language)
    )
    return draw.horizontal_bars(chart, draw.whole_steps(top))


def conformity_chart(conformity: dict[str, Any], language: str) -> str:
    counts = tuple((c["status"], c["count"]) for c in conformity["counts"])
    return _conformity(counts, language)


@functools.lru_cache(maxsize=DRAWN)
def _conformity(counts: tuple[tuple[str, int], ...], language: str) -> str:
    named = [(text(status, language), count) for status, count in counts]
    total = sum(count for _, count in counts)
    return draw.ring(
        "chart-conformity",
        text("conformity", language),
        f"{total} {text('agencies', language)}",
        named,
        _counts(language),
        text("none", language),
    )


DRAWINGS = (_trend, _rates, _ranking, _index766, _conformity)


def dashboard_charts(
    total: dict[str, Any],
    trend: list[dict[str, Any]],
    ranking: list[dict[str, Any]],
    conformity: dict[str, Any],
    language: str,
) -> dict[str, str]:
    return {
        "trend": trend_chart(trend, language),
        "rates": rates_chart(trend, language),
        "ranking": ranking_chart(ranking, language),
        "index766": index766_chart(total, language),
        "conformity": conformity_chart(conformity, language),
    }
