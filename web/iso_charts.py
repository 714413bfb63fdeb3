"""The ISO workspace's risk heat map as a picture: SVG drawn on the server by pygal (a dot
chart: a row per likelihood, 5 at the top, a column per impact, each dot as large as the
number of risks there, coloured by the cell's level: likelihood × impact 15 and above high,
8 to 14 medium, below 8 low, as the table's cells), with the console's style and safety (no
script, no CDN, as web/svg_charts.py). The page keeps the table it is drawn from
for screen readers."""

from __future__ import annotations

import re
import sys
from html import escape
from typing import Any

import pygal
from pygal.style import Style

from eiso.web.svg_charts import COLOURS, FONT, INK, SUBTLE

# pygal appends to `sys.meta_path` a finder for its map plugins (`pygal.maps.*`) that has only
# the legacy `find_module`; code that asks every finder for `find_spec` (pytest's conftest
# import did, and failed) trips on it. eiso draws no maps: the finder is taken out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=INK,
    foreground_strong=INK,
    foreground_subtle=SUBTLE,
    colors=COLOURS,
    font_family=FONT,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=13,
    opacity="1",
    opacity_hover="1",
    transition="0ms",
)
# pygal's tooltips load a script from its CDN: they are off (`js=[]`), and the config script
# and comments it still writes into the SVG are dropped.
_DROPPED = re.compile(r"<script\b.*?</script>|<!--.*?-->", re.S)

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


def svg(chart: Any, name: str) -> str:
    """The chart's SVG, without script or comments, named for screen readers."""
    drawn = _DROPPED.sub("", chart.render(is_unicode=True))
    return drawn.replace("<svg ", f'<svg role="img" aria-label="{escape(name)}" ', 1)
