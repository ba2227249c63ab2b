"""Server-rendered SVG: the what-if decision tree and the law's timeline charts.

Drawn on the server so that the page needs no script to show them and prints as it looks; every text is escaped
(``markupsafe.escape``) before it goes into the markup. The charts only lay out what the views say (``what_if_view``
branches, ``timeline_view`` and ``law_view``): nothing here decides anything.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

FONT = 13  # px; the charts are sized for it
LINE = 17
CHAR = 6.7  # px per character of the font, on average, to wrap text into a box

# Outcome → the colour class of its box (styled in site.css, print too).
TONE = {
    "released": "good",
    "released_from_punishment": "good",
    "conditionally_released": "open",
    "suspended": "open",
    "eligible": "open",
    "resumed": "warn",
    "not_covered": "bad",
    "terminated_death": "end",
}


def _lines(text: str, width: float, char: float = CHAR) -> list[str]:
    return textwrap.wrap(text, max(8, int(width / char))) or [""]


def _text(x: float, y: float, lines: Sequence[str], cls: str = "") -> str:
    spans = "".join(f'<tspan x="{x:.0f}" dy="{0 if i == 0 else LINE}">{escape(t)}</tspan>' for i, t in enumerate(lines))
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.0f}" y="{y:.0f}"{klass}>{spans}</text>'


def _box(x: float, y: float, w: float, h: float, cls: str) -> str:
    return f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="6" class="{cls}"/>'


def what_if_tree(view: dict[str, Any], heads: tuple[str, str, str], now_label: str, title: str) -> Markup:
    """The case now (left), each next step the law allows (middle) and where it leads with its provisions (right),
    under three headings (``heads``: "Now", "If this happens", "The case becomes")."""
    col = (200.0, 300.0, 320.0)
    gap = 36.0
    x0, x1, x2 = 8.0, 8.0 + col[0] + gap, 8.0 + col[0] + col[1] + 2 * gap
    pad = 10.0
    rows = []
    y = 34.0
    for b in view["what_if"]:
        step = _lines(b["label"], col[1] - 2 * pad)
        out = _lines(b["outcome_label"], col[2] - 2 * pad, 7.0)
        cites = _lines("; ".join(c["text"] for c in b["citations"]), col[2] - 2 * pad, 6.2)
        h = max(len(step), len(out) + len(cites)) * LINE + 2 * pad
        rows.append((y, h, b, step, out, cites))
        y += h + 12
    total = max(y - 4, 120.0)
    root_lines = [now_label, *_lines(view["outcome_label"], col[0] - 2 * pad, 7.0)]
    root_h = len(root_lines) * LINE + 2 * pad
    root_y = max(34.0, (total + 26 - root_h) / 2)
    width = x2 + col[2] + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="tree" viewBox="0 0 {width:.0f} {total:.0f}" '
        f'width="{width:.0f}" height="{total:.0f}" role="img" aria-labelledby="tree-title">',
        f'<title id="tree-title">{escape(title)}</title>',
        *(_text(x, 18, [h], "head") for x, h in zip((x0, x1, x2), heads, strict=True)),
        _box(x0, root_y, col[0], root_h, "node " + TONE.get(view["outcome"], "open")),
        _text(x0 + pad, root_y + pad + FONT, root_lines, "label strong"),
    ]
    for y, h, b, step, out, cites in rows:
        mid = y + h / 2
        parts.append(
            f'<path class="edge" d="M{x0 + col[0]:.0f},{root_y + root_h / 2:.0f} '
            f'C{x1 - gap / 2:.0f},{root_y + root_h / 2:.0f} {x1 - gap / 2:.0f},{mid:.0f} {x1:.0f},{mid:.0f}"/>'
        )
        parts.append(f'<path class="edge" d="M{x1 + col[1]:.0f},{mid:.0f} H{x2 - 2:.0f}" marker-end="url(#arrow)"/>')
        parts.append(_box(x1, y, col[1], h, "node step"))
        parts.append(_text(x1 + pad, mid - (len(step) - 1) * LINE / 2 + 4, step, "label"))
        parts.append(_box(x2, y, col[2], h, "node " + TONE.get(b["outcome"], "open")))
        parts.append(_text(x2 + pad, y + pad + FONT, out, "label strong"))
        parts.append(_text(x2 + pad, y + pad + FONT + len(out) * LINE, cites, "cite"))
    parts.append(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs></svg>'
    )
    return Markup("".join(parts))


def _x(day: dt.date, start: dt.date, end: dt.date, left: float, width: float) -> float:
    day = min(max(day, start), end)
    return left + width * (day - start).days / (end - start).days


def _axis(start: dt.date, end: dt.date, left: float, width: float, top: float, bottom: float) -> list[str]:
    out = []
    for year in range(start.year, end.year + 1):
        x = _x(dt.date(year, 1, 1), start, end, left, width)
        out.append(f'<line class="grid" x1="{x:.0f}" y1="{top:.0f}" x2="{x:.0f}" y2="{bottom:.0f}"/>')
        out.append(f'<text class="tick" x="{x:.0f}" y="{bottom + 16:.0f}" text-anchor="middle">{year}</text>')
    return out


_SHORT = re.compile(r" «| \(| amending | on the | on ")


def _label(right: float, y: float, row_h: float, title: str) -> str:
    """A row's name, right-aligned before the chart, in at most two lines: an instrument's name up to its subject
    («…», "on …", "amending …"), the full title being in the table below and the bar's tooltip."""
    short = _SHORT.split(title, maxsplit=1)[0] if len(title) > 46 else title
    lines = textwrap.wrap(short, 42)
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), 42, placeholder=" …")]
    top = y + row_h / 2 - (len(lines) - 1) * 7 + 2
    spans = "".join(
        f'<tspan x="{right:.0f}" dy="{0 if i == 0 else 14}">{escape(t)}</tspan>' for i, t in enumerate(lines)
    )
    return f'<text x="{right:.0f}" y="{top:.0f}" class="rowlabel end-anchor">{spans}</text>'


def timeline_chart(
    items: list[dict[str, Any]],
    start: dt.date,
    end: dt.date,
    title: str,
    open_label: str,
    since: Callable[[int], str],
) -> Markup:
    """One bar per instrument version from its first to its last day (open to the right while in force), dashed
    when unconfirmed, hatched when only documented; each bar links to the instrument's first source."""
    label_w, chart_w, row_h = 300.0, 560.0, 38.0
    left = label_w + 10
    height = 20 + row_h * len(items) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {left + chart_w + 20:.0f} {height:.0f}" '
        f'width="{left + chart_w + 20:.0f}" height="{height:.0f}" role="group" aria-labelledby="timeline-title">',
        f'<title id="timeline-title">{escape(title)}</title>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" class="hatch-bg"/><line x1="0" y1="0" x2="0" y2="6" class="hatch-line"/>'
        "</pattern></defs>",
        *_axis(start, end, left, chart_w, 10, height - 30),
    ]
    for i, item in enumerate(items):
        y = 20 + i * row_h
        frm = dt.date.fromisoformat(item["from"])
        to = dt.date.fromisoformat(item["to"]) if item["to"] else end
        x_a, x_b = _x(frm, start, end, left, chart_w), _x(to, start, end, left, chart_w)
        flags = " ".join(item["flags"])
        parts.append(_label(label_w, y, row_h, item["title"]))
        bar = (
            f'<rect x="{x_a:.0f}" y="{y + 4:.0f}" width="{max(x_b - x_a, 4):.0f}" height="{row_h - 12:.0f}" '
            f'rx="3" class="bar {escape(flags)}"><title>{escape(item["title"])}: {escape(item["from"])} — '
            f"{escape(item['to'] or open_label)}</title></rect>"
        )
        if item["sources"]:
            bar = f'<a href="{escape(item["sources"][0])}" target="_blank" rel="noopener noreferrer">{bar}</a>'
        parts.append(bar)
        if frm < start:
            parts.append(_text(x_a + 6, y + row_h / 2 + 2, [since(frm.year)], "onbar"))
        for m in item["milestones"]:
            mx = _x(dt.date.fromisoformat(m["date"]), start, end, left, chart_w)
            parts.append(
                f'<circle cx="{mx:.0f}" cy="{y + row_h / 2 - 2:.0f}" r="4" class="milestone">'
                f"<title>{escape(m['date'])}: {escape(m['text'])}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def coverage_chart(
    rows: list[tuple[str, list[tuple[dt.date, dt.date, bool, str]]]], start: dt.date, end: dt.date, title: str
) -> Markup:
    """Which stages had a route from when: one row per stage, a segment per period between the law's boundaries,
    filled where the stage was covered (the segment's tooltip names the route's instrument)."""
    label_w, chart_w, row_h = 300.0, 560.0, 30.0
    left = label_w + 10
    height = 20 + row_h * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {left + chart_w + 20:.0f} {height:.0f}" '
        f'width="{left + chart_w + 20:.0f}" height="{height:.0f}" role="img" aria-labelledby="coverage-title">',
        f'<title id="coverage-title">{escape(title)}</title>',
        *_axis(start, end, left, chart_w, 10, height - 30),
    ]
    for i, (label, segments) in enumerate(rows):
        y = 20 + i * row_h
        parts.append(_label(label_w, y, row_h, label))
        for a, b, covered, why in segments:
            if b <= start:
                continue
            xa, xb = _x(a, start, end, left, chart_w), _x(b, start, end, left, chart_w)
            cls = "seg covered" if covered else "seg"
            parts.append(
                f'<rect x="{xa:.0f}" y="{y + 3:.0f}" width="{max(xb - xa, 1):.0f}" height="{row_h - 10:.0f}" '
                f'class="{cls}"><title>{escape(a.isoformat())} — {escape(why)}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
