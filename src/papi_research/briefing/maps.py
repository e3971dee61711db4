"""Maps of Vietnam in the house style: choropleths by performance group and small locator maps.

Boundaries come from the boundary folder (``paths.find_geo_dir``: ``PAPI_GEO_DIR``, a ``geo`` folder
beside the PAPI data, ``data/raw/geo`` or ``../shared/geo``), read at run time and never committed:
``vietnam_provinces_63.geojson`` (the 63 former provinces, ``code`` = PAPI code) and
``vietnam_provinces_34.geojson`` (the 34 since 1 July 2025, ``code`` = new two-digit code).

Every map carries the boundary credit line (``map_credit``, the wording the boundary folder's README
asks for) and shows and labels the Hoàng Sa and Trường Sa archipelagos with labelled markers at their
places in the East Sea (the boundary file holds only a few schematic islets of them). Maps are drawn
with plain matplotlib patches (no geo stack: the data is already in longitude/latitude and simplified)
at a fixed size and dpi, so the same inputs give byte-identical PNGs (``figures.to_png``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
import matplotlib.collections
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.path import Path as MplPath

from papi_research.analysis.scores import GROUPS
from papi_research.briefing.figures import GROUP_COLORS, ROLE_COLORS, HouseFigure, _freeze, _new_figure, house_style
from papi_research.data.i18n import check_lang, t
from papi_research.data.paths import find_geo_dir
from papi_research.errors import DataValidationError, ParameterError

FILES = {"63": "vietnam_provinces_63.geojson", "2025": "vietnam_provinces_34.geojson"}
NO_DATA = "#e3e6ea"
EDGE = "#ffffff"
LAND_EDGE = "#9aa3ad"
EXTENT = (101.9, 117.6, 8.2, 23.6)  # lon min, lon max, lat min, lat max: mainland plus both archipelagos
ASPECT = 1.0 / float(np.cos(np.radians(16.0)))  # equirectangular at Vietnam's middle latitude

# Schematic positions (lon, lat) of the two archipelagos and their label keys (they are always drawn).
ARCHIPELAGOS = {
    "map_hoang_sa": [(111.6, 16.5), (112.3, 16.9), (112.0, 16.2), (111.2, 15.8), (112.7, 16.6)],
    "map_truong_sa": [(114.3, 10.4), (114.0, 9.9), (114.9, 10.9), (113.6, 8.9), (115.3, 9.5), (112.9, 8.7),
                      (114.4, 11.4), (115.8, 10.3)],
}


@dataclass(frozen=True)
class Boundaries:
    """Province outlines: ``paths[code]`` is one matplotlib Path (outer rings and holes)."""

    units: str
    source: Path
    names: dict[str, str]
    paths: dict[str, MplPath]


def _ring_path(rings: list) -> MplPath:
    verts, codes = [], []
    for ring in rings:
        pts = np.asarray(ring, dtype=float)
        if len(pts) < 4:
            continue
        verts.extend(pts.tolist())
        codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * (len(pts) - 2) + [MplPath.CLOSEPOLY])
    return MplPath(np.asarray(verts), codes)


@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int) -> Boundaries:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataValidationError(f"not a readable GeoJSON file ({exc})", file=p) from None
    units = "63" if p.name == FILES["63"] else "2025"
    names, paths = {}, {}
    for i, feat in enumerate(doc.get("features", []), start=1):
        props, geom = feat.get("properties") or {}, feat.get("geometry") or {}
        code = props.get("code")
        if not code:
            raise DataValidationError("feature without a 'code' property", file=p, row=i, column="code")
        if geom.get("type") == "Polygon":
            polys = [geom["coordinates"]]
        elif geom.get("type") == "MultiPolygon":
            polys = geom["coordinates"]
        else:
            raise DataValidationError(f"geometry must be Polygon or MultiPolygon; got {geom.get('type')!r}",
                                      file=p, row=i, column="geometry")
        names[code] = props.get("name", code)
        paths[code] = MplPath.make_compound_path(*[_ring_path(poly) for poly in polys])
    return Boundaries(units=units, source=p, names=names, paths=paths)


def boundaries(units: str = "63", papi_dir: Path | None = None, geo_dir: str | Path | None = None) -> Boundaries:
    """The outlines of the 63 former provinces (``units="63"``) or the 34 new ones (``"2025"``)."""
    if units not in FILES:
        raise ParameterError("units", f"must be one of {', '.join(FILES)}; got {units!r}")
    path = find_geo_dir(papi_dir, geo_dir) / FILES[units]
    if not path.is_file():
        raise DataValidationError("required boundary file is missing", file=path)
    return _read(str(path), path.stat().st_mtime_ns)


def credit(lang: str) -> str:
    """The boundary credit line, broken after its first clause so it fits under a map."""
    return t("map_credit", lang).replace("; ", ";\n", 1)


def _draw_base(ax, b: Boundaries, colors: dict[str, str], lang: str, *, edge: str = EDGE, lw: float = 0.35,
               labels: bool = True, marker_size: float = 4.0,
               label_size: float = 6.2) -> None:
    codes = sorted(b.paths)
    # one collection, not a patch per province: drawn in one pass, and the limits are set below
    provinces = matplotlib.collections.PatchCollection(
        [matplotlib.patches.PathPatch(b.paths[c]) for c in codes], facecolors=[colors.get(c, NO_DATA) for c in codes],
        edgecolors=edge, linewidths=lw, zorder=2)
    ax.add_collection(provinces, autolim=False)
    for key, pts in ARCHIPELAGOS.items():
        xs, ys = zip(*pts)
        ax.scatter(xs, ys, s=marker_size, color="#5b6470", marker="o", linewidths=0, zorder=3)
        if labels:
            x, y = np.mean(xs), max(ys) + 0.45
            ax.text(x, y, t(key, lang), ha="center", va="bottom", fontsize=label_size, color="#4a525c", zorder=4,
                    style="italic")
    ax.set_xlim(EXTENT[0], EXTENT[1])
    ax.set_ylim(EXTENT[2], EXTENT[3])
    ax.set_aspect(ASPECT)
    ax.set_axis_off()


def choropleth(data: pd.DataFrame, *, units: str = "63", lang: str = "vi", title: str | None = None,
               code: str = "code", hue: str = "group", legend_title: str | None = None, papi_dir: Path | None = None,
               geo_dir: str | Path | None = None) -> HouseFigure:
    """Vietnam coloured by performance group: ``data`` has one row per province (``code``) and its
    ``group`` (a key of ``figures.GROUP_COLORS``; missing = no data, drawn grey)."""
    lang = check_lang(lang)
    for col in (code, hue):
        if col not in data.columns:
            raise ParameterError("data", f"choropleth() needs column {col!r}")
    b = boundaries(units, papi_dir, geo_dir)
    unknown = sorted(set(data[code]) - set(b.paths))
    if unknown:
        raise ParameterError("data", f"choropleth(): no boundary for {', '.join(map(str, unknown))} "
                                     f"in {b.source.name}")
    bad = sorted(set(data[hue].dropna()) - set(GROUP_COLORS))
    if bad:
        raise ParameterError("data", f"choropleth(): unknown group(s) {', '.join(map(str, bad))}")
    colors = {c: GROUP_COLORS[g] for c, g in zip(data[code], data[hue]) if isinstance(g, str)}
    with house_style():
        fig = _new_figure(7.4, width=6.4)
        fig.image_format = "png"  # a map is hundreds of small polygons: smaller as pixels than as SVG
        ax = fig.add_axes([0.02, 0.09, 0.96, 0.85])
        _draw_base(ax, b, colors, lang)
        if title:
            fig.text(0.5, 0.975, title, ha="center", va="top", fontsize=9.5, weight="bold")
        handles = [matplotlib.patches.Patch(facecolor=GROUP_COLORS[g], label=t(f"br_group_{g}", lang)) for g in GROUPS]
        if (data[hue].isna()).any() or len(set(b.paths) - set(colors)):
            handles.append(matplotlib.patches.Patch(facecolor=NO_DATA, label=t("map_no_data", lang)))
        ax.legend(handles=handles, loc="upper right", bbox_to_anchor=(1.0, 0.97), fontsize=7.5,
                  title=legend_title or t("group", lang), title_fontsize=8, frameon=False)
        fig.text(0.5, 0.012, credit(lang), ha="center", va="bottom", fontsize=6.0, color="#5b6470")
    return _freeze(fig)


def locator(codes: list[str], *, units: str = "63", lang: str = "vi", papi_dir: Path | None = None,
            geo_dir: str | Path | None = None) -> HouseFigure:
    """A small map of Vietnam with ``codes`` highlighted (the province, or a new province's members)."""
    lang = check_lang(lang)
    b = boundaries(units, papi_dir, geo_dir)
    unknown = sorted(set(codes) - set(b.paths))
    if unknown:
        raise ParameterError("codes", f"locator(): no boundary for {', '.join(unknown)} in {b.source.name}")
    colors = {c: ROLE_COLORS["province"] for c in codes}
    with house_style():
        fig = _new_figure(3.6, width=3.2)
        fig.image_format = "png"
        ax = fig.add_axes([0.02, 0.16, 0.96, 0.82])
        _draw_base(ax, b, colors, lang, edge="#ffffff", lw=0.25, marker_size=1.5, label_size=4.6)
        fig.text(0.5, 0.01, credit(lang), ha="center", va="bottom", fontsize=4.0, color="#5b6470")
    return _freeze(fig)


def group_frame(ys, dimension: int | None = None) -> pd.DataFrame:
    """``code``/``group`` of every unit of a ``scores.YearScores`` for the total (or one dimension)."""
    if dimension is None:
        groups = ys.provinces["group"]
    else:
        if int(dimension) not in ys.dimension_groups.columns:
            raise ParameterError("dimension", f"{ys.year} has dimensions "
                                              f"{', '.join(map(str, ys.dimension_groups.columns))}; got {dimension}")
        groups = ys.dimension_groups[int(dimension)]
    return pd.DataFrame({"code": list(groups.index),
                         "group": [g if isinstance(g, str) else None for g in groups]})
