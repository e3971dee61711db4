"""The ``papi`` command line: parses, validates, calls the library, prints. No analysis here."""

from __future__ import annotations

import json
import os
import sys

import click

from papi_research import __version__
from papi_research.data.i18n import LANGS
from papi_research.errors import PapiError
from papi_research.registry import names

LANG = click.Choice(LANGS)
RENDERER = click.Choice(["auto", *names("renderer")])


def _data(data_dir, warn: bool = True, year: int | None = None):
    """The loaded data; each year file that failed validation is one warning line (that year only is
    unavailable), except the ``year`` asked for: asking for it is the error that names the file."""
    from papi_research.data.loader import load
    data = load(data_dir)
    if warn:
        for y, line in data.warnings():
            if y != year:
                click.echo(f"warning: {line}", err=True)
    return data


def _dump(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False))


class PapiGroup(click.Group):
    """Turns the project's own errors into one clear line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PapiError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:  # before a run started (a run reports its own interruption)
            click.echo("papi: interrupted", err=True)
            sys.exit(130)
        except OSError as exc:  # a folder that cannot be read or written (read-only, full disk, gone)
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"error: cannot read or write{where}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug: one line for the user, the traceback on request
            if os.environ.get("PAPI_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc} — please report it (PAPI_DEBUG=1 shows the "
                       f"traceback)", err=True)
            sys.exit(70)


@click.group(cls=PapiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="papi")
def main():
    """PAPI scorecards, score drivers and provincial briefings (the 63 former provinces 2011–2024; the 34
    provinces since 1 July 2025 for years PAPI reports on them)."""


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               envvar="PAPI_DATA_DIR",
                               help="PAPI data folder (default: $PAPI_DATA_DIR, data/raw/papi, ../shared/papi).")


@main.command()
@data_dir_option
@click.option("--year", type=int, default=None, help="The provinces of this year's data (the 34 from 2025).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def provinces(data_dir, year, as_json):
    """List the 63 provinces (code, names, slug, GSO code, region, post-2025 province), or a year's units."""
    data = _data(data_dir, year=year)
    if year is not None and data.units_of(year) == "34":
        from papi_research.analysis.units import load_units
        units = load_units(data)
        if as_json:
            _dump([{"code": u.code, "name_vi": u.name_vi, "name_en": u.name_en, "slug": u.slug, "type": u.type,
                    "members": list(u.members)} for u in units])
            return
        for u in units:
            click.echo(f"{u.code}  {u.name_vi:<18} {u.name_en:<18} {u.slug:<18} {'+'.join(u.members)}")
        return
    reg = data.provinces
    if as_json:
        _dump([p.to_dict() for p in reg])
        return
    for p in reg:
        merged = f"→ {p.merged_into_vi}" if p.merged_into_vi else ""
        click.echo(f"{p.code}  {p.gso_code}  {p.name_vi:<18} {p.name_en:<18} {p.slug:<18} {p.region_en:<41} {merged}")


@main.group("data")
def data_group():
    """Inspect and validate the data."""


@data_group.command("check")
@data_dir_option
def data_check(data_dir):
    """Validate every data file; list years, provinces per year and official gaps."""
    from papi_research.analysis.report import data_check_text
    data = _data(data_dir, warn=False)
    if data.unavailable:  # a bad year file is an error here (the other commands work on the other years)
        for year, exc in sorted(data.unavailable.items()):
            click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(data_check_text(data))


units_option = click.option("--units", type=click.Choice(["63", "2025"]), default="63", show_default=True,
                            help="63 = the former provinces (PAPI's own figures); 2025 = the 34 provinces since "
                                 "1 July 2025 (estimates from the former provinces' results).")


@main.command()
@click.argument("province", required=False)
@click.option("--year", type=int, default=None, help="Year (default: the latest with data).")
@click.option("--all", "all_", is_flag=True, help="Every province (use with --json).")
@click.option("--lang", type=LANG, default="vi", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (scores unrounded).")
@units_option
@data_dir_option
def scores(province, year, all_, lang, as_json, units, data_dir):
    """Scorecard of a province: total, rank, group, dimensions and sub-dimensions."""
    from papi_research.analysis.report import scorecard_text
    from papi_research.analysis.scores import scorecard
    from papi_research.errors import ParameterError
    if bool(province) == bool(all_):
        raise ParameterError("PROVINCE", "give one province, or --all")
    data = _data(data_dir, year=year)
    everyone, card_of = data.provinces, scorecard
    if year is not None and data.units_of(year) == "34":
        units = "2025"  # a year on the 34: its units are the 34
    if units == "2025":  # the 34 new provinces: estimates from the former ones
        from papi_research.analysis.units import load_units, unit_scorecard
        everyone, card_of = load_units(data), unit_scorecard
    if all_:
        cards = [card_of(data, p, year) for p in everyone]
        if as_json:
            _dump([c.to_dict() for c in cards])
        else:
            for c in cards:
                click.echo(scorecard_text(c, lang))
                click.echo("")
        return
    card = card_of(data, province, year)
    if as_json:
        _dump(card.to_dict())
    else:
        click.echo(scorecard_text(card, lang))


# --- commands of later modules are registered below (drivers, run, site, render) ---


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt


@main.command("run")
@click.argument("province", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every province.")
@click.option("--region", default=None, help="Every province of a region (English or Vietnamese name).")
@click.option("--year", type=int, default=None, help="Year (default: the latest with data).")
@click.option("--comparison-year", type=int, default=None, help="Year to compare with (default: the notebook's).")
@click.option("--target", default=None,
              help="Target of every province: group:best | group:high_average | group:low_average | top:N | a score "
                   "(default: the next group up; the best group keeps it).")
@click.option("--targets", "targets_file", type=click.Path(dir_okay=False), default=None,
              help="CSV of per-province targets: province,target[,year] (same syntax as --target); "
                   "provinces not in it take --target or the default.")
@click.option("--lang", "langs", default="vi", show_default=True, help="Languages, comma-separated: vi,en.")
@click.option("--format", "formats", default="html,pdf", show_default=True,
              help="Briefing formats, comma-separated (html,pdf,docx); 'ipynb' keeps only the executed notebooks.")
@click.option("--jobs", "-j", type=int, default=None, help="Parallel workers (default: the number of cores).")
@click.option("--force", is_flag=True, help="Run even when the cache says nothing changed.")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Output folder (default: reports/).")
@click.option("--executor", type=click.Choice(names("executor")), default="local", show_default=True)
@click.option("--scheduler", default=None, help="Dask scheduler address (default: a LocalCluster).")
@click.option("--renderer", type=RENDERER, default="auto", show_default=True)
@click.option("--notebook", type=click.Path(dir_okay=False), default=None,
              help="Notebook to run (default: notebooks/province_briefing.ipynb).")
@click.option("--fresh-kernels", is_flag=True, help="A new kernel per notebook (slow; checks the fast path).")
@click.option("--timeout", type=int, default=600, show_default=True, help="Seconds allowed per notebook cell.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--dry-run", is_flag=True, help="Validate and show what would run; start nothing.")
@units_option
@click.option("--national", is_flag=True, help="The national briefing (league table, groups, maps, movers).")
@click.option("--map-dimension", type=int, default=None,
              help="With --national: also map the groups of this dimension (1–8).")
@data_dir_option
def run_cmd(province, all_, region, year, comparison_year, target, targets_file, langs, formats, jobs, force, out, executor,
            scheduler, renderer, notebook, fresh_kernels, timeout, as_json, dry_run, units, national, map_dimension,
            data_dir):
    """Execute the briefing notebook per province (papermill) and render HTML/PDF briefings."""
    from pathlib import Path

    from papi_research.pipeline.plan import RunOptions, parse_list, plan_run
    from papi_research.pipeline.run import execute_plan
    options = RunOptions(provinces=tuple(province), all=all_, region=region, year=year, langs=parse_list(langs),
                         formats=parse_list(formats), jobs=jobs, force=force, out=Path(out) if out else None,
                         executor=executor, scheduler=scheduler, renderer=renderer,
                         notebook=Path(notebook) if notebook else None, data_dir=data_dir, target=target,
                         targets=Path(targets_file) if targets_file else None,
                         comparison_year=comparison_year, fresh=fresh_kernels, execution_timeout=timeout,
                         units=units, national=national, map_dimension=map_dimension)
    plan = plan_run(options)
    if dry_run:
        if as_json:
            _dump(plan.to_dict())
        else:
            for j in plan.jobs:
                click.echo(f"{j.action:<8} {j.key}" + (f"  ({j.reason})" if j.reason else ""))
        return
    import signal
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)  # `kill`, `timeout`, a scheduler: the same clean stop
    summary = execute_plan(plan, echo=lambda s: click.echo(s, err=True))
    if as_json:
        _dump(summary.to_dict())
    else:
        click.echo(summary.text())
    sys.exit(summary.exit_code)



@main.command("drivers")
@click.argument("province")
@click.option("--year", type=int, default=None, help="Year (default: the latest with data).")
@click.option("--comparison-year", type=int, default=None,
              help="Year to compare with (default: the latest earlier year of the same regime with a total).")
@click.option("--target", default="group:high_average", show_default=True,
              help="group:best | group:high_average | group:low_average | top:N | a score.")
@click.option("--lang", type=LANG, default="vi", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (unrounded).")
@data_dir_option
def drivers_cmd(province, year, comparison_year, target, lang, as_json, data_dir):
    """What drives a province's score: change, variance shares, models, priorities, target plan."""
    from papi_research.analysis.drivers import drivers_report, drivers_text
    data = _data(data_dir, year=year)
    if year is not None and data.units_of(year) == "34":  # a new province in a year on the 34
        from papi_research.analysis.year34 import drivers34, drivers34_text
        report = drivers34(data, province, year, target)
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) if as_json
                   else drivers34_text(report, lang))
        return
    report = drivers_report(data, province, year=year, target=target, comparison_year=comparison_year)
    if as_json:
        _dump(report.to_dict())
    else:
        click.echo(drivers_text(report, lang))


@main.command("render")
@click.argument("executed", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "formats", default="html,pdf", show_default=True, help="Formats, comma-separated: html,pdf,docx.")
@click.option("--renderer", type=RENDERER, default="auto", show_default=True,
              help="auto = Quarto when `quarto` is on PATH, else builtin (nbconvert HTML, Typst PDF).")
def render_cmd(executed, formats, renderer):
    """Render executed briefing notebooks to HTML and A4 PDF beside them (same stem).

    Quarto renders them all in one process; a notebook that cannot be rendered is reported and the
    others are still rendered (exit status 2 if any failed)."""
    import time

    from papi_research.render import check_formats, render_many, resolve_renderer
    fmts = check_formats(formats)
    name = resolve_renderer(renderer)
    start = time.perf_counter()
    results = render_many(executed, fmts, name)
    took = time.perf_counter() - start
    for path, written in zip(executed, results):
        if isinstance(written, Exception):
            click.echo(f"FAILED {path}: {written}", err=True)
        else:
            click.echo(f"{path}: " + ", ".join(str(p) for p in written.values()))
    failed = sum(isinstance(w, Exception) for w in results)
    click.echo(f"{len(results) - failed} of {len(results)} rendered ({name}) in {took:.2f} s", err=True)
    if failed:
        sys.exit(2)


@main.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Verify against the PAPI data in this folder (default: the folder each record names, "
                   "else the usual search).")
@click.option("--jobs", "-j", type=int, default=None, help="Worker processes (default: the number of cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def verify_cmd(paths, data_dir, jobs, as_json):
    """Re-execute briefings from their records and compare: PATH is an executed notebook, a folder or a
    manifest.json.

    Exit status 0 when every briefing matches, 1 when one differs (the differences are printed per
    section, old → new), 2 when one cannot be verified (e.g. a data file whose hash differs: named)."""
    from papi_research.pipeline.verify import verify
    if jobs is not None and jobs < 1:
        raise click.BadParameter("must be at least 1", param_hint="--jobs")
    report = verify(list(paths), jobs=jobs, data_dir=data_dir,
                    echo=None if as_json else (lambda line: click.echo(line, err=True)))
    if as_json:
        _dump(report.to_dict())
    else:
        click.echo(report.text())
    sys.exit(report.exit_code)


@main.command("site")
@click.option("--out", type=click.Path(file_okay=False), default="reports", show_default=True,
              help="Output folder of `papi run` (holds manifest.json).")
def site_cmd(out):
    """Build <out>/index.html: every briefing (province × year × language) with links, score, rank, group."""
    from papi_research.render.site import collect, write_site
    site = collect(out)
    path = write_site(site)
    click.echo(f"{path} ({len(site.rows)} briefings)")
    for line in site.skipped:  # what could not be listed, and why (the others are)
        click.echo(f"skipped {line}", err=True)
