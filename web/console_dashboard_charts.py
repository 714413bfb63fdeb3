"""The dashboard's charts: SVG drawn on the server by pygal, embedded inline in the page.

pygal's interactive tooltips load a script from its CDN: they are off (`js=[]`), and the
config script and comments it still writes into the SVG are dropped, so the page loads
nothing from elsewhere and runs no script. Each chart is a static picture (white ground,
dark text, patterns of contrasting colours: it prints as it shows) with a name for screen
readers; the page shows the table each is drawn from next to it."""

from __future__ import annotations

import functools
import math
import re
import sys
from typing import Any

import pygal
from pygal.style import Style

# pygal appends to `sys.meta_path` a finder for its map plugins (`pygal.maps.*`) that has only
# the legacy `find_module`; code that asks every finder for `find_spec` (pytest's conftest
# import did, and failed) trips on it. eiso draws no maps: the finder is taken out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

# Contrasting colours that stay apart in greyscale print.
COLOURS = ("#0b4f8a", "#2e7d32", "#a1251b", "#7a4b00", "#5e35b1", "#37474f")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#4a5360",
    colors=COLOURS,
    font_family='"Noto Sans", "DejaVu Sans", system-ui, sans-serif',
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=13,
    opacity="1",
    opacity_hover="1",
    transition="0ms",
)
_DROPPED = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.S)
RANKED = 15  # agencies in the ranking's chart (the table has them all)

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
}
STATUS_TEXTS = {
    "ANNOUNCED": ("Đã công bố", "Announced"),
    "BUILDING": ("Đang xây dựng", "Building"),
    "TO_BE_REANNOUNCED": ("Cần công bố lại", "To be re-announced"),
    "NOT_STARTED": ("Chưa bắt đầu", "Not started"),
}
# The groups' names in Decision 766/QĐ-TTg's appendix (the Decision has five; eiso's
# core/qms/index766.py scores "Cung cấp dịch vụ trực tuyến" as online services and payment).
GROUP_TEXTS = {
    "TRANSPARENCY": ("Công khai, minh bạch", "Transparency"),
    "PROGRESS": ("Tiến độ, kết quả giải quyết", "Progress and results"),
    "ONLINE_SERVICES": ("Cung cấp dịch vụ trực tuyến", "Online services"),
    "ONLINE_PAYMENT": ("Thanh toán trực tuyến", "Online payment"),
    "SATISFACTION": ("Mức độ hài lòng", "Satisfaction"),
    "DIGITISATION": ("Số hóa hồ sơ", "Digitisation"),
}


def text(key: str, language: str, table: dict[str, tuple[str, str]] = TEXTS) -> str:
    vi, en = table[key]
    return vi if language == "vi" else en


def _config(language: str, **options: Any) -> dict[str, Any]:
    return {
        "style": STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "explicit_size": False,  # the viewBox only: the SVG takes the width of its box
        "width": 720,
        "height": 360,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 3,
        "show_y_guides": True,
        "print_zeroes": True,
        "no_data_text": text("none", language),
        "margin": 12,
        **options,
    }


def svg(chart: Any, name: str) -> str:
    """The chart's SVG, without script or comments, named for screen readers."""
    drawn = _DROPPED.sub("", chart.render(is_unicode=True))
    return drawn.replace("<svg ", f'<svg role="img" aria-label="{_escape(name)}" ', 1)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def whole_steps(top: int, steps: int = 5) -> list[int]:
    """Whole-number axis labels from 0 past `top` (counts have no tenths)."""
    step = max(1, math.ceil(top / steps))
    return list(range(0, top + step + 1, step))


# Each chart is drawn once for its numbers: a page shown again with the same numbers (the
# past months, a refresh, a colleague's view) takes the SVG drawn before. pygal's cost is
# its own (each option read through its config's attribute lookup: ~2–9 ms a chart); a
# drawing depends only on the values and texts it is given.
DRAWN = 64  # drawings kept per chart (~10–30 kB each)
Values = tuple[float | int | None, ...]


def trend_chart(trend: list[dict[str, Any]], language: str) -> str:
    keys = ("received", "onTime", "late", "backlogLate")
    series = tuple((key, tuple(m.get(key) for m in trend)) for key in keys)
    return _trend(tuple(m["period"] for m in trend), series, language)


@functools.lru_cache(maxsize=DRAWN)
def _trend(months: tuple[str, ...], series: tuple[tuple[str, Values], ...], language: str) -> str:
    top = max((value or 0 for _, values in series for value in values), default=0)
    chart = pygal.Bar(**_config(language, x_label_rotation=-45, y_labels=whole_steps(int(top))))
    chart.x_labels = list(months)
    for key, values in series:
        chart.add(text(key, language), list(values))
    return svg(chart, text("trend", language))


def rates_chart(trend: list[dict[str, Any]], language: str) -> str:
    keys = ("onTimeRate", "satisfiedShare")
    series = tuple((key, tuple(_percent(m.get(key)) for m in trend)) for key in keys)
    return _rates(tuple(m["period"] for m in trend), series, language)


@functools.lru_cache(maxsize=DRAWN)
def _rates(months: tuple[str, ...], series: tuple[tuple[str, Values], ...], language: str) -> str:
    chart = pygal.Line(**_config(language, x_label_rotation=-45, range=(0, 100), dots_size=4))
    chart.x_labels = list(months)
    for key, values in series:
        chart.add(text(key, language), list(values))
    return svg(chart, text("rates", language))


def ranking_chart(ranking: list[dict[str, Any]], language: str) -> str:
    # HorizontalBar draws the first label at the bottom: reversed, the best comes first.
    shown = tuple((r["name"][:40], _percent(r["onTimeRate"])) for r in reversed(ranking[:RANKED]))
    return _ranking(shown, language)


@functools.lru_cache(maxsize=DRAWN)
def _ranking(shown: tuple[tuple[str, float | None], ...], language: str) -> str:
    height = max(200, 40 + 28 * len(shown))
    chart = pygal.HorizontalBar(
        **_config(language, height=height, range=(0, 100), show_legend=False, print_values=True)
    )
    labels: list[Any] = [name for name, _ in shown]
    chart.x_labels = labels
    chart.add(text("onTimeRate", language), [rate for _, rate in shown])
    return svg(chart, text("ranking", language))


def index766_chart(total: dict[str, Any], language: str) -> str:
    groups = tuple((g["group"], g["maxPoints"], g["points"]) for g in total["index766Groups"])
    return _index766(groups, language)


@functools.lru_cache(maxsize=DRAWN)
def _index766(groups: tuple[tuple[str, float, float], ...], language: str) -> str:
    chart = pygal.HorizontalBar(**_config(language, height=320))
    labels: list[Any] = [text(group, language, GROUP_TEXTS) for group, _, _ in reversed(groups)]
    chart.x_labels = labels
    chart.add(text("maxPoints", language), [most for _, most, _ in reversed(groups)])
    chart.add(text("points", language), [points for _, _, points in reversed(groups)])
    return svg(chart, text("index766", language))


def conformity_chart(conformity: dict[str, Any], language: str) -> str:
    counts = tuple((c["status"], c["count"]) for c in conformity["counts"])
    return _conformity(counts, language)


@functools.lru_cache(maxsize=DRAWN)
def _conformity(counts: tuple[tuple[str, int], ...], language: str) -> str:
    chart = pygal.Pie(**_config(language, height=320, inner_radius=0.4, print_values=True))
    for status, count in counts:
        if count:
            chart.add(text(status, language, STATUS_TEXTS), count)
    return svg(chart, text("conformity", language))


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
