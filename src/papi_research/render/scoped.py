"""Title blocks of the briefings that are not about one of the 63 provinces: a new province (one of the 34
since 1 July 2025, ``units = "2025"``) and the national briefing (notebook metadata ``papi.kind: national``).

``scoped_title(data, params, kind, lang)`` returns what ``render.briefing.prepare`` needs: a card (an object
with ``province`` and ``year``) and the :class:`~papi_research.render.briefing.TitleBlock`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import __version__
from ..i18n import fmt_num, t
from ..provinces import Province
from ..scores import group_name, year_scores


@dataclass
class NationalCard:
    """What a renderer needs to know about the national briefing: a 'province' (the country) and the year."""

    province: Province
    year: int


def national_province() -> Province:
    from ..scopes import NATIONAL_CODE, NATIONAL_SLUG
    return Province(code=NATIONAL_CODE, name_vi="Việt Nam", name_en="Vietnam", slug=NATIONAL_SLUG, gso_code="00",
                    region_vi=t("nat_region", "vi"), region_en=t("nat_region", "en"))


def scoped_title(data, params: dict, kind: str | None, lang: str):
    if kind == "national":
        return _national(data, params, lang)
    return _unit(data, params, lang)


def _common(lang: str, year: int) -> dict:
    return dict(kicker=t("rd_kicker", lang), citation=t("citation", lang, year=year),
                boundaries=t("boundaries_note", lang), produced_by=t("rd_produced_by", lang, version=__version__))


def _national(data, params: dict, lang: str):
    from ..briefing import _previous_regime_year
    from .briefing import TitleBlock
    year = data.latest_year if params.get("year") is None else data.check_year(int(params["year"]))
    ys = year_scores(data, year)
    median = ys.national.at["total", "median"]
    prev = _previous_regime_year(data, year)
    change = (t("nat_change_line", lang, a=prev, before=fmt_num(year_scores(data, prev).national.at["total", "median"], lang),
                max=ys.regime.total_max) if prev is not None else t("rd_no_comparison", lang))
    card = NationalCard(province=national_province(), year=year)
    return card, TitleBlock(doc_type=t("br_nat_title", lang, year=year), title=t("nat_title_doc", lang, year=year),
                            region=card.province.region(lang),
                            score_line=t("nat_score_line", lang, n=ys.n_ranked, median=fmt_num(median, lang),
                                         max=ys.regime.total_max),
                            change_line=change, merged="", contents_note=t("rd_contents_note", lang),
                            **_common(lang, year))


def _unit(data, params: dict, lang: str):
    from ..units import unit_scorecard
    from .briefing import TitleBlock
    card = unit_scorecard(data, params["province"], params.get("year"))
    name = card.province.name(lang)
    if card.total is not None:
        score = t("un_score_line", lang, total=fmt_num(card.total, lang), max=card.total_max, rank=card.rank,
                  n=card.ys.n_ranked, group=group_name(card.group, lang), region_rank=card.region_rank,
                  n_region=card.n_region_ranked)
        score = score[:1].upper() + score[1:]
    else:
        score = t("un_no_total_line", lang, year=card.year)
    if card.previous and card.total is not None:
        pv = card.previous
        change = t("rd_change_line", lang, prev_year=pv["year"], delta=fmt_num(card.total - pv["total"], lang, sign=True),
                   prev_rank=pv["rank"], prev_n=pv["n_ranked"])
    else:
        change = t("rd_no_comparison", lang)
    members = ", ".join(data.provinces.by_code(m).name(lang) for m in card.unit.members)
    return card, TitleBlock(doc_type=t("un_doc_type", lang), title=t("un_title", lang, province=name, year=card.year),
                            region=card.province.region(lang), score_line=score, change_line=change,
                            merged=t("un_title_members", lang, members=members),
                            contents_note=t("un_estimate_note", lang), **_common(lang, card.year))
