"""Plain-text renderings for the terminal: data check summary and scorecards."""

from __future__ import annotations

from papi_research.analysis.scores import Scorecard, group_name, year_scores
from papi_research.data.codebook import comparability_notes
from papi_research.data.i18n import fmt_num, t
from papi_research.data.loader import PapiData
from papi_research.data.paths import overrides
from papi_research.data.values import integer, num


def data_check_text(data: PapiData) -> str:
    lines = [f"PAPI data: {data.directory}", f"data version: {data.version}",
             f"years: {data.years[0]}–{data.years[-1]} ({len(data.years)} years), "
             f"{len(data.provinces)} provinces, {len(data.panel)} sub-dimension scores", "",
             "year  regime  complete  partial  missing  ranked  groups (best/high/low/poor)  basis"]
    differ: list[str] = []
    for y in data.years:
        ys = year_scores(data, y)
        st = ys.provinces["status"].value_counts()
        g = ys.group_counts()
        lines.append(f"{y}  {ys.regime.total_max:>6}  {st.get('complete', 0):>8}  {st.get('partial', 0):>7}  "
                     f"{st.get('missing', 0):>7}  {ys.n_ranked:>6}  "
                     f"{g['best']}/{g['high_average']}/{g['low_average']}/{g['poor']:<22}  {ys.rule.basis}"
                     + (f" (PAPI published {ys.rule.official_counts})" if ys.rule.counts_differ else ""))
        if ys.rule.counts_differ:
            differ.append(f"{y}: the groups count {ys.rule.counts_differ} where PAPI published "
                          f"{ys.rule.official_counts} (resources/reference/group_rules.csv), so the data differ from "
                          f"what PAPI ranked; the groups are labelled computed")
    lines += ["", "Gaps (missing or partial province-years) and their official status:"]
    for y in data.years:
        ys = year_scores(data, y)
        for code, row in ys.provinces[ys.provinces["status"] != "complete"].iterrows():
            p = data.provinces.by_code(code)
            lines.append(f"  {y} {code} {p.name_vi} ({p.name_en}): {row['status']} — {data.gap_reason(y, code)}")
    if data.years34:
        from papi_research.analysis.year34 import official_year
        lines += ["", "Years on the 34 provinces since 1 July 2025 (PAPI's own figures):",
                  "year  complete  partial  missing  ranked  groups (best/high/low/poor)  basis"]
        for y in data.years34:
            ys = official_year(data, y).ys
            st, g = ys.provinces["status"].value_counts(), ys.group_counts()
            lines.append(f"{y}  {st.get('complete', 0):>8}  {st.get('partial', 0):>7}  {st.get('missing', 0):>7}  "
                         f"{ys.n_ranked:>6}  {g['best']}/{g['high_average']}/{g['low_average']}/{g['poor']:<22}  "
                         f"{ys.rule.basis}")
            for code, row in ys.provinces[ys.provinces["status"] != "complete"].iterrows():
                u = data.new_provinces.by_code(code)
                lines.append(f"  {y} {code} {u.name_vi} ({u.name_en}): {row['status']} — {data.gap_reason(y, code)}")
    if data.unavailable:
        lines += ["", "Year files that fail validation (each year unavailable until its file is fixed):"]
        lines += [f"  ERROR {exc}" for _, exc in sorted(data.unavailable.items())]
    lines += ["", "Comparability:"] + [f"  - {n}" for n in comparability_notes("en")]
    edited = overrides()
    lines += ["", "Edited reference tables and catalogue files in use (instead of the packaged ones):"]
    lines += [f"  - {path}" for path in edited] or ["  none"]
    if data.unavailable:
        lines += ["", f"ERROR: {len(data.unavailable)} year file(s) fail validation (see above); the other years work"]
    else:
        lines += [""] + ([f"WARNING: {d}" for d in differ] or ["OK: all files valid."])
    return "\n".join(lines)


def scorecard_text(card: Scorecard, lang: str) -> str:
    p = card.province
    head = f"{p.name(lang)} ({p.code}) — PAPI {card.year} — {p.region(lang)}"
    lines = [head, "=" * len(head)]
    if card.status == "complete":
        lines.append(f"{t('total', lang)}: {fmt_num(card.total, lang)}/{card.total_max}   "
                     f"{t('rank', lang)}: {t('rank_of', lang, rank=card.rank, n=card.ys.n_ranked)}   "
                     f"{t('group', lang)}: {group_name(card.group, lang)}")
        u = card.uncertainty()
        if u.get("ci_low") is not None and u.get("p_keep_group") is not None:
            lines.append(t("unc_scorecard_line", lang, lo=fmt_num(u["ci_low"], lang), hi=fmt_num(u["ci_high"], lang),
                           best=u["rank_range"][0], worst=u["rank_range"][1],
                           p=fmt_num(100 * u["p_keep_group"], lang, 0)))
            lines.append(u["ci_basis_text"][lang])
        if card.region_rank is not None:
            lines.append(t("region_rank_line", lang, rank=card.region_rank, n=card.n_region_ranked,
                           region=p.region(lang)))
            if u.get("region_rank_range"):
                lines.append(t("unc_region_rank_line", lang, best=u["region_rank_range"][0],
                               worst=u["region_rank_range"][1], p=fmt_num(100 * u["p_region_rank"], lang, 0)))
        if card.previous:
            pv = card.previous
            lines.append(f"{pv['year']}: {fmt_num(pv['total'], lang)}/{card.total_max}, "
                         f"{t('rank', lang).lower()} {t('rank_of', lang, rank=pv['rank'], n=pv['n_ranked'])}"
                         + (f" — {t('y34_previous_estimate', lang)}" if pv.get("estimate") else ""))
    else:
        reason = (card.data.gap_summary(card.year, p.code, lang) if card.data is not None else None) \
            or card.missing_reason  # the official status in the reader's language
        lines.append(f"{t('status', lang)}: {t('status_' + card.status, lang)} — {reason}")
    if getattr(card, "official", False):  # a year on the 34: the province's own figures
        lines.append(t("y34_official_note", lang))
    elif hasattr(card, "components"):  # a new province (units.UnitScorecard): an estimate, with its parts
        from papi_research.analysis.units import component_lines
        lines += component_lines(card, lang)
    lines.append("")
    dt = card.dimension_table()
    name_col = "short_vi" if lang == "vi" else "short_en"
    lines.append(f"{'':3}{t('dimension', lang):<28}{t('score', lang):>16}{t('rank', lang):>10}"
                 f"{t('national_median', lang):>22}{t('national_best', lang):>22}")
    for r in dt.to_dict("records"):  # records turn a column of ranks with gaps into floats: back to integers
        rank, score = integer(r["rank"]), num(r["score"])
        shown = t("not_published", lang) if score is None else fmt_num(score, lang)
        rank_text = "–" if rank is None else t("rank_of", lang, rank=rank, n=int(r["n"]))
        lines.append(f"{r['number']:<3}{r[name_col]:<28}{shown:>16}{rank_text:>10}"
                     f"{fmt_num(r['national_median'], lang):>22}{fmt_num(r['national_best'], lang):>22}")
    lines.append("")
    label = "label_vi" if lang == "vi" else "label_en"
    for r in card.subdimension_table().to_dict("records"):
        lines.append(f"   {r['code']}  {r[label][:60]:<62}{fmt_num(r['score'], lang):>7} / {fmt_num(r['max'], lang)}")
    lines += ["", t("boundaries_note", lang), t("citation", lang, year=card.year)]
    return "\n".join(lines)
