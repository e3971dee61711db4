"""Renderers and executors are found by name through entry points, and the CLI offers exactly those."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from papi_research import registry
from papi_research.cli import main
from papi_research.errors import ParameterError
from papi_research.pipeline.executors import DaskExecutor, LocalExecutor, get_executor
from papi_research.render.builtin import BuiltinRenderer
from papi_research.render.quarto import QuartoRenderer


def test_registered_plugins_load_by_name():
    assert registry.names("renderer") == ("builtin", "quarto")
    assert registry.names("executor") == ("dask", "local")
    assert registry.load("renderer", "builtin") is BuiltinRenderer
    assert registry.load("renderer", "quarto") is QuartoRenderer
    assert isinstance(get_executor("local"), LocalExecutor)
    dask = get_executor("dask", scheduler="tcp://127.0.0.1:8786")
    assert isinstance(dask, DaskExecutor) and dask.scheduler == "tcp://127.0.0.1:8786"


def test_unknown_names_are_errors_naming_the_parameter():
    with pytest.raises(ParameterError, match=r"renderer.*one of builtin, quarto.*'latex'"):
        registry.load("renderer", "latex")
    with pytest.raises(ParameterError, match=r"executor.*one of dask, local.*'slurm'"):
        get_executor("slurm")
    with pytest.raises(ParameterError, match="scheduler"):
        get_executor("local", scheduler="tcp://127.0.0.1:8786")


def test_cli_choices_come_from_the_registry():
    run_help = CliRunner().invoke(main, ["run", "--help"]).output
    assert "[dask|local]" in run_help
    assert "[auto|builtin|quarto]" in run_help
    bad = CliRunner().invoke(main, ["render", "x.ipynb", "--renderer", "latex"])
    assert bad.exit_code == 2 and "'latex' is not one of 'auto', 'builtin', 'quarto'" in bad.output
