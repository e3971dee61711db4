"""``papi verify``: re-execute published briefings from their records and say whether they still hold.

For each executed notebook (given as a file, found in a folder, or listed by a manifest) :func:`verify`

1. reads its record (``briefing.show_record``) and the record's ``provenance``; a notebook without one
   cannot be verified;
2. hashes every data file the record names (``provenance.data.files``) where the data is now (the
   recorded ``data_dir``, or ``--data-dir``); a file whose SHA-256 differs, or that is missing, means the
   briefing cannot be verified against this data: it is named, and the notebook is not run;
3. re-executes the notebook from its recorded parameters with the current code, on the batch machinery
   (:mod:`~papi_research.pipeline.executors`: warm kernels, one worker per core, a province's languages
   together), without rendering;
4. compares the record (all but its provenance) and every output: text exactly, figures by what they
   plot (``figures.plotted``: numbers, labels, colours), and prints the differences per section, old → new.
   The data notes' last line (version, commit, data version) is compared after putting the current code's
   line in place of the recorded one: a new commit alone is an environment difference, not a new briefing.

It says when the environment (package version, commit, Python, libraries) differs from the recorded one.
Exit status (:attr:`VerifyReport.exit_code`): 0 when every briefing matches, 1 when one differs, 2 when
one cannot be verified.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from papi_research.errors import ParameterError

MATCH, DIFFERS, UNVERIFIABLE = "matches", "differs", "cannot verify"
MAX_LINES = 40
"""Lines of difference printed per briefing (the rest are counted)."""


@dataclass
class Verdict:
    """What :func:`verify` found for one executed notebook."""

    path: Path
    status: str = MATCH  # matches | differs | cannot verify
    reason: str | None = None  # why it cannot be verified
    differences: list[str] = field(default_factory=list)  # readable lines, per section
    environment: list[str] = field(default_factory=list)  # "pandas 3.1.1 → 3.1.2"

    def text(self) -> str:
        head = f"{self.status.upper():<13} {self.path}"
        lines = [head + (f": {self.reason}" if self.reason else "")]
        if self.environment:
            lines.append("  environment differs from the recorded one: " + "; ".join(self.environment))
        shown = self.differences[:MAX_LINES]
        lines += ["  " + d for d in shown]
        if len(self.differences) > len(shown):
            lines.append(f"  … and {len(self.differences) - len(shown)} more lines of difference")
        return "\n".join(lines)


@dataclass
class VerifyReport:
    """Every notebook's verdict and the time it took."""

    verdicts: list[Verdict]
    duration_s: float

    @property
    def exit_code(self) -> int:
        statuses = {v.status for v in self.verdicts}
        return 2 if UNVERIFIABLE in statuses else 1 if DIFFERS in statuses else 0

    def text(self) -> str:
        counts = {s: sum(v.status == s for v in self.verdicts) for s in (MATCH, DIFFERS, UNVERIFIABLE)}
        lines = [v.text() for v in self.verdicts if v.status != MATCH or v.environment]
        lines.append(f"papi verify: {counts[MATCH]} match, {counts[DIFFERS]} differ, "
                     f"{counts[UNVERIFIABLE]} cannot be verified ({len(self.verdicts)} "
                     f"briefing{'' if len(self.verdicts) == 1 else 's'} in "
                     f"{self.duration_s:.1f} s)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"exit_code": self.exit_code, "duration_s": round(self.duration_s, 3),
                "briefings": [{"path": str(v.path), "status": v.status, "reason": v.reason,
                               "differences": v.differences, "environment": v.environment} for v in self.verdicts]}


# --- what to verify ---------------------------------------------------------------------------------

def notebooks(paths: list[str | Path]) -> list[Path]:
    """The executed notebooks ``paths`` name: a notebook, every published notebook below a folder
    (``*.failed.ipynb`` and hidden folders left out), or the notebooks a ``manifest.json`` lists."""
    from papi_research.data.manifest import parse_manifest
    out: list[Path] = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.ipynb") if not q.name.endswith(".failed.ipynb")
                           and not any(part.startswith(".") for part in q.relative_to(p).parts))
            if not found:
                raise ParameterError("PATH", f"{p} holds no executed notebook (.ipynb)")
            out += found
        elif p.is_file() and p.suffix == ".json":
            runs = parse_manifest(p).runs.values()
            out += [p.parent / r.outputs["ipynb"] for r in runs
                    if r.status in ("ok", "cached") and r.outputs.get("ipynb")]
        elif p.is_file() and p.suffix == ".ipynb":
            out.append(p)
        else:
            raise ParameterError("PATH", f"{p} is not an executed notebook (.ipynb), a folder or a manifest.json")
    return list(dict.fromkeys(q.resolve() for q in out))


# --- reading a published briefing --------------------------------------------------------------------

def _joined(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def read_briefing(path: Path):
    """(notebook, record) of an executed briefing; a notebook without a record or provenance is a
    ``ValueError`` saying so."""
    import nbformat
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several unrelated types for a broken file
        raise ValueError(f"not a readable notebook ({exc})") from None
    return nb, record_of(nb)


def record_of(nb) -> dict:
    """The record an executed notebook displayed, with its provenance (else a ``ValueError`` saying what lacks)."""
    from papi_research.briefing.display import RECORD_MIME
    records = [o["data"][RECORD_MIME] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
               if RECORD_MIME in o.get("data", {})]
    if not records:
        raise ValueError("no briefing record in the notebook (briefing.show_record); re-run it with papi run")
    if not isinstance(records[0].get("provenance"), dict):
        raise ValueError("the record has no provenance (made before papi-research recorded it); "
                         "re-run it with papi run --force")
    return records[0]


def data_mismatches(record: dict, data_dir: str | None) -> list[str]:
    """Each recorded data file whose bytes are not what the record says (SHA-256), or that is missing,
    named with where it was looked for; [] when all of them match."""
    from papi_research.briefing.provenance import source_dir
    from papi_research.data.hashing import sha256_file_cached
    from papi_research.data.paths import find_papi_dir
    papi_dir = find_papi_dir(data_dir)
    problems = []
    for f in record["provenance"].get("data", {}).get("files", []):
        folder = source_dir(f["source"], papi_dir)
        path = None if folder is None else folder / f["name"]
        if path is None or not path.is_file():
            problems.append(f"data file {f['name']} ({f['source']}) is missing"
                            + (f": {path}" if path is not None else ""))
        elif sha256_file_cached(path) != f["sha256"]:
            problems.append(f"data file {f['name']} has changed: {path} has SHA-256 "
                            f"{sha256_file_cached(path)[:16]}…, the record says {f['sha256'][:16]}…")
    return problems


def environment_changes(old: dict, new: dict) -> list[str]:
    """What differs between two provenances' code, Python and libraries: ``"pandas 3.1.1 → 3.2.0"``."""
    out = []
    oc, nc = old.get("code", {}), new.get("code", {})
    for key in ("version", "commit", "dirty"):
        if oc.get(key) != nc.get(key):
            label = {"version": "papi-research", "commit": "commit", "dirty": "uncommitted changes"}[key]
            out.append(f"{label} {_short(oc.get(key))} → {_short(nc.get(key))}")
    if old.get("python") != new.get("python"):
        out.append(f"Python {old.get('python')} → {new.get('python')}")
    op, np_ = old.get("packages", {}), new.get("packages", {})
    out += [f"{name} {op.get(name, 'absent')} → {np_.get(name, 'absent')}" for name in sorted(set(op) | set(np_))
            if op.get(name) != np_.get(name)]
    return out


def _short(value) -> str:
    if isinstance(value, str) and len(value) == 40:
        return value[:12]
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


# --- comparing ---------------------------------------------------------------------------------------

def _entries(nb, old_line: str | None = None, new_line: str | None = None) -> list[tuple[str, str, object]]:
    """The notebook's outputs as (section, key, value) in order: each line of text under the heading it
    follows, each figure by its label with its caption, alt text and what it plots. ``old_line`` is
    replaced by ``new_line`` in the text (the data notes' versions line)."""
    from papi_research.briefing.display import RECORD_MIME
    section = "(before the first heading)"
    out: list[tuple[str, str, object]] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if RECORD_MIME in data:
                continue
            papi = (o.get("metadata", {}) or {}).get("papi", {}) or {}
            if papi.get("kind") == "figure":
                out.append((section, "figure " + str(papi.get("label")),
                            {"caption": papi.get("caption"), "alt": papi.get("alt"), "plotted": papi.get("plotted")}))
                continue
            if o.get("output_type") == "stream":
                text = _joined(o.get("text", ""))
            elif o.get("output_type") == "error":
                text = f"{o.get('ename')}: {o.get('evalue')}"
            elif papi.get("kind") in ("md", "callout") or "text/plain" not in data:
                text = _joined(data.get("text/markdown", data.get("text/html", "")))
            else:  # tiles and tables: their words and numbers, without the layout of each format
                text = _joined(data["text/plain"])
            if old_line and new_line:
                text = text.replace(old_line, new_line)
            for line in text.splitlines():
                if not line.strip():
                    continue
                heading = _HEADING.match(line)
                if heading and papi.get("kind") == "md":
                    section = heading.group(1).strip()
                out.append((section, "text", line))
    return out


_HEADING = re.compile(r"^#{1,6} (.+)$")
_TOKEN = re.compile(r"\w+(?:[.,]\w+)*|\S")  # words and numbers with their decimal mark (40,14), or a sign


def _word_change(old: str, new: str) -> str:
    """The changed words of two lines: ``40,14 → 40,41``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            parts.append(f"{' '.join(a[i1:i2]) or '∅'} → {' '.join(b[j1:j2]) or '∅'}")
    return "; ".join(parts)


def value_changes(old, new, where: str = "") -> list[str]:
    """Where two JSON values differ: ``axes[0].lines[1].y[3]: 40.14 → 40.41``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += value_changes(old.get(k), new.get(k), f"{where}.{k}" if where else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in value_changes(a, b, f"{where}[{i}]")]
    if old != new:
        text = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
        short = lambda s: s if len(s) <= 80 else s[:77] + "…"  # noqa: E731
        return [f"{where}: {short(text(old))} → {short(text(new))}"]
    return []


def compare(old_nb, old_rec: dict, new_nb, new_rec: dict) -> list[str]:
    """Readable differences between a published briefing and its re-execution ([] when they match)."""
    from papi_research.briefing.provenance import versions_line
    out = [f"record {c}" for c in value_changes({k: v for k, v in old_rec.items() if k != "provenance"},
                                                {k: v for k, v in new_rec.items() if k != "provenance"})]
    old_p, new_p = old_rec["provenance"], new_rec["provenance"]
    lang = old_rec.get("lang", "vi")
    old_line = versions_line(lang, old_p["data"]["version"], old_p["code"])
    new_line = versions_line(lang, new_p["data"]["version"], new_p["code"])
    a, b = _entries(old_nb, old_line, new_line), _entries(new_nb)
    keys_a = [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in a]
    keys_b = [json.dumps(e, ensure_ascii=False, sort_keys=True) for e in b]
    last_section = None
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        section = (a[i1] if i1 < len(a) else b[j1] if j1 < len(b) else a[-1])[0]
        if section != last_section:
            out.append(f"§ {section}")
            last_section = section
        olds, news = a[i1:i2], b[j1:j2]
        for k in range(max(len(olds), len(news))):
            o = olds[k] if k < len(olds) else None
            n = news[k] if k < len(news) else None
            if o and n and o[1] == n[1] and o[1].startswith("figure "):
                out += [f"  {o[1]}: {c}" for c in value_changes(o[2], n[2])]
                continue
            if o and n and o[1] == n[1] == "text":
                out += [f"  − {o[2]}", f"  + {n[2]}", f"    {_word_change(o[2], n[2])}"]
                continue
            if o:
                out.append(f"  − {o[2] if o[1] == 'text' else o[1]}")
            if n:
                out.append(f"  + {n[2] if n[1] == 'text' else n[1]}")
    return out


# --- running ---------------------------------------------------------------------------------------

def _notebook_for(record: dict, nb) -> Path:
    """The notebook that made the briefing: the one papermill ran when it is in this checkout, else the
    project's notebook for the record's kind."""
    from papi_research.data.paths import project_dir
    from papi_research.pipeline import scopes
    from papi_research.pipeline.plan import default_notebook
    label = (nb.metadata.get("papermill", {}) or {}).get("input_path")
    if label and (project_dir() / label).is_file():
        return project_dir() / label
    kind = record.get("kind")
    if kind == "unit_briefing":
        return project_dir() / scopes.UNIT_NOTEBOOK
    if kind == "national_briefing":
        return project_dir() / scopes.NATIONAL_NOTEBOOK
    return default_notebook()


def _parameters(record: dict, nb, data_dir: str | None) -> dict:
    """The parameters the notebook was run with (papermill's record of them, else the record's), with
    ``data_dir`` replaced when the data is looked for elsewhere."""
    params = dict((nb.metadata.get("papermill", {}) or {}).get("parameters") or {})
    if not params:
        params = dict(record["provenance"].get("parameters") or {})
    if data_dir is not None and "data_dir" in params:
        params["data_dir"] = str(Path(data_dir).resolve())
    return params


def verify(paths: list[str | Path], jobs: int | None = None, data_dir: str | None = None,
           echo: Callable[[str], None] | None = None) -> VerifyReport:
    """Verify the briefings ``paths`` name (see the module docstring); ``data_dir`` verifies them against
    the data in another folder than the recorded one."""
    from papi_research.pipeline.executors import get_executor
    from papi_research.pipeline.jobs import JobSpec
    from papi_research.pipeline.kernel import WarmSpec
    from papi_research.pipeline.run import _private_tempdir
    t0 = time.perf_counter()
    verdicts: dict[Path, Verdict] = {}
    todo: dict[str, tuple[Path, object, dict]] = {}
    specs: list[JobSpec] = []
    for path in notebooks(paths):
        v = verdicts[path] = Verdict(path)
        try:
            nb, rec = read_briefing(path)
        except ValueError as exc:
            v.status, v.reason = UNVERIFIABLE, str(exc)
            continue
        params = _parameters(rec, nb, data_dir)
        where = data_dir if data_dir is not None else params.get("data_dir")
        try:
            problems = data_mismatches(rec, where)
        except Exception as exc:  # noqa: BLE001 - e.g. no data folder at all: named, not a traceback
            problems = [str(exc)]
        if problems:
            v.status, v.reason = UNVERIFIABLE, "; ".join(problems)
            continue
        key = f"verify-{len(specs):05d}"
        todo[key] = (path, nb, rec)
        # a province's languages share a worker (executors.province_groups): the same folder
        specs.append(JobSpec(key=key, notebook=str(_notebook_for(rec, nb)), out_dir="", rel_dir=str(path.parent),
                             stem=path.stem, parameters=params, formats=(), renderer="builtin"))
    if specs:
        years = tuple(sorted({int(rec["year"]) for _, _, rec in todo.values()}))
        provinces = [rec["provenance"]["parameters"].get("province") for _, _, rec in todo.values()
                     if rec.get("kind") == "province_briefing" and rec.get("status") == "complete"]
        warm = WarmSpec(kernel_name="python3", data_dir=specs[0].parameters.get("data_dir"), years=years,
                        province=provinces[0] if provinces else None)
        for s in specs:
            s.warm = warm
        n = max(1, min(jobs or os.cpu_count() or 1, len(specs)))
        done = 0
        import nbformat
        with _private_tempdir():
            for res in get_executor("local").run(specs, warm, n):
                path, old_nb, old_rec = todo[res.key]
                v = verdicts[path]
                if res.status != "ok" or "ipynb" not in res.files:
                    v.status, v.reason = UNVERIFIABLE, f"re-execution failed: {res.error}"
                    continue
                new_nb = nbformat.reads(res.files["ipynb"].decode("utf-8"), as_version=4)
                try:
                    new_rec = record_of(new_nb)
                except ValueError as exc:
                    v.status, v.reason = UNVERIFIABLE, f"re-execution: {exc}"
                    continue
                v.environment = environment_changes(old_rec["provenance"], new_rec["provenance"])
                v.differences = compare(old_nb, old_rec, new_nb, new_rec)
                v.status = DIFFERS if v.differences else MATCH
                done += 1
                if echo is not None:
                    echo(f"[{done}/{len(specs)}] {v.status} {path}")
    return VerifyReport(verdicts=list(verdicts.values()), duration_s=time.perf_counter() - t0)

