"""The ISO workspace's risk heat map as a picture: SVG drawn on the server by pygal (a dot
chart: a row per likelihood, 5 at the top, a column per impact, each dot as large as the
number of risks there, coloured by the cell's level: likelihood × impact 15 and above high,
8 to 14 medium, below 8 low, as the table's cells), with the console's style and safety (no
script, no CDN, web/console_dashboard_charts.py). The page keeps the table it is drawn from
for screen readers."""

from __future__ import annotations

import re
from typing import Any

import pygal

from eiso.web.console_dashboard_charts import STYLE, svg

# A dot's colour by its cell's level (the heat map table's classes heat-high/-medium/-low):
# red, amber, green of the console's colours, apart in greyscale print too.
BANDS = ((15, "#a1251b"), (8, "#7a4b00"), (1, "#2e7d32"))
_DOT_COLOUR = re.compile(r'<g class="dots" style="([^"]+)"><circle ')
TEXTS = {
    "vi": ("Bản đồ nhiệt rủi ro: khả năng xảy ra × mức ảnh hưởng", "Khả năng", "Mức ảnh hưởng"),
    "en": ("Risk heat map: likelihood × impact", "Likelihood", "Impact"),
}


def heat_chart(grid: list[tuple[int, list[list[dict[str, Any]]]]], language: str) -> str:
    """The SVG of `grid` (iso_workspace.heat_map): rows of likelihood, cells of risks."""
    name, likelihood, impact = TEXTS.get(language, TEXTS["vi"])
    chart = pygal.Dot(
        style=STYLE,
        js=[],
        disable_xml_declaration=True,
        explicit_size=False,
        width=480,
        height=300,
        margin=12,
        show_legend=False,
        x_title=impact,
        y_title=likelihood,
        print_values=True,
        print_zeroes=False,  # an empty cell shows nothing
    )
    chart.x_labels = [str(column) for column in range(1, 6)]
    for row, cells in grid:
        dots: list[Any] = [
            {"value": float(len(found)), "color": colour(row * column)}
            for column, found in enumerate(cells, start=1)
        ]
        chart.add(f"{likelihood} {row}", dots)
    # pygal puts a value's colour on the dot's group, where the series' CSS on the dot itself
    # wins: the colour is moved onto the dot.
    return _DOT_COLOUR.sub(r'<g class="dots"><circle style="\1" ', svg(chart, name))


def colour(level: int) -> str:
    """The colour of a risk level (likelihood × impact, 1-25)."""
    return next(colour for floor, colour in BANDS if level >= floor)
