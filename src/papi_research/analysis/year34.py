"""A PAPI year on the 34 provinces since 1 July 2025: their own (official) scores, ranks and groups.

From the 2025 survey on PAPI reports the 34 provinces and cities; such a year's file is loaded into
``PapiData.panel34`` (``data/units.py`` tells the sets apart). :func:`official_year` gives it the shape of
the estimates of ``units.py`` (a :class:`~papi_research.analysis.units.UnitYear` whose ``ys`` is a
``scores.YearScores`` indexed by the two-digit codes), so every table, rank and sentence built for the 34's
estimates serves the official year: ranks and groups among the 34 (the year's tie rule from
``group_rules.csv``, the default until PAPI's counts are known) and regional ranks by the region of each
province's most populous former province, as for the estimates. Nothing here is estimated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from papi_research.analysis.scores import _checked_counts, assemble_year
from papi_research.data.codebook import regime_of
from papi_research.data.loader import PapiData
from papi_research.errors import ParameterError

_CACHE: dict[tuple, object] = {}


def check_year34(data: PapiData, year: int) -> int:
    """``year`` if it is a year on the 34 with data; else the error naming the years on the 34."""
    year = int(year)
    if year in data.unavailable:
        raise data.unavailable[year]
    if year not in data.years34:
        raise ParameterError("year", f"{year} is not a year on the 34 provinces; years on the 34: "
                             f"{', '.join(map(str, data.years34)) or 'none yet'}")
    return year


def official_year(data: PapiData, year: int):
    """The 34's own scores of a year on the 34 (a ``UnitYear`` with ``official=True``, no components)."""
    from papi_research.analysis.units import UnitYear, load_units, population_weights
    year = check_year34(data, year)
    units = load_units(data)
    key = (str(data.directory), data.version_for(year), str(units.source), year)
    if key in _CACHE:
        return _CACHE[key]
    struct = data.codebook.table(year)
    panel = data.panel34[data.panel34["year"] == year]
    codes = units.codes
    sub = panel.pivot(index="code", columns="subcode", values="score").reindex(index=codes, columns=struct["code"])
    sub.columns.name = None
    dims = pd.DataFrame(index=codes)
    for d, g in struct.groupby("dimension"):
        block = sub[g["code"].tolist()]
        dims[int(d)] = block.sum(axis=1, min_count=1).where(block.notna().all(axis=1))
    n_present = dims.notna().sum(axis=1)
    status = pd.Series(np.where(n_present == regime_of(year).n_dimensions, "complete",
                                np.where(sub.notna().sum(axis=1) > 0, "partial", "missing")), index=codes)
    total = dims.sum(axis=1, min_count=1).where(status == "complete")
    pop, _ = population_weights(data, year)
    reg = {}
    for u in units:  # the region of the most populous former province (as for the estimates)
        p = data.provinces.by_code(max(u.members, key=lambda c: (pop[c], c)))
        reg[u.code] = (p.region_en, p.region_vi)
    ys = _checked_counts(assemble_year(year, struct, sub, dims, status, total, reg))
    out = UnitYear(year=year, units=units, ys=ys, components=pd.DataFrame(columns=["unit", "code"]),
                   coverage=pd.Series(1.0, index=codes), population_year=0, official=True)
    _CACHE[key] = out
    return out


def sub_changes_34(data: PapiData, code: str, year: int, before_year: int) -> pd.DataFrame:
    """Each sub-dimension's change for new province ``code`` from ``before_year`` to ``year`` (the
    sub-dimension matched by label and maximum, ``series.subdimension_years``) and the change's 95 % noise
    margin 1.96 √(SE₁² + SE₂²) from the two years' estimate SEs (NaN where a year has none: PAPI's own
    figures on the 34 carry no interval here). Index: the sub-dimension codes of ``year``."""
    from papi_research.analysis.series import subdimension_years
    from papi_research.analysis.uncertainty import difference_noise
    from papi_research.analysis.units import unit_year_scores
    now, then = unit_year_scores(data, year), unit_year_scores(data, before_year)
    rows = {}
    for sc in now.ys.subdimensions.columns:
        try:
            prev = subdimension_years(data, year, sc).get(before_year)
        except (KeyError, ValueError):
            prev = None
        x1 = now.ys.subdimensions.at[code, sc]
        x0 = then.ys.subdimensions.at[code, prev] if prev in then.ys.subdimensions.columns else np.nan
        if pd.isna(x0) or pd.isna(x1):
            continue
        se1 = None if now.sub_se is None else now.sub_se.at[code, sc]
        se0 = None if then.sub_se is None else then.sub_se.at[code, prev]
        noise = (difference_noise(float(se1), float(se0))
                 if se1 is not None and se0 is not None and pd.notna(se1) and pd.notna(se0) else np.nan)
        rows[sc] = {"change": float(x1 - x0), "before": float(x0), "change_margin": noise}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["change", "before", "change_margin"])


def priorities_among_34(ys, code: str, target: str, sub_se: pd.Series | None = None,
                        changes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sub-dimensions of new province ``code`` in priority order among the 34 (``ys``: estimates or a year on
    the 34), by the gap to the median and to the target group's level in standard deviations, plus this
    year's loss where it is beyond the noise (no trend or model terms: the models are fitted on the 63).

    With the estimate's SEs (``sub_se``: sub-dimension → SE; ``changes``: :func:`sub_changes_34`) the rule
    is the province briefing's: a line is a priority (``below``) when its gap to the median or the target
    level exceeds its 95 % margin (``gap_beyond_noise``) or it fell by more than the change's margin
    (``loss_beyond_noise``); a line below as printed with neither is on the ``watch`` list. Without SEs
    (PAPI's own figures on the 34, which carry no interval here) a line is a priority when it is below as
    printed (2 decimals), never "+0,00" below."""
    from papi_research.analysis.priorities import CAP
    from papi_research.analysis.targets import parse_target
    from papi_research.analysis.uncertainty import Z95
    spec = parse_target(target, ys)
    members = spec.members(ys)
    st = ys.structure.set_index("code")
    noise = sub_se is not None
    rows = []
    for sc in st.index:
        col = ys.subdimensions[sc].dropna()
        score = ys.subdimensions.at[code, sc]
        if pd.isna(score) or col.empty:
            continue
        score = float(score)
        med, sd = float(col.median()), float(col.std()) or 1.0
        tgt = float(ys.subdimensions.loc[members, sc].median()) if members else np.nan
        gap_ref = max(med - score, -np.inf if np.isnan(tgt) else tgt - score)
        se = sub_se.get(sc, np.nan) if noise else np.nan
        margin = Z95 * float(se) if pd.notna(se) else np.nan
        ch = changes.loc[sc] if changes is not None and sc in changes.index else None
        loss = float(ch["change"]) if ch is not None else np.nan
        loss_margin = float(ch["change_margin"]) if ch is not None else np.nan
        loss_beyond = bool(pd.notna(loss_margin) and loss < -loss_margin)
        rows.append({"code": sc, "dimension": int(st.at[sc, "dimension"]), "label_vi": st.at[sc, "label_vi"],
                     "label_en": st.at[sc, "label_en"], "score": score, "national_median": med,
                     "target_level": tgt, "gap_to_median": med - score,
                     "gap_to_target": None if np.isnan(tgt) else tgt - score,
                     "margin": margin, "change": loss, "change_margin": loss_margin,
                     "gap_beyond_noise": bool(pd.notna(margin) and gap_ref > margin),
                     "loss_beyond_noise": loss_beyond,
                     "priority": max(med - score, 0) / sd + (0 if np.isnan(tgt) else max(tgt - score, 0) / sd)
                     + (min(-loss / sd, CAP) if loss_beyond else 0.0)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    # below as printed (2 decimals): a score that prints like the median is level, never "+0,00" below
    printed_below = out["score"].round(2) < out[["national_median", "target_level"]].max(axis=1).round(2)
    if noise:
        out["below"] = out["gap_beyond_noise"] | out["loss_beyond_noise"]
        out["watch"] = printed_below & ~out["below"]
    else:
        out["below"] = printed_below
        out["watch"] = False
    out = out.sort_values(["below", "priority", "code"], ascending=[False, False, True], kind="mergesort")
    out.attrs["spec"] = spec
    out.attrs["noise"] = noise
    return out.reset_index(drop=True)


N_PRIORITIES = 5


def drivers34(data: PapiData, province: str, year: int, target: str = "group:high_average") -> dict:
    """What ``papi drivers`` says of a new province in a year on the 34: the change by dimension against the
    previous year (the former provinces' estimate before 2025, labelled so), priorities and the target plan
    among the 34. The models of ``drivers.py`` are fitted on the 63-province panel; none is applied here,
    and the report says so."""
    from papi_research.analysis.targets import parse_target, plan_target
    from papi_research.analysis.units import unit_scorecard, unit_year_scores
    from papi_research.data.codebook import comparable_dimensions
    from papi_research.data.i18n import t
    from papi_research.data.values import jsonable
    card = unit_scorecard(data, province, check_year34(data, year))
    code, ys = card.unit.code, card.ys
    spec = parse_target(target, ys)
    change = None
    if card.previous is not None and card.total is not None:
        a = card.previous["year"]
        before = unit_year_scores(data, a).ys
        comparable = comparable_dimensions(a, card.year)
        dims = [{"dimension": int(d), "before": before.dimensions.at[code, d], "after": ys.dimensions.at[code, d],
                 "change": (ys.dimensions.at[code, d] - before.dimensions.at[code, d])
                 if int(d) in comparable else None} for d in ys.dimensions.columns]
        change = {"from_year": a, "to_year": card.year, "before_is_estimate": bool(card.previous.get("estimate")),
                  "total_before": card.previous["total"], "total_after": card.total,
                  "total_change": card.total - card.previous["total"], "dimensions": dims}
    pr = priorities_among_34(ys, code, target)
    plan = plan_target(spec, ys, code, pr[pr["priority"].notna()] if len(pr) else pr)
    notes = [{"key": "y34_drivers", "vi": t("y34_drivers", "vi", year=card.year),
              "en": t("y34_drivers", "en", year=card.year)}]
    if change and change["before_is_estimate"]:
        notes.append({"key": "y34_against_estimate",
                      "vi": t("y34_against_estimate", "vi", year=change["from_year"], province=card.unit.name_vi),
                      "en": t("y34_against_estimate", "en", year=change["from_year"], province=card.unit.name_en)})
    return jsonable({"province": card.to_dict()["province"], "year": card.year, "units": "2025",
                     "boundaries": "34 provinces from 1 July 2025", "status": card.status,
                     "data_version": data.version_for(card.year, "unit"), "total": card.total, "rank": card.rank,
                     "n_ranked": ys.n_ranked, "group": card.group, "change": change,
                     "priorities": pr[pr["below"]].head(N_PRIORITIES)[["code", "dimension", "label_vi", "label_en", "score",
                                                          "national_median", "target_level"]].to_dict("records")
                     if len(pr) else [],
                     "target": plan.to_dict(), "models": None, "notes": notes})


def drivers34_text(report: dict, lang: str) -> str:
    """The terminal text of :func:`drivers34`."""
    from papi_research.analysis.scores import group_name
    from papi_research.data.codebook import dimensions
    from papi_research.data.i18n import fmt_num, t
    p = report["province"]
    head = f"{p['name_' + lang]} ({p['code']}) — PAPI {report['year']}"
    lines = [head, "=" * len(head)]
    if report["total"] is not None:
        lines.append(f"{t('total', lang)}: {fmt_num(report['total'], lang)}   "
                     f"{t('rank', lang)}: {t('rank_of', lang, rank=report['rank'], n=report['n_ranked'])}   "
                     f"{t('group', lang)}: {group_name(report['group'], lang)}")
    ch = report["change"]
    if ch:
        lines += ["", f"{ch['from_year']} → {ch['to_year']}: {fmt_num(ch['total_before'], lang)} → "
                      f"{fmt_num(ch['total_after'], lang)} ({'+' if ch['total_change'] >= 0 else '−'}"
                      f"{fmt_num(abs(ch['total_change']), lang)})"]
        for d in ch["dimensions"]:
            x = d["change"]
            delta = "–" if x is None else ("+" if x >= 0 else "−") + fmt_num(abs(x), lang)
            name = dimensions()[int(d["dimension"])].name(lang, short=True)
            lines.append(f"  {d['dimension']} {name:<30} {fmt_num(d['before'], lang):>6} → "
                         f"{fmt_num(d['after'], lang):>6}  {delta}")
    if report["priorities"]:
        lines += ["", t("y34_priorities_head", lang)]
        lines += [f"  {r['code']} {r['label_' + lang]}: {fmt_num(r['score'], lang)} "
                  f"({t('y34_median', lang)} {fmt_num(r['national_median'], lang)})" for r in report["priorities"]]
    tg = report["target"]
    if tg.get("already_met"):
        lines += ["", t("y34_target_met", lang, target=tg["target"])]
    elif tg.get("needed_points") is not None:
        lines += ["", t("y34_target_line", lang, target=tg["target"], points=fmt_num(tg["needed_shown"], lang))]
    lines += [""] + [n[lang] for n in report["notes"]]
    return "\n".join(lines)
