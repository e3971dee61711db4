"""The one figure house style: seaborn-based, DejaVu Sans (Vietnamese-capable), deterministic SVG and PNG.

Every chart function takes its table first (``data=``, like seaborn), draws with the house style
and returns a :class:`HouseFigure` (a matplotlib ``Figure``). Ending a notebook cell with it shows
it as a PNG rendered here at a fixed size and dpi (``DPI``), without the ``bbox_inches="tight"``
crop, so the same inputs give the same bytes whatever backend the kernel runs. The figures are
not registered with pyplot, so they are never shown twice and never leak. A briefing embeds a chart
as SVG and a map as PNG (:func:`to_image`).

Words on a chart (axis labels, legend entries) come from the catalogue (``br_fig_*`` keys in
``resources/i18n/briefing.yml``); numbers on a chart follow the language through ``i18n.fmt_num``.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, MaxNLocator

from papi_research.briefing.display import DPI, WIDTH
from papi_research.data.files import atomic_write_bytes
from papi_research.data.i18n import check_lang, fmt_num, t
from papi_research.errors import ParameterError

FONT = "DejaVu Sans"
"""Shipped with matplotlib; covers every Vietnamese letter (ơ, ư, đ and the stacked tone marks)."""

GROUP_COLORS: dict[str, str] = {
    "best": "#1b7a4b",          # deep green
    "high_average": "#8cc084",  # light green
    "low_average": "#f0b25a",   # amber
    "poor": "#c8433a",          # brick red
}
"""The four PAPI performance groups (quartiles), best to poor."""

ROLE_COLORS: dict[str, str] = {
    "province": "#1f4e8c",      # the province the briefing is about
    "median": "#7a7f87",        # national median
    "best": "#c9901c",          # national best province
    "region": "#62a8d9",        # regional median
    "range": "#d9dde3",         # national min–max range
    "up": "#1b7a4b",
    "down": "#c8433a",
    "within": "#9aa3ae",        # a change within the survey margin: neither a gain nor a loss
}
"""Roles on a provincial chart: the province, the national median, the best province, the region."""

LABEL_BOX = {"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.9}
"""The white ground under a value label, so a reference line drawn through it never strikes it out."""

_STYLE: dict = {
    **sns.axes_style("whitegrid"),
    **sns.plotting_context("paper", font_scale=1.0),
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "axes.edgecolor": "#c9ced6",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "grid.color": "#e6e9ee",
    "grid.linewidth": 0.7,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "path.simplify": True,
    "svg.hashsalt": "papi-research",
    "axes.prop_cycle": matplotlib.cycler(color=[ROLE_COLORS["province"], ROLE_COLORS["median"],
                                                ROLE_COLORS["best"], ROLE_COLORS["region"]]),
}


def style() -> dict:
    """The house style as matplotlib rcParams (a copy)."""
    return dict(_STYLE)


@contextmanager
def house_style() -> Iterator[None]:
    """Draw (or save) inside the house style without touching the global rcParams."""
    with matplotlib.rc_context(_STYLE):
        yield


def apply() -> None:
    """Make the house style the global default (for extra charts a researcher adds to a notebook)."""
    sns.set_theme(rc=_STYLE)
    _register_ipython()


class HouseFigure(Figure):
    """A matplotlib Figure shown in notebooks as the house-style PNG (see :func:`to_png`).

    ``image_format`` is how a briefing embeds it (:func:`to_image`): ``"svg"`` for charts (vector: sharp
    on screen and in print, and cheaper to write than a 150-dpi PNG), ``"png"`` for maps (hundreds of
    small polygons are smaller as pixels).
    """

    image_format = "svg"

    def _repr_png_(self) -> bytes:  # used when no IPython formatter is registered for the type
        return to_png(self)


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes: fixed dpi, full figure size, no software/time metadata.

    Fast zlib level 1: drawing plus encoding is most of a briefing's run time, and the files are
    only ~10% larger than at the default level.
    """
    buf = io.BytesIO()
    with house_style():
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def to_svg(fig: Figure) -> str:
    """The figure as SVG text: full figure size, text drawn as paths (no font needed to show it), no date;
    element ids are derived from the house style's fixed ``svg.hashsalt``, so the same figure gives the
    same text.

    The text is one line: matplotlib breaks it between elements and inside path data, where a line break
    is only white space, and a notebook stores every line as a string of its own (thousands per chart,
    which made writing and reading each executed notebook several times slower)."""
    buf = io.StringIO()
    with house_style():
        fig.savefig(buf, format="svg", dpi=DPI, metadata={"Date": None})
    return re.sub(r">\s+<", "><", buf.getvalue()).replace("\n", " ").strip() + "\n"


def to_image(fig: Figure) -> tuple[str, bytes | str]:
    """The figure as a briefing embeds it: ``("image/svg+xml", svg text)`` or ``("image/png", png bytes)``,
    by the figure's ``image_format`` (SVG unless it says ``"png"``)."""
    if getattr(fig, "image_format", "svg") == "png":
        return "image/png", to_png(fig)
    return "image/svg+xml", to_svg(fig)


def _values(a) -> list:
    """An array as nested lists of floats, NaN (and masked values) as None: JSON, the same for the same array."""
    arr = np.ma.filled(np.ma.asarray(a, dtype=float), np.nan)
    return [None if not np.isfinite(v) else float(v) for v in arr] if arr.ndim == 1 else [_values(r) for r in arr]


def _texts(artists) -> list[str]:
    return [t.get_text() for t in artists if t.get_visible() and t.get_text()]


def plotted(fig: Figure) -> dict:
    """What a drawn figure shows, as plain values: per visible axes its title, axis labels, tick labels,
    lines (x and y), points (scatter offsets), segments (``hlines``), bars (x, y, width, height), bands
    (``axvspan``: spans), the fill
    colours of shapes (map polygons) and its texts; then the legend entries and the figure's own texts.

    ``papi verify`` compares figures by this, not by their pixels: the numbers and words a chart draws.
    Call it after the figure was drawn (:func:`to_image`), when tick labels are set."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.colors import to_hex
    from matplotlib.container import BarContainer
    from matplotlib.patches import Rectangle
    axes = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        entry: dict = {"title": ax.get_title(loc="left") or ax.get_title(), "xlabel": ax.get_xlabel(),
                       "ylabel": ax.get_ylabel(), "xticks": _texts(ax.get_xticklabels()),
                       "yticks": _texts(ax.get_yticklabels())}
        entry["lines"] = [{"x": _values(ln.get_xdata(orig=True)), "y": _values(ln.get_ydata(orig=True))}
                          for ln in ax.lines if ln.get_visible()]
        points, segments, shapes = [], [], []
        for c in ax.collections:
            if not c.get_visible():
                continue
            if isinstance(c, PathCollection):
                points.append(_values(c.get_offsets()))
            elif isinstance(c, LineCollection):
                segments.append([_values(seg) for seg in c.get_segments()])
            else:
                shapes.append([to_hex(rgba, keep_alpha=True) for rgba in c.get_facecolors()])
        entry.update(points=points, segments=segments, shapes=shapes)
        in_bars = {id(p) for c in ax.containers if isinstance(c, BarContainer) for p in c.patches}
        entry["bars"] = [_values([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
                         for p in ax.patches if id(p) in in_bars and p.get_visible()]
        entry["spans"] = [_values([p.get_x(), p.get_y(), p.get_width(), p.get_height()])  # axvspan/axhspan bands
                          for p in ax.patches if isinstance(p, Rectangle) and id(p) not in in_bars
                          and p.get_visible()]
        entry["texts"] = _texts(ax.texts)
        axes.append(entry)
    legends = [_texts(leg.get_texts()) for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg]
    return {"axes": axes, "legends": legends, "texts": _texts(fig.texts)}


def save_png(fig: Figure, path: str | os.PathLike) -> Path:
    """Write :func:`to_png` to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, to_png(fig))


_REGISTERED: set[int] = set()


def _register_ipython() -> None:
    """In an IPython kernel, show HouseFigure through :func:`to_png` (whatever the backend)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return
    ip = get_ipython()
    if ip is None or id(ip) in _REGISTERED:
        return
    ip.display_formatter.formatters["image/png"].for_type(HouseFigure, to_png)
    _REGISTERED.add(id(ip))


def _new_figure(height: float, width: float = WIDTH, layout: str | None = None) -> HouseFigure:
    _register_ipython()
    fig = HouseFigure(figsize=(width, height), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _freeze(fig: Figure) -> Figure:
    """Run the layout engine once, then fix the positions, so every later render is identical (a figure
    placed by hand, with no layout engine, is already fixed: nothing to run)."""
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    return fig


def _text_width(labels, size: float) -> float:
    """Width in inches of the widest label at ``size`` points, in the house font (no drawing)."""
    prop = FontProperties(family=FONT, size=size)
    widths = [text_to_path.get_text_width_height_descent(str(s), prop, ismath=False)[0] for s in labels if str(s)]
    return max(widths, default=0.0) / 72.0


def _legend_below(fig: Figure, handles, labels, *, fontsize: float = 7.5) -> float:
    """A legend centred under the axes, in as few rows as fit the width; returns its height (inches)."""
    width = fig.get_figwidth() - 0.3
    item = _text_width(labels, fontsize) + 0.42  # marker, padding and column spacing
    ncols = max(1, min(len(labels), int(width // item)))
    rows = -(-len(labels) // ncols)
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.01), ncols=ncols,
               fontsize=fontsize, handletextpad=0.4, columnspacing=1.0, borderaxespad=0.1)
    return rows * fontsize * 1.75 / 72.0 + 0.06


def _place(fig: Figure, ax, *, left: float, bottom: float, right: float = 0.18, top: float = 0.12) -> None:
    """Put the axes at fixed margins given in inches (cheap, deterministic, no layout engine)."""
    w, h = fig.get_size_inches()
    ax.set_position([left / w, bottom / h, 1 - (left + right) / w, 1 - (top + bottom) / h])


def _require(data: pd.DataFrame, columns: list[str], function: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("data", f"{function}() needs a pandas DataFrame; got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ParameterError("data", f"{function}() needs column(s) {', '.join(missing)}; "
                                     f"the frame has {', '.join(map(str, data.columns))}")
    return data


def _num_axis(axis, lang: str, decimals: int = 0) -> None:
    """Tick labels in the language's number format, with a true minus sign."""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_num(v, lang, decimals).replace("-", "−")))


# --- provincial charts ---------------------------------------------------------------------------

_TICK = 8.0      # tick label size (points), as in the style
_XAXIS = 0.42    # room under an axes for tick labels and an axis label (inches)


def dimension_profile(data: pd.DataFrame, *, lang: str = "vi", label: str | None = None) -> HouseFigure:
    """Each dimension's score against the national median, the best province and the regional median.

    ``data``: one row per dimension with ``short_vi``/``short_en``, ``score``, ``national_min``,
    ``national_median``, ``national_best`` and ``regional_median`` (``Scorecard.dimension_table()``).
    ``label`` names the province in the legend (default: the catalogue's "this province").
    Optional ``ci_low``/``ci_high`` columns draw the province's 95 % survey interval as a bar
    through its dot.
    """
    lang = check_lang(lang)
    name_col = f"short_{lang}"
    cols = [name_col, "score", "national_min", "national_median", "national_best", "regional_median"]
    df = _require(data, cols, "dimension_profile").reset_index(drop=True)
    n = len(df)
    names = df[name_col].astype(str).tolist()
    with house_style():
        fig = _new_figure(0.36 * n + 1.05)
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        h_range = ax.hlines(y, df["national_min"], df["national_best"], color=ROLE_COLORS["range"], lw=5, zorder=1)
        h_med = ax.scatter(df["national_median"], y, marker="|", s=160, lw=2.2, color=ROLE_COLORS["median"],
                           zorder=3)
        h_reg = ax.scatter(df["regional_median"], y, marker="s", s=26, color=ROLE_COLORS["region"], zorder=3)
        h_best = ax.scatter(df["national_best"], y, marker="D", s=26, color=ROLE_COLORS["best"], zorder=3)
        handles, extra = [], []
        if {"ci_low", "ci_high"} <= set(df.columns) and df["ci_low"].notna().any():
            h_ci = ax.hlines(y, df["ci_low"], df["ci_high"], color=ROLE_COLORS["province"], lw=1.4, zorder=3.5)
            handles, extra = [h_ci], [t("br_fig_ci95", lang)]
        h_prov = ax.scatter(df["score"], y, marker="o", s=58, color=ROLE_COLORS["province"], edgecolor="white",
                            lw=0.8, zorder=4)
        for yi, score in zip(y, df["score"]):
            if pd.notna(score):
                ax.annotate(fmt_num(score, lang), (score, yi), xytext=(0, 6), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, color=ROLE_COLORS["province"], zorder=6,
                            bbox=LABEL_BOX)
        ax.set_yticks(y, names)
        ax.set_ylim(-0.6, n - 0.25)
        span = [c for c in ("ci_low", "ci_high") if c in df.columns and df[c].notna().any()]
        lo = float(np.nanmin(df[["national_min", "score", *span]].to_numpy(dtype=float)))
        hi = float(np.nanmax(df[["national_best", "score", *span]].to_numpy(dtype=float)))
        ax.set_xlim(max(0.0, np.floor(lo) - 0.5), min(10.0, np.ceil(hi) + 0.3))
        ax.set_xlabel(t("br_fig_points_of_10", lang))
        _num_axis(ax.xaxis, lang)
        ax.grid(axis="y", visible=False)
        legend_h = _legend_below(fig, [h_prov, *handles, h_med, h_reg, h_best, h_range],
                                 [label or t("br_fig_this_province", lang), *extra, t("br_fig_national_median", lang),
                                  t("br_fig_regional_median", lang), t("br_fig_national_best", lang),
                                  t("br_fig_range", lang)])
        _place(fig, ax, left=_text_width(names, _TICK) + 0.2, bottom=legend_h + _XAXIS)
    return fig


def score_trend(data: pd.DataFrame, *, lang: str = "vi", x: str = "year",
                series: tuple[str, ...] = ("province", "national_median", "regional_median", "national_best"),
                label: str | None = None, ylabel: str | None = None) -> HouseFigure:
    """A province's total by year beside the national median, regional median and best total.

    ``data``: one row per year with column ``x`` and any of ``series`` (NaN where a year has no
    value; the line breaks there). Give years of one regime only: totals out of 60 (2011–2017) and
    out of 80 (2018+) are not comparable.
    """
    lang = check_lang(lang)
    df = _require(data, [x], "score_trend").sort_values(x).reset_index(drop=True)
    style_of = {"province": (ROLE_COLORS["province"], "o", 2.2, label or t("br_fig_this_province", lang)),
                "national_median": (ROLE_COLORS["median"], None, 1.4, t("br_fig_national_median", lang)),
                "regional_median": (ROLE_COLORS["region"], None, 1.4, t("br_fig_regional_median", lang)),
                "national_best": (ROLE_COLORS["best"], None, 1.2, t("br_fig_national_best", lang))}
    unknown = [s for s in series if s not in style_of]
    if unknown:
        raise ParameterError("series", f"unknown series {', '.join(unknown)}; choose from {', '.join(style_of)}")
    with house_style():
        fig = _new_figure(2.6)
        ax = fig.add_subplot()
        handles, labels = [], []
        for s in series:
            if s not in df.columns:
                continue
            color, marker, lw, name = style_of[s]
            (line,) = ax.plot(df[x], pd.to_numeric(df[s], errors="coerce"), color=color, marker=marker, ms=4.5,
                              lw=lw, ls="--" if s == "national_best" else "-", zorder=4 if s == "province" else 2)
            handles.append(line)
            labels.append(name)
        if "province" in df.columns:
            for xv, yv in zip(df[x], pd.to_numeric(df["province"], errors="coerce")):
                if pd.notna(yv):
                    ax.annotate(fmt_num(yv, lang), (xv, yv), xytext=(0, 6), textcoords="offset points",
                                ha="center", fontsize=6.5, color=ROLE_COLORS["province"], zorder=6,
                                bbox=LABEL_BOX)  # on a white ground: never struck through by a median line
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(df[x].min() - 0.4, df[x].max() + 0.4)
        ax.set_ylabel(ylabel or t("br_fig_total", lang))
        _num_axis(ax.yaxis, lang)
        legend_h = _legend_below(fig, handles, labels)
        _place(fig, ax, left=0.62, bottom=legend_h + 0.3)
    return fig


def change_bars(data: pd.DataFrame, *, x: str = "change", y: str = "label", lang: str = "vi",
                xlabel: str | None = None, noise: float | None = None) -> HouseFigure:
    """Horizontal bars of signed changes (points), green up and red down, labelled with the value; with
    ``noise`` (the survey margin of a change), a change within ±noise is grey, neither a gain nor a loss,
    and the margin is shaded around zero.

    ``data``: one row per bar, ``y`` the label and ``x`` the signed value (a missing value draws
    no bar and is labelled "–").
    """
    lang = check_lang(lang)
    df = _require(data, [x, y], "change_bars").reset_index(drop=True)
    n = len(df)
    names = df[y].astype(str).tolist()
    with house_style():
        fig = _new_figure(0.3 * n + 0.75)
        ax = fig.add_subplot()
        pos = np.arange(n)[::-1]
        vals = pd.to_numeric(df[x], errors="coerce")
        colors = [ROLE_COLORS["within"] if noise is not None and abs(v) <= noise else
                  ROLE_COLORS["up"] if v >= 0 else ROLE_COLORS["down"] for v in vals.fillna(0)]
        if noise is not None:
            ax.axvspan(-noise, noise, color=ROLE_COLORS["range"], alpha=0.6, lw=0, zorder=1)
        ax.barh(pos, vals.fillna(0), color=colors, height=0.62, zorder=2)
        ax.axvline(0, color="#5b6573", lw=0.9, zorder=3)
        span = float(np.nanmax(np.abs(vals))) if vals.notna().any() else 0.0
        span = max(span, noise or 0.0) or 1.0
        for p, v in zip(pos, vals):
            ax.annotate(fmt_num(v, lang, sign=True) if pd.notna(v) else "–", (v if pd.notna(v) else 0, p),
                        xytext=(3 if not (v < 0) else -3, 0), textcoords="offset points",
                        ha="right" if v < 0 else "left", va="center", fontsize=7, color="#333a44")
        ax.set_xlim(-span * 1.4, span * 1.4)
        ax.set_yticks(pos, names)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlabel(xlabel or t("br_fig_change_points", lang))
        _num_axis(ax.xaxis, lang, 1)
        ax.grid(axis="y", visible=False)
        _place(fig, ax, left=_text_width(names, _TICK) + 0.2, bottom=_XAXIS)
    return fig


def gap_bars(data: pd.DataFrame, *, score: str = "score", reference: str = "national_median",
             y: str = "label", lang: str = "vi", label: str | None = None) -> HouseFigure:
    """Score against a reference (default: the national median) for a handful of rows: dot and bar.

    ``data``: one row per item with a label column ``y`` and numeric ``score`` and ``reference``.
    """
    lang = check_lang(lang)
    df = _require(data, [score, reference, y], "gap_bars").reset_index(drop=True)
    n = len(df)
    names = df[y].astype(str).tolist()
    with house_style():
        fig = _new_figure(0.32 * n + 1.0)
        ax = fig.add_subplot()
        pos = np.arange(n)[::-1]
        ax.hlines(pos, df[score], df[reference], color=ROLE_COLORS["range"], lw=4, zorder=1)
        h_ref = ax.scatter(df[reference], pos, marker="|", s=140, lw=2, color=ROLE_COLORS["median"], zorder=3)
        h_sc = ax.scatter(df[score], pos, s=48, color=ROLE_COLORS["province"], edgecolor="white", lw=0.8,
                          zorder=4)
        ax.set_yticks(pos, names)
        ax.set_ylim(-0.6, n - 0.4)
        ax.set_xlabel(t("br_fig_points", lang))
        _num_axis(ax.xaxis, lang, 1)
        ax.grid(axis="y", visible=False)
        legend_h = _legend_below(fig, [h_sc, h_ref], [label or t("br_fig_this_province", lang),
                                                      t("br_fig_national_median", lang)])
        _place(fig, ax, left=_text_width(names, _TICK) + 0.2, bottom=legend_h + _XAXIS)
    return fig


# --- national charts -----------------------------------------------------------------------------

def league_chart(data: pd.DataFrame, *, x: str = "total", y: str = "name", hue: str = "group",
                 lang: str = "vi", xlabel: str | None = None) -> HouseFigure:
    """Every ranked province's total as a bar, coloured by performance group, best at the top.

    ``data``: one row per ranked province, already sorted best first, with ``y`` (label), ``x``
    (total) and ``hue`` (a key of :data:`GROUP_COLORS`).
    """
    lang = check_lang(lang)
    df = _require(data, [x, y, hue], "league_chart").reset_index(drop=True)
    bad = sorted(set(df[hue].dropna()) - set(GROUP_COLORS))
    if bad:
        raise ParameterError("data", f"league_chart(): unknown group(s) {', '.join(map(str, bad))} in column {hue}")
    n = len(df)
    with house_style():
        fig = _new_figure(0.13 * n + 1.0, layout="constrained")
        ax = fig.add_subplot()
        pos = np.arange(n)[::-1]
        ax.barh(pos, df[x], color=[GROUP_COLORS[g] for g in df[hue]], height=0.78, zorder=2)
        ax.set_yticks(pos, df[y].astype(str).tolist(), fontsize=6.2)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlim(0.0, float(df[x].max()) * 1.02)  # bars start at zero: their lengths compare the totals
        ax.set_xlabel(xlabel or t("br_fig_total", lang))
        _num_axis(ax.xaxis, lang)
        ax.grid(axis="y", visible=False)
        handles = [matplotlib.patches.Patch(color=GROUP_COLORS[g], label=t(f"br_group_{g}", lang))
                   for g in GROUP_COLORS]
        fig.legend(handles=handles, loc="outside lower center", ncols=4)
    return _freeze(fig)


def dimension_trends(data: pd.DataFrame, *, x: str = "year", y: str = "median", col: str = "label",
                     segment: str | None = None, lang: str = "vi", break_after: int | None = 2017) -> HouseFigure:
    """Small multiples: one panel per dimension with its national median by year.

    ``data``: long table with ``x`` (year), ``y`` (value) and ``col`` (panel label, in panel order
    of first appearance); optional ``segment`` column: the line is not joined across segments
    (a method break). A dashed line marks the regime break after ``break_after``.
    """
    lang = check_lang(lang)
    df = _require(data, [x, y, col], "dimension_trends")
    labels = list(dict.fromkeys(df[col].tolist()))
    ncols = 4
    nrows = max(1, int(np.ceil(len(labels) / ncols)))
    with house_style():
        fig = _new_figure(1.75 * nrows + 0.3, layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
        for ax, name in zip(axes, labels):
            part = df[df[col] == name].sort_values(x)
            pieces = [part] if segment is None else [g for _, g in part.groupby(segment, sort=True)]
            for piece in pieces:
                ax.plot(piece[x], piece[y], color=ROLE_COLORS["province"], marker="o", ms=2.5, lw=1.4)
            if break_after is not None:
                ax.axvline(break_after + 0.5, color=ROLE_COLORS["median"], lw=0.8, ls="--")
            ax.set_title(str(name), fontsize=7.5, loc="left")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.tick_params(labelsize=6.5)
            _num_axis(ax.yaxis, lang)
        for ax in axes[len(labels):]:
            ax.set_visible(False)
        fig.supylabel(t("br_fig_points_of_10", lang), fontsize=7.5)
    return _freeze(fig)


__all__ = ["DPI", "WIDTH", "FONT", "GROUP_COLORS", "ROLE_COLORS", "HouseFigure", "style", "house_style",
           "apply", "to_png", "to_svg", "to_image", "plotted", "save_png", "dimension_profile", "score_trend", "change_bars",
           "gap_bars", "league_chart", "dimension_trends"]
