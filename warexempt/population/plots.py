"""The report's figures: each drawn from a plain data frame (which ``publish`` also writes), with its caption.

Why a frame per figure: a journalist who wants the numbers behind a chart finds exactly those numbers in the SQLite
file, and a test can feed a figure real outputs without the parts that make them. Every figure carries its sources
and assumptions twice: printed under the chart itself (so a PNG passed around keeps them) and as the ``caption``
the HTML report shows. matplotlib is imported lazily (it costs a second) and used without pyplot's global state,
with the Agg backend; the SVG output is made deterministic (fixed hash salt, no date), so one seed gives one file.
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLOURS = ("#1b6ca8", "#d1495b", "#3b3b3b", "#edae49", "#66a182", "#8d6a9f", "#00798c", "#a0a0a0")
WIDTH = 9.0  # inches; the report shows figures at the page's width


@dataclass(frozen=True)
class Chart:
    """One figure: its id (file stem and table name), title, caption (sources and assumptions), the SVG to embed,
    the PNG, and the data drawn."""

    id: str
    title: str
    caption: str
    svg: str
    png: bytes
    data: pl.DataFrame

    def write(self, folder: Path) -> list[Path]:
        """``ID.svg`` and ``ID.png`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        svg, png = folder / f"{self.id}.svg", folder / f"{self.id}.png"
        svg.write_text(self.svg, encoding="utf-8")
        png.write_bytes(self.png)
        return [svg, png]


def _figure(height: float, caption: str) -> tuple[Figure, Axes]:
    """A figure with the chart's axes on top and the caption, wrapped, in a row of its own below it."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {"svg.hashsalt": "warexempt", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9}
    )
    from matplotlib.figure import Figure

    cyrillic = sum("\u0400" <= ch <= "\u04ff" for ch in caption) > len(caption) / 4
    lines = textwrap.wrap(caption, width=150 if cyrillic else 180)  # Cyrillic letters are wider
    below = 0.15 * len(lines) + 0.25
    fig = Figure(figsize=(WIDTH, height + below), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[height, below])
    ax = fig.add_subplot(grid[0])
    note = fig.add_subplot(grid[1])
    note.axis("off")
    from matplotlib.transforms import blended_transform_factory

    where = blended_transform_factory(fig.transFigure, note.transAxes)  # from the figure's left edge, not the axes'
    text = note.text(0.01, 1, "\n".join(lines), fontsize=6.5, va="top", ha="left", color="#333333", transform=where)
    text.set_in_layout(False)  # its row is sized for it; the layout must not shrink the chart around it
    return fig, ax


def _finish(fig: Figure, chart_id: str, title: str, caption: str, data: pl.DataFrame) -> Chart:
    """Title the figure and render both formats."""
    fig.suptitle(title, fontsize=11, fontweight="bold")
    svg_buf, png_buf = io.StringIO(), io.BytesIO()
    fig.savefig(svg_buf, format="svg", metadata={"Date": None})
    fig.savefig(png_buf, format="png", dpi=110, metadata={"Software": None})
    return Chart(chart_id, title, caption, _inline(svg_buf.getvalue()), png_buf.getvalue(), data)


def _inline(svg: str) -> str:
    """The SVG element alone (no XML declaration or DOCTYPE naming an outside DTD), ready to embed in HTML."""
    start = svg.find("<svg")
    return re.sub(r"<metadata>.*?</metadata>", "", svg[start:], flags=re.S).strip()


def _labels(values: list[str], width: int = 46) -> list[str]:
    """Row labels wrapped onto lines of ``width`` characters, so long names (Russian ones) leave the chart room."""
    return ["\n".join(textwrap.wrap(str(v), width)) or str(v) for v in values]


def _ticks_people(ax: Axes, axis: str = "x") -> None:
    """Whole numbers with thousands separators, few enough ticks not to run into one another."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(6))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _ticks_percent(ax: Axes, axis: str = "x") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def interval_chart(
    data: pl.DataFrame,
    *,
    chart_id: str,
    title: str,
    caption: str,
    xlabel: str,
    percent: bool = False,
    marks: dict[str, float] | None = None,
) -> Chart:
    """Median (dot), 50% interval (thick bar) and 90% interval (thin bar) per row; ``marks``: named vertical lines
    (a claimed figure to compare with).

    ``data``: ``label, median, q05, q25, q75, q95`` (one row per interval, top to bottom)."""
    _need(data, ("label", "median", "q05", "q25", "q75", "q95"), chart_id)
    n = data.height
    fig, ax = _figure(1.6 + 0.42 * n, caption)
    y = list(range(n))[::-1]
    ax.hlines(y, data["q05"], data["q95"], color=COLOURS[0], linewidth=1.5, label="90%")
    ax.hlines(y, data["q25"], data["q75"], color=COLOURS[0], linewidth=6, alpha=0.55, label="50%")
    ax.plot(data["median"], y, "o", color=COLOURS[1], markersize=5, label="median")
    for i, (name, value) in enumerate((marks or {}).items()):
        ax.axvline(value, color=COLOURS[2 + i % 3], linestyle="--" if i % 2 == 0 else ":", linewidth=1.2, label=name)
    if marks:
        ax.legend(fontsize=7, loc="best")
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(y, _labels(data["label"].to_list()))
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if percent:
        _ticks_percent(ax)
    else:
        _ticks_people(ax)
    return _finish(fig, chart_id, title, caption, data)


def line_chart(
    data: pl.DataFrame, *, chart_id: str, title: str, caption: str, ylabel: str, percent: bool = False
) -> Chart:
    """One line per ``series`` over ``x`` (a date or a number), as steps (a value holds until the next point), with
    its 90% band where ``q05``/``q95`` are given and the axis's points named by ``x_label`` where given.

    ``data``: ``series, x, median`` and optionally ``q05, q95, x_label``."""
    _need(data, ("series", "x", "median"), chart_id)
    fig, ax = _figure(4.2, caption)
    for i, (name, part) in enumerate(data.group_by("series", maintain_order=True)):
        colour = COLOURS[i % len(COLOURS)]
        x = part["x"].to_list()
        ax.plot(x, part["median"], "-o", color=colour, markersize=3, label=str(name[0]), drawstyle="steps-post")
        if "q05" in part.columns and "q95" in part.columns:
            ax.fill_between(x, part["q05"], part["q95"], color=colour, alpha=0.15, linewidth=0, step="post")
    if "x_label" in data.columns:  # name each point of the axis (a version of the law and its date)
        ticks = data.select("x", "x_label").unique(subset="x", maintain_order=True)
        ax.set_xticks(ticks["x"].to_list(), ticks["x_label"].to_list(), fontsize=7)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="upper left", framealpha=0.85)
    if percent:
        _ticks_percent(ax, "y")
    else:
        _ticks_people(ax, "y")
    return _finish(fig, chart_id, title, caption, data)


def stacked_bars(
    data: pl.DataFrame, *, chart_id: str, title: str, caption: str, xlabel: str, percent: bool = False
) -> Chart:
    """Horizontal bars, one per ``label``, split by ``part`` (in the order first seen).

    ``data``: ``label, part, value``."""
    _need(data, ("label", "part", "value"), chart_id)
    labels = list(dict.fromkeys(data["label"].to_list()))
    parts = list(dict.fromkeys(data["part"].to_list()))
    fig, ax = _figure(1.8 + 0.42 * len(labels), caption)
    y = list(range(len(labels)))[::-1]
    left = [0.0] * len(labels)
    for i, part in enumerate(parts):
        values = dict(
            zip(
                *data.filter(pl.col("part") == part).select("label", "value").to_dict(as_series=False).values(),
                strict=True,
            )
        )
        widths = [float(values.get(label) or 0.0) for label in labels]
        name = "\n".join(textwrap.wrap(str(part), 60))
        ax.barh(y, widths, left=left, color=COLOURS[i % len(COLOURS)], label=name, height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(y, _labels(labels))
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(parts), 2), frameon=False)
    if percent:
        ax.set_xlim(0, max(1.0, *left))
        _ticks_percent(ax)
    else:
        _ticks_people(ax)
    return _finish(fig, chart_id, title, caption, data)


def tornado_chart(data: pl.DataFrame, *, base: float, chart_id: str, title: str, caption: str, xlabel: str) -> Chart:
    """How far the result moves when each input goes from its low to its high value, the others held at their
    medians; the widest swing on top. ``data``: ``label, low, high`` (the result at the input's low and high)."""
    _need(data, ("label", "low", "high"), chart_id)
    data = data.with_columns(swing=(pl.col("high") - pl.col("low")).abs()).sort("swing", descending=True)
    n = data.height
    fig, ax = _figure(1.6 + 0.42 * n, caption)
    y = list(range(n))[::-1]
    low, high = data["low"].to_list(), data["high"].to_list()
    ax.barh(y, [v - base for v in low], left=base, color=COLOURS[0], height=0.6, label="low")
    ax.barh(y, [v - base for v in high], left=base, color=COLOURS[1], height=0.6, label="high")
    ax.axvline(base, color="#333333", linewidth=0.8)
    ax.set_yticks(y, _labels(data["label"].to_list()))
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    _ticks_people(ax)
    return _finish(fig, chart_id, title, caption, data)


def sobol_chart(data: pl.DataFrame, *, chart_id: str, title: str, caption: str) -> Chart:
    """First-order (S1) and total (ST) Sobol indices per input, with their confidence half-widths.

    ``data``: ``label, S1, ST`` and optionally ``S1_conf, ST_conf``."""
    _need(data, ("label", "S1", "ST"), chart_id)
    n = data.height
    fig, ax = _figure(1.6 + 0.42 * n, caption)
    y = [float(v) for v in range(n)][::-1]
    conf = {c: data[c].to_list() if c in data.columns else None for c in ("S1_conf", "ST_conf")}
    ax.barh([v + 0.18 for v in y], data["S1"], height=0.36, color=COLOURS[0], xerr=conf["S1_conf"], label="S1")
    ax.barh([v - 0.18 for v in y], data["ST"], height=0.36, color=COLOURS[3], xerr=conf["ST_conf"], label="ST")
    ax.set_yticks(y, _labels(data["label"].to_list()))
    ax.set_xlim(left=0)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7)
    return _finish(fig, chart_id, title, caption, data)


def _need(data: pl.DataFrame, columns: tuple[str, ...], chart_id: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"figure {chart_id}: its data lacks the column(s) {', '.join(missing)}")
    if data.height == 0:
        raise ValueError(f"figure {chart_id}: its data has no rows")


def describe(chart: Chart) -> dict[str, Any]:
    """A chart as plain data (no image): what ``publish`` writes into its figures table."""
    return {"figure_id": chart.id, "title": chart.title, "caption": chart.caption, "rows": chart.data.height}
