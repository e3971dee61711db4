"""Score drivers report: one call assembling change, variance, models, priorities and the target plan.

``drivers_report(data, province, year=None, target="group:high_average", comparison_year=None)``
returns a ``DriversReport`` whose ``.to_dict()`` is the JSON of ``papi drivers`` and whose parts
(``.change``, ``.variance``, ``.models``, ``.priorities``, ``.target``, ``.notes``) each have
``.to_frame()`` / ``.to_dict()``. National pieces (year scores, variance shares, context, momentum
and PCI models) are cached per data version and year, so each further province costs little.
``drivers_text(report, lang)`` renders it for the terminal.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import pandas as pd

from papi_research.analysis.change import ChangeResult, decompose_change
from papi_research.analysis.models import ModelSet, context_models, momentum_models
from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.pci import pci_models
from papi_research.analysis.priorities import Priorities, score_priorities
from papi_research.analysis.scores import group_name, year_scores
from papi_research.analysis.targets import TargetPlan, parse_target, plan_target, static_cutoff
from papi_research.analysis.trend import trend_models
from papi_research.analysis.uncertainty import year_uncertainty
from papi_research.analysis.variance import VarianceResult, variance_decomposition
from papi_research.data.codebook import dimensions
from papi_research.data.i18n import check_lang, fmt_int, fmt_num, fmt_pct, t
from papi_research.data.loader import PapiData
from papi_research.data.provinces import Province
from papi_research.data.values import jsonable
from papi_research.errors import PapiError


@dataclass
class Notes:
    """The report's notes (missing data, comparability, model caveats), bilingual."""

    items: list[Note] = field(default_factory=list)

    def texts(self, lang: str) -> list[str]:
        return [n.text(lang) for n in self.items]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([n.to_dict() for n in self.items], columns=["key", "vi", "en"])

    def to_dict(self) -> list[dict]:
        return [n.to_dict() for n in self.items]


@dataclass
class DriversReport:
    province: Province
    year: int
    status: str
    data_version: str
    change: ChangeResult
    variance: VarianceResult
    models: ModelSet
    priorities: Priorities
    target: TargetPlan
    notes: Notes

    def to_dict(self) -> dict:
        ch = self.change.to_dict()
        m = self.models.to_dict()
        return jsonable({
            "province": self.province.to_dict(),
            "year": self.year, "status": self.status, "data_version": self.data_version,
            "boundaries": "63 provinces before the merger of 1 July 2025",
            "change": ch,
            "variance": self.variance.to_dict(),
            "priorities": self.priorities.lines,
            "priority_watch": self.priorities.watch,
            "priority_table": self.priorities.to_dict()["table"],
            "priority_weights": self.priorities.to_dict()["weights"],
            "target": self.target.to_dict(),
            "models": m["fits"],
            "trend": m["trend"], "context": m["context"], "momentum": m["momentum"],
            "notes": self.notes.to_dict(),
        })


def _dedupe(notes: list[Note]) -> list[Note]:
    seen, out = set(), []
    for n in notes:
        if (n.key, n.en) not in seen:
            seen.add((n.key, n.en))
            out.append(n)
    return out


def drivers_report(data: PapiData, province: Province | str, year: int | None = None,
                   target: str = "group:high_average", comparison_year: int | None = None) -> DriversReport:
    """Everything the briefing and ``papi drivers`` say about what moves with the province's score.

    Parameters
    ----------
    data : the loaded PAPI data (``data.load`` / ``data.load_cached``).
    province : a ``Province`` or any name or code ``Provinces.lookup`` accepts.
    year : the PAPI year (None: the latest year with data).
    target : "group:…" | "top:N" | a score (see ``targets.parse_target``).
    comparison_year : the year the change is measured from (None: the latest comparable one).

    Returns
    -------
    DriversReport : ``change`` (exact decomposition), ``variance`` (shares), ``models`` (fitted models
    with robust errors, intervals and Holm-adjusted p-values), ``priorities`` (with ``stability``),
    ``target`` (the target plan), ``notes``; ``to_dict()`` is the JSON of ``papi drivers --json``.
    """
    p = province if isinstance(province, Province) else data.provinces.lookup(province)
    year = data.latest_year if year is None else data.check_year(int(year))
    ys = year_scores(data, year)
    spec = parse_target(target, ys)
    status = str(ys.provinces.at[p.code, "status"])
    notes: list[Note] = []
    if status != "complete":
        reason = data.gap_reason(year, p.code) or "not published (no official reason recorded)"
        notes.append(make_note(f"an_status_{status}", province_vi=p.name_vi, province_en=p.name_en, year=year,
                               reason=reason))
    change = decompose_change(data, p, year, comparison_year)
    variance = variance_decomposition(data, year, p)
    trend = trend_models(data, p, year)
    try:
        context = context_models(data, p, year)
    except PapiError as exc:  # companion data unavailable: say so, keep the rest
        context = None
        notes.append(Note("an_context_unavailable", t("an_context_unavailable", "vi", error=str(exc)),
                          t("an_context_unavailable", "en", error=str(exc))))
    prios = score_priorities(data, p, year, spec, trend, context)
    unc = year_uncertainty(data, year)
    plan = plan_target(spec, ys, p.code, prios.table[prios.table["priority"].notna()],
                       margin=unc.margin(p.code) if unc is not None and status == "complete" else None)
    # the clearing probability aims at the planner's moving goal (total + points needed), not the static cut-off
    cut = {"total": plan.goal if plan.goal is not None else static_cutoff(spec, ys)}
    if spec.kind == "group":
        q = {"best": "p75", "high_average": "p50", "low_average": "p25"}[str(spec.value)]
        for d in ys.dimensions.columns:
            cut[f"D{int(d)}"] = ys.cutoffs[int(d)][q]
    momentum = momentum_models(data, p, year, cut)
    try:
        pci, pci_notes = pci_models(data, year)
    except PapiError as exc:
        pci, pci_notes = [], [Note("an_context_unavailable", t("an_context_unavailable", "vi", error=str(exc)),
                                   t("an_context_unavailable", "en", error=str(exc)))]
    models = ModelSet(trend=trend, context=context, momentum=momentum, pci=pci,
                      notes=[*trend.notes, *(context.notes if context else []), *momentum.notes, *pci_notes])
    notes += [*change.notes, *models.notes, *prios.notes, *plan.notes]
    if ys.rule.basis == "computed":
        notes.append(make_note("an_groups_computed", year=year))
    notes.append(make_note("an_boundaries"))
    return DriversReport(province=p, year=year, status=status, data_version=data.version, change=change,
                         variance=variance, models=models, priorities=prios, target=plan, notes=Notes(_dedupe(notes)))


# ------------------------------------------------------------------------------------------- text

def _places(rc: int | None, lang: str) -> str:
    """'up 3 places' / 'down 23 places' / 'same rank' (the sign spelt out, never "-23 places gained")."""
    if rc is None:
        return "–"
    if rc > 0:
        return t("br_places_up", lang, places=rc)
    if rc < 0:
        return t("br_places_down", lang, places=-rc)
    return t("br_places_same", lang)


_SHARED: OrderedDict = OrderedDict()
SHARED_SIZE = 2
"""How many reports :func:`shared_drivers_report` keeps (a batch worker runs a province's languages in turn)."""


def shared_drivers_report(data: PapiData, province: Province, year: int, target: str = "group:high_average",
                          comparison_year: int | None = None) -> DriversReport:
    """:func:`drivers_report`, computed once per process for the languages of one briefing.

    The report holds no language (its sentences carry both), so the Vietnamese and the English
    briefing of a province share it: the second one takes it from here. The library warnings the
    computation raised are raised again on every call, so the caller sees the same warnings as from
    a fresh computation (a briefing quotes them). Keyed by data version, province, year, target and
    comparison year; the last :data:`SHARED_SIZE` are kept.
    """
    import warnings
    key = (data.version, str(data.directory), province.code, int(year), target, comparison_year)
    hit = _SHARED.get(key)
    if hit is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = drivers_report(data, province, year=year, target=target, comparison_year=comparison_year)
        hit = _SHARED[key] = (report, [(w.category, str(w.message)) for w in caught])
        while len(_SHARED) > SHARED_SIZE:
            _SHARED.popitem(last=False)
    else:
        _SHARED.move_to_end(key)
    report, raised = hit
    for category, message in raised:
        warnings.warn(message, category, stacklevel=2)
    return report


def drivers_text(report: DriversReport, lang: str = "vi") -> str:
    """The report as readable terminal text in ``lang`` (all words from the catalogues)."""
    check_lang(lang)
    p, y = report.province, report.year
    head = t("an_title", lang, province=p.name(lang), code=p.code, year=y)
    out = [head, "=" * len(head), ""]
    ch = report.change
    out.append(t("an_h_change", lang))
    if ch.from_year is None:
        out.append("  " + t("an_change_none", lang))
    else:
        if ch.total_change is not None:
            rc, rcm = ch.rank_change, ch.rank_common
            out.append("  " + t("an_change_total", lang, a=ch.from_year, b=ch.to_year,
                                from_=fmt_num(ch.total_from, lang), to=fmt_num(ch.total_to, lang),
                                change=fmt_num(ch.total_change, lang, sign=True),
                                rank_from=fmt_int(ch.rank_from, lang), rank_to=fmt_int(ch.rank_to, lang),
                                n_common=fmt_int(rcm["n"], lang) if rcm else "–",
                                common_from=fmt_int(rcm["from"], lang) if rcm else "–",
                                common_to=fmt_int(rcm["to"], lang) if rcm else "–",
                                places=_places(rc, lang)))
        elif not ch.same_regime:
            out.append("  " + t("an_change_dims_only", lang, a=ch.from_year, b=ch.to_year))
        else:
            out += ["  " + n.text(lang) for n in ch.notes if n.key == "an_change_no_total"]
        for r in ch.by_dimension.to_dict("records"):
            name = dimensions()[int(r["number"])].name(lang, short=True)
            why = "" if not isinstance(r["reason"], str) else f"  ({t('an_reason_' + r['reason'], lang)})"
            out.append(f"    {int(r['number'])} {name:<28}{fmt_num(r['from_score'], lang):>8} → "
                       f"{fmt_num(r['to_score'], lang):>6}  {fmt_num(r['change'], lang, sign=True):>7}{why}")
        label = f"label_{lang}"
        for r in ch.by_subdimension.to_dict("records"):
            if abs(r["change"]) >= 0.1:
                out.append(f"        {r[label][:48]:<50}{fmt_num(r['change'], lang, sign=True):>7}")
    out.append("")
    out.append(t("an_h_variance", lang, year=y, n=report.variance.n))
    for r in report.variance.by_dimension.to_dict("records"):
        name = dimensions()[int(r["number"])].name(lang, short=True)
        pct = "–" if r["percentile"] is None or pd.isna(r["percentile"]) else fmt_num(r["percentile"], lang, 0)
        out.append(f"    {int(r['number'])} {name:<28}{fmt_pct(r['share'], lang):>6}   "
                   f"{t('an_percentile', lang)} {pct}")
    out.append("")
    out.append(t("an_h_priorities", lang))
    for i, line in enumerate(report.priorities.lines, start=1):
        out.append(f"  {i}. [{line['code']}] {line[f'label_{lang}']}")
        out.append(f"     {line[f'sentence_{lang}']}")
    if not report.priorities.lines:
        out.append("  " + t("an_priority_none_text", lang))
    if report.priorities.watch:
        out.append("  " + t("an_priority_watch", lang, codes=", ".join(
            f"[{w['code']}] {w[f'label_{lang}']}" for w in report.priorities.watch)))
    out.append("")
    plan = report.target
    out.append(t("an_h_target", lang, target=plan.spec.label(lang)))
    if plan.needed_points is None:
        out.append("  " + t("an_target_no_total", lang, year=y))
    elif plan.already_met:
        out.append("  " + t("an_target_met", lang, target=plan.spec.label(lang)))
    else:
        out.append("  " + t("an_target_needed", lang, points=fmt_num(plan.needed_shown, lang),
                            total=fmt_num(plan.total, lang), cutoff=fmt_num(plan.cutoff, lang)))
        for r in plan.path.to_dict("records"):
            out.append(f"    - {r[f'label_{lang}'][:50]:<52} {fmt_pct(r['share'], lang)} × "
                       f"{fmt_num(r['gap'], lang)} = {fmt_num(r['points'], lang, sign=True)}")
        if plan.margin is not None:
            key = "br_target_margin_within" if plan.needed_points <= plan.margin else "br_target_margin_beyond"
            out.append("  " + t(key, lang, points=fmt_num(plan.needed_shown, lang), margin=fmt_num(plan.margin, lang)))
        out.append("  " + t("an_target_rank_after", lang, rank_now=fmt_int(plan.rank_now, lang),
                            rank_after=fmt_int(plan.rank_after, lang), n=plan.n_ranked,
                            group=group_name(plan.group_after, lang) or "–"))
    out.append("")
    out.append(t("an_h_models", lang))
    for f in report.models.fits:
        if f.kind == "trend" and f.outcome.startswith("SC"):
            continue
        out.append(f"  [{f.name}] n={f.n}, R²={fmt_num(f.r2, lang)} — {f.reading(lang)}")
    ctx = report.models.context
    if ctx is not None:
        r = ctx.table[ctx.table["outcome"] == "total"]
        if not r.empty and r["residual"].iloc[0] is not None and pd.notna(r["residual"].iloc[0]) \
                and bool(r["signal"].iloc[0]):
            out.append("  " + t("an_context_total", lang, expected=fmt_num(r["expected"].iloc[0], lang),
                                lo=fmt_num(r["pi_low"].iloc[0], lang), hi=fmt_num(r["pi_high"].iloc[0], lang),
                                residual=fmt_num(r["residual"].iloc[0], lang, sign=True)))
    mom = report.models.momentum.table
    r = mom[mom["outcome"] == "total"]
    if not r.empty and pd.notna(r["expected_next"].iloc[0]):
        r = r.iloc[0]
        out.append("  " + t("an_momentum_total", lang, expected=fmt_num(r["expected_next"], lang),
                            lo=fmt_num(r["pi_low"], lang), hi=fmt_num(r["pi_high"], lang),
                            p=fmt_pct(r["p_clear"], lang) if pd.notna(r["p_clear"]) else "–"))
    out.append("")
    out.append(t("an_h_notes", lang))
    out += [f"  - {s}" for s in report.notes.texts(lang)]
    out.append("")
    out.append(t("citation", lang, year=y))
    return "\n".join(out)
