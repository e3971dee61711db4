# papi-research — every target creates the environment (.venv) first if it is missing.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROVINCE ?= Sơn La
export SOURCE_DATE_EPOCH ?= 1735689600
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
# Jupyter refuses to start as root (containers, many servers) unless told it may.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help env lock report reports test test-fast lab bench bench-quick bench-quarto site clean

help:
	@echo "make report      the Sơn La briefing for the latest year (HTML + PDF in reports/)"
	@echo "make test        the whole test suite"
	@echo "make reports     every province, Vietnamese and English, then the index site"
	@echo "make lab         JupyterLab on notebooks/ with the project's kernel"
	@echo "make lock        refresh requirements-lock.txt (newest versions pyproject.toml allows)"
	@echo "make bench       the batch benchmark (naive vs batch vs cached)"
	@echo "make bench-quarto  Quarto's own CPU seconds per briefing (needs quarto on PATH)"

# The environment is the lock: every package of the test and lab extras pinned, with hashes, for Python
# 3.11 on Linux (requirements-lock.txt, written by `make lock`). uv installs it (several times faster
# than pip); the package itself goes in editable, without dependencies, and `uv pip check` fails the
# install when pyproject.toml asks for something the lock lacks (run `make lock`).
LOCK := requirements-lock.txt
UV_VERSION := 0.13.9
UV := $(BIN)/uv

$(UV):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	$(UV) pip check --quiet --python $(BIN)/python || { echo "error: pyproject.toml needs packages $(LOCK) does not pin: run make lock"; exit 1; }
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3 (papi-research)" >/dev/null
	touch $(STAMP)

env: $(STAMP)

# Refresh the lock: the newest versions pyproject.toml's ranges allow, from uv's default index (PyPI; uv
# reads no pip.conf, and no uv.toml here), for Python 3.11 on Linux, with every file's hash.
lock: $(UV)
	env -u UV_INDEX_URL -u UV_EXTRA_INDEX_URL -u UV_DEFAULT_INDEX -u UV_INDEX -u UV_FIND_LINKS \
	  $(UV) pip compile pyproject.toml --extra test --extra lab --upgrade --generate-hashes \
	  --python-version 3.11 --python-platform linux --no-config --custom-compile-command "make lock" \
	  --quiet -o $(LOCK)

report: $(STAMP)
	$(BIN)/papi scores "$(PROVINCE)"
	$(BIN)/papi run "$(PROVINCE)" --lang vi --format html,pdf

reports: $(STAMP)
	$(BIN)/papi run --all --lang vi,en --format html,pdf; status=$$?; \
	$(BIN)/papi run --national --lang vi,en --format html,pdf || status=$$?; $(BIN)/papi site; exit $$status

site: $(STAMP)
	$(BIN)/papi site

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lab: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter lab notebooks/ $(LAB_ROOT)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py

bench-quick: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py --quick

bench-quarto: $(STAMP)
	$(BIN)/python benchmarks/bench_quarto.py

clean:
	rm -rf reports/*/ reports/manifest.json reports/index.html test-artifacts
