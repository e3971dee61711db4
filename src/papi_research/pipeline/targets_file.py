"""Per-province targets of a run, from a CSV file (``papi run --targets FILE``), checked before anything runs.

The file has the columns ``province`` and ``target`` and, optionally, ``year``::

    province,target,year
    Thanh Hóa,top:10,
    Sơn La,group:high_average,2021

``province`` takes any form ``Provinces.lookup`` accepts ("Sơn La", "son-la", "sonla", "P09", "14"); ``target``
the syntax of ``--target`` (``group:best``, ``group:high_average``, ``group:low_average``, ``top:N`` or a
score), checked against the run's year; a row with a ``year`` applies to that year only, a row without
one to every year. A province given twice for the same year is an error. Every error names the file, the
row and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from papi_research.errors import DataValidationError, PapiError

COLUMNS = ("province", "target")
OPTIONAL = ("year",)


@dataclass(frozen=True)
class TargetRow:
    """One row of a targets file: the province's code, the target text and the year it applies to (None: any)."""

    code: str
    target: str
    year: int | None
    row: int


def read_targets(path: Path | str, data, year: int) -> dict[str, str]:
    """The targets of ``year`` in the file at ``path``: province code → target text, every row checked
    (province known, target valid for ``year``'s scores, year a PAPI year, no province twice a year)."""
    from papi_research.analysis.scores import year_scores
    from papi_research.analysis.targets import parse_target
    from papi_research.data.files import read_table
    path = Path(path)
    try:
        df = read_table(path, COLUMNS)
    except DataValidationError:
        raise
    except Exception as exc:  # pandas' parser errors (a broken quote, a binary file)
        raise DataValidationError(f"not a readable CSV file ({exc})", file=path) from None
    extra = [c for c in df.columns if c not in COLUMNS + OPTIONAL]
    if extra:
        raise DataValidationError(f"unknown column {extra[0]!r} (expected province, target and optionally year)",
                                  file=path, row=1, column=extra[0])
    rows: list[TargetRow] = []
    seen: dict[tuple[str, int | None], int] = {}
    for i, r in enumerate(df.to_dict("records"), start=2):
        name = (r["province"] or "").strip()
        if not name:
            raise DataValidationError("empty province", file=path, row=i, column="province", value="")
        try:
            code = data.provinces.lookup(name).code
        except PapiError as exc:
            raise DataValidationError(str(exc), file=path, row=i, column="province", value=name) from None
        y = None
        raw_year = str(r.get("year") or "").strip()
        if raw_year:
            if not raw_year.isdigit():
                raise DataValidationError("not a year", file=path, row=i, column="year", value=raw_year)
            y = int(raw_year)
            if y not in data.years:
                raise DataValidationError(f"no PAPI data for this year (years: {data.years[0]}–{data.years[-1]})",
                                          file=path, row=i, column="year", value=raw_year)
        target = (r["target"] or "").strip()
        if not target:
            raise DataValidationError("empty target", file=path, row=i, column="target", value="")
        try:
            parse_target(target, year_scores(data, y if y is not None else year))
        except PapiError as exc:
            raise DataValidationError(str(exc).removeprefix("Invalid parameter target: "), file=path, row=i,
                                      column="target", value=target) from None
        key = (code, y)
        if key in seen:
            raise DataValidationError(f"province given twice (already in row {seen[key]})", file=path, row=i,
                                      column="province", value=name)
        seen[key] = i
        rows.append(TargetRow(code, target, y, i))
    out = {x.code: x.target for x in rows if x.year is None}
    out.update({x.code: x.target for x in rows if x.year == year})  # a row for the year beats a general one
    return out
