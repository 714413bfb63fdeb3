"""Small charts as SVG written on the server: grouped bars, lines, horizontal bars, a ring.

A drawing is a string built from the values (tens of microseconds a chart, where pygal's
config machinery took 4–9 ms): no script, nothing from elsewhere. Each SVG has a viewBox (it
takes the width of its box), `role="img"` with a name, a `<title>` and a `<desc>`, axis
labels, a legend, and a `<title>` on each bar or point with its label and value (a tooltip
on hover). The ground is white, the text dark and the colours apart in greyscale: it prints
as it shows. Text is XML-escaped; the page keeps each chart's table for screen readers."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from html import escape

# Contrasting colours that stay apart in greyscale print.
COLOURS = ("#0b4f8a", "#2e7d32", "#a1251b", "#7a4b00", "#5e35b1", "#37474f")
FONT = '"Noto Sans", "DejaVu Sans", system-ui, sans-serif'
INK, SUBTLE, GUIDE = "#1b1f24", "#4a5360", "#d5d9de"
WIDTH = 720
LEGEND_COLUMNS = 3
LEGEND_ROW = 24

Value = float | int | None
Series = Sequence[tuple[str, Sequence[Value]]]
Format = Callable[[float], str]


def _text(value: str) -> str:
    return escape(value, quote=True)


def _n(value: float) -> str:
    """A coordinate, short: one decimal at most."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def whole_steps(top: float, steps: int = 5) -> list[int]:
    """Whole-number axis labels from 0 to `top` or just past it, a round step apart (1, 2 or 5
    times a power of ten: counts have no tenths)."""
    rough = max(1.0, top / steps)
    power = 10 ** math.floor(math.log10(rough))
    step = next(int(m * power) for m in (1, 2, 5, 10) if m * power >= rough)
    last = max(step, math.ceil(top / step) * step)
    return list(range(0, last + 1, step))


def _guide(line: str, at: str, label: str) -> str:
    """A guide line across the plot at a tick, and the tick's label at `at`."""
    return f'<line {line} stroke="{GUIDE}"/><text {at} fill="{SUBTLE}">{_text(label)}</text>'


def _tip(name: str, value: str) -> str:
    """A mark's `<title>`: what it is and its value, as the table writes it."""
    return f"<title>{_text(name)}: {_text(value)}</title>"


def _open(key: str, name: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'role="img" aria-labelledby="{key}-title {key}-desc" class="chart-svg" '
        f'font-family="{_text(FONT)}" font-size="13" fill="{INK}">',
        f'<title id="{key}-title">{_text(name)}</title><desc id="{key}-desc">{_text(desc)}</desc>',
        f'<rect width="{WIDTH}" height="{_n(height)}" fill="#ffffff"/>',
    ]


def _legend(names: Sequence[str], top: float) -> list[str]:
    """Coloured squares and the series' names, three a row, under the plot."""
    parts = ['<g class="legend" font-size="14">']
    column = (WIDTH - 24) / LEGEND_COLUMNS
    for index, name in enumerate(names):
        x = 12 + column * (index % LEGEND_COLUMNS)
        y = top + LEGEND_ROW * (index // LEGEND_COLUMNS)
        colour = COLOURS[index % len(COLOURS)]
        parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="14" height="14" fill="{colour}"/>'
            f'<text x="{_n(x + 20)}" y="{_n(y + 12)}">{_text(name)}</text>'
        )
    parts.append("</g>")
    return parts


def _legend_height(count: int) -> float:
    return LEGEND_ROW * math.ceil(count / LEGEND_COLUMNS) + 8


def _y_axis(
    ticks: Sequence[float], left: float, right: float, y_of: Callable[[float], float], label: Format
) -> list[str]:
    parts = ['<g class="axis y">']
    for tick in ticks:
        y = _n(y_of(tick))
        line = f'x1="{_n(left)}" x2="{_n(right)}" y1="{y}" y2="{y}"'
        parts.append(
            _guide(line, f'x="{_n(left - 6)}" y="{y}" dy="4" text-anchor="end"', label(tick))
        )
    parts.append("</g>")
    return parts


def _x_labels(categories: Sequence[str], x_of: Callable[[int], float], y: float) -> list[str]:
    """The categories' names under the plot, turned 45° so twelve months fit."""
    parts = ['<g class="axis x">']
    for index, category in enumerate(categories):
        x = _n(x_of(index))
        parts.append(
            f'<text x="{x}" y="{_n(y)}" text-anchor="end" transform="rotate(-45 {x} {_n(y)})">'
            f"{_text(category)}</text>"
        )
    parts.append("</g>")
    return parts


class _Plot:
    """A vertical plot's frame: categories across, values 0..top up, room for the labels."""

    left, right, top_margin, x_room = 64.0, 12.0, 12.0, 64.0

    def __init__(self, categories: Sequence[str], top: float, series: int, height: float):
        self.count = max(1, len(categories))
        self.top = top or 1
        self.bottom = height - _legend_height(series) - self.x_room
        self.band = (WIDTH - self.left - self.right) / self.count

    def x(self, index: int) -> float:
        return self.left + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        share = min(max(value / self.top, 0), 1)
        return self.bottom - share * (self.bottom - self.top_margin)


@dataclasses.dataclass(frozen=True)
class Chart:
    """What a chart shows: its key (its SVG's ids), name, description, the categories across
    (or down), the series and how a value is written."""

    key: str
    name: str
    desc: str
    categories: Sequence[str]
    series: Series
    label: Format

    def tip(self, index: int, series: str, value: float) -> str:
        return _tip(f"{self.categories[index]} · {series}", self.label(value))


Marks = Callable[[_Plot, int, str, Sequence[Value]], str]


def _vertical(chart: Chart, ticks: Sequence[float], height: float, marks: Marks) -> str:
    """The frame of a vertical chart (guides, months, legend) around each series' marks."""
    plot = _Plot(chart.categories, ticks[-1], len(chart.series), height)
    parts = _open(chart.key, chart.name, chart.desc, height)
    parts += _y_axis(ticks, plot.left, WIDTH - plot.right, plot.y, chart.label)
    for number, (series_name, values) in enumerate(chart.series):
        colour = COLOURS[number % len(COLOURS)]
        parts.append(f'<g class="series" fill="{colour}">')
        parts.append(marks(plot, number, series_name, values))
        parts.append("</g>")
    parts += _x_labels(chart.categories, plot.x, plot.bottom + 16)
    parts += _legend([n for n, _ in chart.series], plot.bottom + plot.x_room)
    parts.append("</svg>")
    return "".join(parts)


def bars(chart: Chart, height: float = 360) -> str:
    """Grouped vertical bars: a group per category, a bar per series (none for no value)."""
    values = (v for _, series in chart.series for v in series if v is not None)
    width_of_group = 0.8

    def marks(plot: _Plot, number: int, series: str, values: Sequence[Value]) -> str:
        width = plot.band * width_of_group / max(1, len(chart.series))
        drawn = []
        for index, value in enumerate(values):
            if value is None:
                continue
            x = plot.x(index) - plot.band * width_of_group / 2 + width * number
            y = plot.y(value)
            drawn.append(
                f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" '
                f'height="{_n(plot.bottom - y)}">{chart.tip(index, series, value)}</rect>'
            )
        return "".join(drawn)

    return _vertical(chart, whole_steps(max(values, default=0)), height, marks)


def lines(chart: Chart, ticks: Sequence[float], height: float = 360) -> str:
    """A line per series over the categories, a dot on each value, broken where none is."""

    def marks(plot: _Plot, number: int, series: str, values: Sequence[Value]) -> str:
        colour = COLOURS[number % len(COLOURS)]
        path, dots, gap = [], [], True
        for index, value in enumerate(values):
            if value is None:
                gap = True
                continue
            x, y = _n(plot.x(index)), _n(plot.y(value))
            path.append(f"{'M' if gap else 'L'}{x} {y}")
            gap = False
            tip = chart.tip(index, series, value)
            dots.append(f'<circle class="point" cx="{x}" cy="{y}" r="4">{tip}</circle>')
        return (
            f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2.5"/>'
            + "".join(dots)
        )

    return _vertical(chart, ticks, height, marks)


def horizontal_bars(chart: Chart, ticks: Sequence[float]) -> str:
    """A row per category (the first on top), a bar per series, its value printed at its end;
    a legend when there is more than one series."""
    categories, series, label = chart.categories, chart.series, chart.label
    row = 16 + 14 * len(series)
    legend = _legend_height(len(series)) if len(series) > 1 else 0
    height = 12 + row * max(1, len(categories)) + 28 + legend
    longest = max((len(c) for c in categories), default=0)
    left = min(300.0, 7.2 * longest + 20)
    right = WIDTH - 56  # room for a value printed past the longest bar
    bottom = 12 + row * max(1, len(categories))
    top = ticks[-1] or 1

    def x_of(value: float) -> float:
        return left + min(max(value / top, 0), 1) * (right - left)

    parts = _open(chart.key, chart.name, chart.desc, height)
    parts.append('<g class="axis x">')
    for tick in ticks:
        x = _n(x_of(tick))
        line = f'x1="{x}" x2="{x}" y1="12" y2="{_n(bottom)}"'
        at = f'x="{x}" y="{_n(bottom + 18)}" text-anchor="middle"'
        parts.append(_guide(line, at, label(tick)))
    parts.append('</g><g class="axis y">')
    for index, category in enumerate(categories):
        y = 12 + row * (index + 0.5)
        parts.append(
            f'<text x="{_n(left - 8)}" y="{_n(y)}" dy="4" text-anchor="end">'
            f"{_text(category)}</text>"
        )
    parts.append("</g>")
    for number, (series_name, values) in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        parts.append(f'<g class="series" fill="{colour}">')
        for index, value in enumerate(values):
            if value is None:
                continue
            y = 12 + row * index + 8 + 14 * number
            end = x_of(value)
            parts.append(
                f'<rect class="bar" x="{_n(left)}" y="{_n(y)}" width="{_n(end - left)}" '
                f'height="12">{chart.tip(index, series_name, value)}</rect>'
                f'<text class="value" x="{_n(end + 4)}" y="{_n(y + 11)}" fill="{INK}" '
                f'font-size="12">{_text(label(value))}</text>'
            )
        parts.append("</g>")
    if legend:
        parts += _legend([n for n, _ in series], bottom + 32)
    parts.append("</svg>")
    return "".join(parts)


def ring(
    key: str, name: str, desc: str, parts_of: Sequence[tuple[str, int]], label: Format, empty: str
) -> str:
    """A ring cut in the shares of `parts_of` (name, count), each count printed on its cut."""
    shown = [(n, count) for n, count in parts_of if count]
    total = sum(count for _, count in shown)
    legend_top = 290.0
    height = legend_top + _legend_height(len(parts_of))
    parts = _open(key, name, desc, height)
    cx, cy, radius, thickness = WIDTH / 2, 142.0, 100.0, 56.0
    if not total:
        parts.append(
            f'<text x="{_n(cx)}" y="{_n(cy)}" text-anchor="middle" font-size="16">'
            f"{_text(empty)}</text>"
        )
    start = 0.0
    for number, (part_name, count) in enumerate(parts_of):
        if not count:
            continue
        share = count / total * 100
        colour = COLOURS[number % len(COLOURS)]
        # A dash along a circle of path length 100 from the top, clockwise: the share's arc.
        tip = _tip(part_name, label(count))
        parts.append(
            f'<circle class="slice" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(radius)}" fill="none" '
            f'stroke="{colour}" stroke-width="{_n(thickness)}" pathLength="100" '
            f'stroke-dasharray="{share:.3f} {100 - share:.3f}" '
            f'stroke-dashoffset="{-start:.3f}" transform="rotate(-90 {_n(cx)} {_n(cy)})">'
            f"{tip}</circle>"
        )
        middle = (start + share / 2) / 100 * 2 * math.pi
        x, y = cx + radius * math.sin(middle), cy - radius * math.cos(middle)
        parts.append(
            f'<text class="value" x="{_n(x)}" y="{_n(y)}" dy="5" text-anchor="middle" '
            f'fill="#ffffff" font-weight="bold" stroke="{colour}" stroke-width="3" '
            f'paint-order="stroke">{_text(label(count))}</text>'
        )
        start += share
    parts += _legend([n for n, _ in parts_of], legend_top)
    parts.append("</svg>")
    return "".join(parts)
