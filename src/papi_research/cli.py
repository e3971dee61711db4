"""The ``papi`` command line: parses, validates, calls the library, prints. No analysis here."""

from __future__ import annotations

import json
import sys

import click

from . import __version__
from .errors import PapiError

LANG = click.Choice(["vi", "en"])


def _data(data_dir):
    from .data import load
    return load(data_dir)


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


@click.group(cls=PapiGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="papi")
def main():
    """PAPI scorecards, score drivers and provincial briefings (63 pre-2025 provinces, 2011–2024)."""


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                               envvar="PAPI_DATA_DIR",
                               help="PAPI data folder (default: $PAPI_DATA_DIR, data/raw/papi, ../shared/papi).")


@main.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def provinces(data_dir, as_json):
    """List the 63 provinces (code, names, slug, GSO code, region, post-2025 province)."""
    reg = _data(data_dir).provinces
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
    from .report_text import data_check_text
    data = _data(data_dir)
    click.echo(data_check_text(data))


@main.command()
@click.argument("province", required=False)
@click.option("--year", type=int, default=None, help="Year (default: the latest with data).")
@click.option("--all", "all_", is_flag=True, help="Every province (use with --json).")
@click.option("--lang", type=LANG, default="vi", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (scores unrounded).")
@data_dir_option
def scores(province, year, all_, lang, as_json, data_dir):
    """Scorecard of a province: total, rank, group, dimensions and sub-dimensions."""
    from .errors import ParameterError
    from .report_text import scorecard_text
    from .scores import scorecard
    if bool(province) == bool(all_):
        raise ParameterError("PROVINCE", "give one province, or --all")
    data = _data(data_dir)
    if all_:
        cards = [scorecard(data, p, year) for p in data.provinces]
        if as_json:
            _dump([c.to_dict() for c in cards])
        else:
            for c in cards:
                click.echo(scorecard_text(c, lang))
                click.echo("")
        return
    card = scorecard(data, province, year)
    if as_json:
        _dump(card.to_dict())
    else:
        click.echo(scorecard_text(card, lang))


# --- commands of later modules are registered below (drivers, run, site, render) ---

