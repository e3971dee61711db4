"""What moved the score: exact decomposition of a province's change between two years.

Within one regime the change in total is split into dimension changes (which sum to it exactly,
because a total is the sum of its dimensions) and, for each dimension whose sub-dimension labels
and maxima are the same in both years, into sub-dimension changes (which sum to the dimension's
change). Where a dimension was restructured (e.g. dimension 5 lost Construction Permits in 2021,
E-Governance gained E-Responsiveness in 2019) only the dimension-level change is reported, with the
reason. Across the 2017/2018 break the total comparison is refused and only the dimensions
``codebook.comparable_dimensions`` allows are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from papi_research.analysis.notes import Note, make_note
from papi_research.analysis.scores import previous_year, rank_common, year_scores
from papi_research.data.codebook import comparable_dimensions, dimensions, same_regime
from papi_research.data.loader import PapiData
from papi_research.data.provinces import Province
from papi_research.data.text import lookup_key
from papi_research.data.values import integer as _int
from papi_research.data.values import num as _num


@dataclass
class ChangeResult:
    """A province's change between ``from_year`` and ``to_year``.

    ``by_dimension``: number, from_score, to_score, change, comparable, decomposed (by sub-dimension),
    reason. ``by_subdimension``: dimension, label_en, label_vi, code_from, code_to, from_score,
    to_score, change (only for decomposed dimensions).
    """

    province: Province
    from_year: int | None
    to_year: int
    same_regime: bool
    total_from: float | None
    total_to: float | None
    total_change: float | None
    rank_from: int | None
    rank_to: int | None
    n_ranked_from: int | None
    n_ranked_to: int | None
    by_dimension: pd.DataFrame
    by_subdimension: pd.DataFrame
    notes: list[Note] = field(default_factory=list)
    excluded_dimensions: list[int] = field(default_factory=list)
    total_change_excluding: float | None = None
    total_change_noise: float | None = None
    dimension_noise: float | None = None
    rank_common: dict | None = None

    @property
    def rank_change(self) -> int | None:
        """Places gained (positive = moved up) among the provinces ranked in both years
        (``rank_common``; rankings of different sizes are not compared place for place)."""
        if self.rank_common is not None:
            return self.rank_common["from"] - self.rank_common["to"]
        if self.rank_from is None or self.rank_to is None:
            return None
        if self.n_ranked_from != self.n_ranked_to:
            return None
        return self.rank_from - self.rank_to

    def to_frame(self) -> pd.DataFrame:
        return self.by_dimension.copy()

    def to_dict(self) -> dict:
        return {
            "from_year": self.from_year, "to_year": self.to_year, "same_regime": self.same_regime,
            "total_from": self.total_from, "total_to": self.total_to, "total_change": self.total_change,
            "rank_from": self.rank_from, "rank_to": self.rank_to, "rank_change": self.rank_change,
            "rank_common": self.rank_common,
            "n_ranked_from": self.n_ranked_from, "n_ranked_to": self.n_ranked_to,
            "excluded_dimensions": list(self.excluded_dimensions),
            "total_change_excluding_rebuilt": self.total_change_excluding,
            "total_change_noise": self.total_change_noise, "dimension_change_noise": self.dimension_noise,
            "by_dimension": [{"number": int(r["number"]), "name_vi": r["name_vi"], "name_en": r["name_en"],
                              "from_score": _num(r["from_score"]), "to_score": _num(r["to_score"]),
                              "change": _num(r["change"]), "comparable": bool(r["comparable"]),
                              "decomposed": bool(r["decomposed"]),
                              "reason": r["reason"] if isinstance(r["reason"], str) else None}
                             for r in self.by_dimension.to_dict("records")],
            "by_subdimension": [{"dimension": int(r["dimension"]), "label_vi": r["label_vi"],
                                 "label_en": r["label_en"], "code_from": r["code_from"], "code_to": r["code_to"],
                                 "from_score": _num(r["from_score"]), "to_score": _num(r["to_score"]),
                                 "change": _num(r["change"])}
                                for r in self.by_subdimension.to_dict("records")],
            "notes": [n.to_dict() for n in self.notes],
        }


SUB_COLUMNS = ["dimension", "label_en", "label_vi", "code_from", "code_to", "from_score", "to_score", "change"]


def _same_structure(data: PapiData, a: int, b: int, dim: int) -> tuple[bool, str | None]:
    """Whether dimension ``dim`` has the same sub-dimension labels and maxima in years a and b."""
    ta = data.codebook.table(a)
    tb = data.codebook.table(b)
    ta, tb = ta[ta["dimension"] == dim], tb[tb["dimension"] == dim]
    la = sorted(lookup_key(x) for x in ta["label_en"])
    lb = sorted(lookup_key(x) for x in tb["label_en"])
    if la != lb:
        return False, "labels"
    if abs(float(ta["max"].iloc[0]) - float(tb["max"].iloc[0])) > 1e-9:
        return False, "maxima"
    return True, None


def decompose_change(data: PapiData, province: Province | str, year: int,
                     comparison_year: int | None = None) -> ChangeResult:
    """Decompose the province's change from ``comparison_year`` (default: the latest earlier year of
    the same regime with a total) to ``year``."""
    p = province if isinstance(province, Province) else data.provinces.lookup(province)
    data.check_year(year)
    notes: list[Note] = []
    if comparison_year is None:
        comparison_year = previous_year(data, p.code, year)
        if comparison_year is None:
            notes.append(make_note("an_change_no_previous", year=year))
    else:
        data.check_year(comparison_year)
        if comparison_year == year:
            from papi_research.errors import ParameterError
            raise ParameterError("comparison_year", f"must differ from year ({year})")
    ys_to = year_scores(data, year)
    row_to = ys_to.provinces.loc[p.code]
    dims_all = dimensions()
    empty = pd.DataFrame(columns=["number", "name_vi", "name_en", "from_score", "to_score", "change",
                                  "comparable", "decomposed", "reason"])
    if comparison_year is None:
        return ChangeResult(p, None, year, True, None, _num(row_to["total"]), None, None,
                            _int(row_to["rank"]), None, ys_to.n_ranked, empty,
                            pd.DataFrame(columns=SUB_COLUMNS), notes)
    a, b = comparison_year, year
    ys_from = year_scores(data, a)
    row_from = ys_from.provinces.loc[p.code]
    regime_ok = same_regime(a, b)
    comparable = set(comparable_dimensions(a, b))
    if not regime_ok:
        notes.append(make_note("an_change_regime_break", a=a, b=b,
                               dims=", ".join(str(d) for d in sorted(comparable))))
    elif len(comparable) < ys_to.regime.n_dimensions:
        notes.append(make_note("an_change_2016_break", a=a, b=b,
                               dims=", ".join(str(d) for d in sorted(comparable))))
    n_dims = min(ys_from.regime.n_dimensions, ys_to.regime.n_dimensions) if not regime_ok \
        else ys_to.regime.n_dimensions
    rows, subs = [], []
    sub_from, sub_to = ys_from.subdimensions.loc[p.code], ys_to.subdimensions.loc[p.code]
    for d in range(1, n_dims + 1):
        if not regime_ok and d not in comparable:
            continue
        f, t_ = _num(ys_from.dimensions.at[p.code, d]), _num(ys_to.dimensions.at[p.code, d])
        ch = None if f is None or t_ is None else t_ - f
        reason = None
        decomposed = False
        if ch is None:
            reason = "missing"
        elif d not in comparable:
            reason = "not_comparable"
        else:
            ok, why = _same_structure(data, a, b, d)
            if ok:
                decomposed = True
                sa = ys_from.structure[ys_from.structure["dimension"] == d]
                sb = ys_to.structure[ys_to.structure["dimension"] == d]
                by_key = {lookup_key(r["label_en"]): r for r in sa.to_dict("records")}
                for r in sb.to_dict("records"):
                    ra = by_key[lookup_key(r["label_en"])]
                    fs, ts = float(sub_from[ra["code"]]), float(sub_to[r["code"]])
                    subs.append({"dimension": d, "label_en": r["label_en"], "label_vi": r["label_vi"],
                                 "code_from": ra["code"], "code_to": r["code"], "from_score": fs,
                                 "to_score": ts, "change": ts - fs})
            else:
                reason = "restructured_" + why
        rows.append({"number": d, "name_vi": dims_all[d].name_vi, "name_en": dims_all[d].name_en,
                     "from_score": f, "to_score": t_, "change": ch, "comparable": d in comparable,
                     "decomposed": decomposed, "reason": reason})
    by_dim = pd.DataFrame(rows, columns=empty.columns)
    restructured = [r["number"] for r in rows if (r["reason"] or "").startswith("restructured")]
    if restructured:
        notes.append(make_note("an_change_restructured", a=a, b=b,
                               dims=", ".join(str(d) for d in restructured)))
    missing = [r["number"] for r in rows if r["reason"] == "missing"]
    total_from = _num(row_from["total"])
    total_to = _num(row_to["total"])
    if not regime_ok:
        total_change = None
        rank_from = rank_to = None
    else:
        total_change = None if total_from is None or total_to is None else total_to - total_from
        rank_from, rank_to = _int(row_from["rank"]), _int(row_to["rank"])
        if total_change is None:
            notes.append(make_note("an_change_no_total", a=a, b=b,
                                   dims=", ".join(str(d) for d in missing) or "–"))
    # beside the headline change: the change over the dimensions measured the same way in both years
    excluded = [r["number"] for r in rows if r["change"] is not None and not r["decomposed"]]
    excluding = None
    if total_change is not None and excluded:
        excluding = float(sum(r["change"] for r in rows if r["decomposed"]))
        notes.append(make_note("an_change_excluding", a=a, b=b, dims=", ".join(str(d) for d in excluded),
                               change=round(excluding, 2)))
    noise_total, noise_dim = _noise(data, p.code, a, b)
    common = rank_common(data, p.code, a, b) if regime_ok and total_change is not None else None
    return ChangeResult(p, a, b, regime_ok, total_from if regime_ok else None, total_to if regime_ok else None,
                        total_change, rank_from, rank_to,
                        ys_from.n_ranked if regime_ok else None, ys_to.n_ranked if regime_ok else None,
                        by_dim, pd.DataFrame(subs, columns=SUB_COLUMNS), notes, excluded, excluding,
                        noise_total if total_change is not None else None, noise_dim, common)


def _noise(data: PapiData, code: str, a: int, b: int) -> tuple[float | None, float | None]:
    """95 % noise band of the change in the total and in one dimension between years a and b
    (independent surveys; ``uncertainty`` says what the standard errors rest on)."""
    from papi_research.analysis.uncertainty import difference_noise, year_uncertainty
    ua, ub = year_uncertainty(data, a), year_uncertainty(data, b)
    if ua is None or ub is None:
        return None, None
    return (difference_noise(float(ua.table.at[code, "se"]), float(ub.table.at[code, "se"])),
            difference_noise(float(ua.dim_se[code]), float(ub.dim_se[code])))
