"""Data that cannot be true is refused, by `papi data check` and every command that reads the data (issue 24,
issue 22 point 5): rows cut short, blanked or deleted without an official reason, empty year files, duplicate
provinces, other encodings and separators, missing columns, missing markers. Each case: exit status 2, one
line saying what is wrong, where, and what to do; never a traceback."""

from __future__ import annotations

import codecs
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from papi_research.analysis.scores import year_scores
from papi_research.cli import main
from papi_research.data.loader import load
from papi_research.data.paths import find_papi_dir

REAL = find_papi_dir()


@pytest.fixture()
def broken(tmp_path: Path) -> Path:
    dst = tmp_path / "papi"
    shutil.copytree(REAL, dst)
    for p in dst.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dst


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(path: Path, rows: list[str]) -> None:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def row_of(rows: list[str], code: str) -> int:
    return next(i for i, r in enumerate(rows) if r.startswith(code + ","))


def refused(data_dir: Path, *words: str, command=("data", "check")) -> str:
    result = CliRunner().invoke(main, [*command, "--data-dir", str(data_dir)])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    out = result.output.strip()
    assert out.startswith("error: ") and len(out.splitlines()) == 1, out
    for w in words:
        assert w in out, (w, out)
    return out


def test_a_row_cut_short_is_refused(broken):
    rows = lines(broken / "2024.csv")
    i = row_of(rows, "P09")
    rows[i] = ",".join(rows[i].split(",")[:7])  # Province and six scores
    write(broken / "2024.csv", rows)
    refused(broken, "2024.csv", f"row {i + 1}", "7 fields where the header has 30")
    refused(broken, "7 fields", command=("scores", "Sơn La", "--year", "2024"))  # the year's commands read it too
    other = CliRunner().invoke(main, ["scores", "Sơn La", "--year", "2023", "--data-dir", str(broken)])
    assert other.exit_code == 0 and "2024.csv" in other.stderr  # the other years work, with one warning


def test_a_row_with_an_extra_field_is_refused(broken):
    rows = lines(broken / "2024.csv")
    rows[3] += ",1.0"
    write(broken / "2024.csv", rows)
    refused(broken, "31 fields where the header has 30", "row 4")


@pytest.mark.parametrize("how", ["blank", "deleted"])
def test_a_blanked_or_deleted_row_needs_an_official_reason(broken, how):
    rows = lines(broken / "2024.csv")
    i = row_of(rows, "P09")
    if how == "blank":
        rows[i] = "P09" + "," * (len(rows[0].split(",")) - 1)
    else:
        del rows[i]
    write(broken / "2024.csv", rows)
    out = refused(broken, "2024.csv", "P09 Sơn La", "no official reason recorded — add each to "
                                                     "missing_official_status.csv")
    assert ("row 10: blank" if how == "blank" else "(no row)") in out


def test_a_partial_row_is_refused_unless_recorded_and_a_dimension_is_never_cut(broken):
    rows = lines(broken / "2024.csv")
    header = rows[0].split(",")
    i = row_of(rows, "P09")
    cells = rows[i].split(",")
    for j, col in enumerate(header):
        if col.startswith("SC2"):
            cells[j] = ""
    rows[i] = ",".join(cells)
    write(broken / "2024.csv", rows)
    refused(broken, "P09 Sơn La (row 10: dimension 2 missing)")
    cells[header.index("SC31")] = ""  # dimension 3 in part
    rows[i] = ",".join(cells)
    write(broken / "2024.csv", rows)
    refused(broken, "dimension 3 is given in part (SC32, SC33 without SC31)", "row 10")


def test_a_recorded_gap_is_accepted_and_groups_whose_counts_differ_from_papi_are_computed(broken):
    rows = lines(broken / "2024.csv")
    i = row_of(rows, "P09")
    rows[i] = "P09" + "," * (len(rows[0].split(",")) - 1)
    write(broken / "2024.csv", rows)
    gaps = broken / "missing_official_status.csv"
    gaps.write_text(gaps.read_text(encoding="utf-8") + "2024,P09,Son La,all blank,test,none,none,none\n", encoding="utf-8")
    data = load(broken)
    ys = year_scores(data, 2024)
    assert ys.n_ranked == 60 and ys.rule.counts_differ == "15/15/15/15" and ys.rule.basis == "computed"
    assert year_scores(load(), 2024).rule.basis == "official"  # the real data: PAPI's 15/15/15/16
    result = CliRunner().invoke(main, ["data", "check", "--data-dir", str(broken)])
    assert result.exit_code == 0
    assert "WARNING: 2024: the groups count 15/15/15/15 where PAPI published 15/15/15/16" in result.output


@pytest.mark.parametrize("content, words", [
    ("", ("the file is empty",)),
    ("HEADER", ("header but no rows",)),
])
def test_an_empty_year_file_is_refused(broken, content, words):
    path = broken / "2024.csv"
    path.write_text(lines(path)[0] + "\n" if content == "HEADER" else "", encoding="utf-8")
    refused(broken, "2024.csv", *words)


@pytest.mark.parametrize("column, value, words", [
    ("name_vi", "Sơn La", ("duplicated province Vietnamese name (first on row 10)", "row 11")),
    ("name_en", "Son La", ("duplicated province English name", "row 11")),
    ("name_en", "SON-LA", ("duplicated province English name",)),
    ("code", "P09", ("duplicated province code",)),
])
def test_duplicate_provinces_are_refused(broken, column, value, words):
    path = broken / "provinces.csv"
    rows = lines(path)
    header = rows[0].split(",")
    cells = rows[10].split(",")  # P10 Yên Bái
    cells[header.index(column)] = value
    rows[10] = ",".join(cells)
    write(path, rows)
    refused(broken, "provinces.csv", *words)


def test_encodings_are_read_or_refused_by_name(broken):
    path = broken / "provinces.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))  # Excel's "CSV UTF-8": read as it is
    assert load(broken).provinces.lookup("P09").name_vi == "Sơn La"
    path.write_bytes(text.replace("Sơn La", "Son La").encode("cp1258", errors="replace").replace(b"Son", "Sơn".encode("cp1258")))
    refused(broken, "provinces.csv", "not UTF-8 text", "save it as CSV in UTF-8")
    path.write_bytes(text.encode("utf-16"))
    refused(broken, "UTF-16")


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_another_separator_is_named(broken, sep, name):
    path = broken / "2024.csv"
    write(path, [r.replace(",", sep) for r in lines(path)])
    refused(broken, "2024.csv", f"separated by {name}", "save the file as comma-separated CSV")


def test_a_missing_column_is_named(broken):
    path = broken / "2024.csv"
    rows = [r.split(",") for r in lines(path)]
    k = rows[0].index("SC83")
    write(path, [",".join(r[:k] + r[k + 1:]) for r in rows])
    refused(broken, "required column 'SC83' is missing", "2024.csv")


@pytest.mark.parametrize("marker", ["NA", "-", "n/a", "—"])
def test_missing_markers_say_leave_the_cell_empty(broken, marker):
    path = broken / "2024.csv"
    rows = lines(path)
    i = row_of(rows, "P09")
    cells = rows[i].split(",")
    cells[1] = marker
    rows[i] = ",".join(cells)
    write(path, rows)
    refused(broken, "missing marker — leave the cell empty", f"value {marker!r}", "column SC11")


def test_site_on_a_folder_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    import papi_research.render.site as site
    (tmp_path / "manifest.json").write_text('{"schema": 1, "runs": []}', encoding="utf-8")

    def full(path, text):
        raise OSError(28, "No space left on device", str(path))
    monkeypatch.setattr(site, "atomic_write_text", full)
    result = CliRunner().invoke(main, ["site", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == f"error: cannot read or write {tmp_path / 'index.html'}: No space left on device"
