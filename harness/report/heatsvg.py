"""A family's heatmap as SVG: one row per scenario, one column per backend pair, drawn without matplotlib.

SVG is text: the same comparison gives the same bytes, it stays sharp at any zoom on a GitHub page,
and writing it costs microseconds per cell (matplotlib's import and one figure took over a second).
The colour is how many tolerances apart the pair is (log scale, 1 in the middle); a cell whose pair
failed, was explained by a known divergence or compared no values says so in words: "known: mask",
"known: warnings", "both error", ... The cell values and marks come from heatmap.heat_cell.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

ROW_H = 20
MAX_ROWS = 200  # a taller figure is no longer read on a page
COL_W = 150
CHAR_W = 7.0  # width of one 12 px monospace character
LEGEND_H = 62
LEGEND_W = 140 + 78 * 7 + 114
# A blue-white-red scale over log10(tolerances apart) in [-3, 3], as (position, RGB).
STOPS = ((-3.0, (59, 76, 192)), (-1.0, (141, 176, 254)), (0.0, (221, 221, 221)),
         (1.0, (244, 154, 123)), (3.0, (180, 4, 38)))
NO_VALUES = "#bbbbbb"
RAW_WORDS = {"mask-differs": "mask", "warnings-differ": "warnings", "differs": "values",
             "differs-masked-only": "masked steps", "error-differs": "error", "shape-differs": "shape",
             "dtype-differs": "dtype", "missing": "missing", "nondeterministic": "nondeterministic"}


def colour(value: float) -> str:
    if math.isnan(value):
        return NO_VALUES
    value = max(STOPS[0][0], min(STOPS[-1][0], value))
    for (x0, c0), (x1, c1) in zip(STOPS, STOPS[1:]):
        if value <= x1:
            t = (value - x0) / (x1 - x0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in STOPS[-1][1])


def mark(pair, heat_mark: str) -> str:
    """The words in a cell: a known divergence names what differed (its raw verdict)."""
    if pair.verdict == "known" and heat_mark == "known":
        return f"known: {RAW_WORDS.get(pair.raw_verdict, pair.raw_verdict)}"
    return heat_mark


def draw(comparison, scenarios: list[str], title: str) -> str:
    """The SVG text for these scenarios (rows, in the order given) of a comparison; a family of more
    than MAX_ROWS scenarios shows those with the largest differences, in the order given."""
    from harness.report.heatmap import heat_cell

    pairs = comparison.pairs
    if len(scenarios) > MAX_ROWS:
        cells = {name: [heat_cell(comparison.get(name, a, b)) for a, b in pairs] for name in scenarios}

        def worst(name: str) -> float:  # marked cells (errors, divergences) first, then the largest
            return max(4.0 if m else (-3.0 if math.isnan(v) else v) for v, m in cells[name])

        shown = set(sorted(scenarios, key=lambda n: -worst(n))[:MAX_ROWS])
        title += f" ({MAX_ROWS} of {len(scenarios)} scenarios: the largest differences)"
        scenarios = [n for n in scenarios if n in shown]
    label_w = int(max([len(s) for s in scenarios] + [20]) * CHAR_W) + 16
    width = max(label_w + COL_W * len(pairs) + 8, LEGEND_W)
    top = LEGEND_H + 34  # the legend, then the column titles
    height = top + ROW_H * len(scenarios) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="4" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    out += _legend(y=24)
    for j, (a, b) in enumerate(pairs):
        x = label_w + COL_W * j + COL_W / 2
        out.append(f'<text x="{x:.0f}" y="{top - 18}" text-anchor="middle">{escape(_short(a))}</text>')
        out.append(f'<text x="{x:.0f}" y="{top - 5}" text-anchor="middle">vs {escape(_short(b))}</text>')
    for i, name in enumerate(scenarios):
        y = top + ROW_H * i
        out.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        for j, (a, b) in enumerate(pairs):
            pair = comparison.get(name, a, b)
            value, heat_mark = heat_cell(pair)
            x = label_w + COL_W * j
            fill = colour(value)
            # a known divergence gets a dashed outline, an unexplained one a solid black one
            edge = {"known": ' stroke="#000000" stroke-dasharray="3,2"'}.get(
                pair.verdict, "" if pair.verdict in ("match", "both-error") else ' stroke="#000000" stroke-width="2"')
            out.append(f'<rect x="{x}" y="{y}" width="{COL_W - 2}" height="{ROW_H - 2}" fill="{fill}"{edge}/>')
            words = mark(pair, heat_mark)
            if words:
                weight = "" if pair.verdict in ("known", "both-error", "match") else ' font-weight="bold"'
                ink = "#ffffff" if _dark(fill) else "#000000"
                out.append(f'<text x="{x + (COL_W - 2) / 2:.0f}" y="{y + 13}" text-anchor="middle"'
                           f' font-size="11" fill="{ink}"{weight}>{escape(words)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(y: int) -> list[str]:
    """Seven swatches: the scale in tolerances apart, then grey for no values compared."""
    labels = ("≤0.001", "0.01", "0.1", "1 (limit)", "10", "100", "≥1000")
    out = [f'<text x="4" y="{y + 12}">tolerances apart:</text>']
    for k, label in enumerate(labels):
        x = 140 + 78 * k
        out.append(f'<rect x="{x}" y="{y}" width="74" height="16" fill="{colour(k - 3.0)}"/>')
        out.append(f'<text x="{x + 37}" y="{y + 12}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    x = 140 + 78 * len(labels)
    out.append(f'<rect x="{x}" y="{y}" width="110" height="16" fill="{NO_VALUES}"/>')
    out.append(f'<text x="{x + 55}" y="{y + 12}" text-anchor="middle" font-size="11">no values</text>')
    out.append(f'<rect x="140" y="{y + 22}" width="30" height="12" fill="#ffffff" stroke="#000000" '
               'stroke-dasharray="3,2"/>')
    out.append(f'<text x="176" y="{y + 32}" font-size="11">known divergence (what differs in words)</text>')
    out.append(f'<rect x="470" y="{y + 22}" width="30" height="12" fill="#ffffff" stroke="#000000" '
               'stroke-width="2"/>')
    out.append(f'<text x="506" y="{y + 32}" font-size="11">unexplained divergence</text>')
    return out


def _dark(fill: str) -> bool:
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 128


def _short(label: str) -> str:
    return label.removesuffix("-cpu")
