# Two commands for a fresh Debian machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DI := $(BIN)/dualimpact
# Installs come from uv.lock (exact versions and hashes); uv itself is pinned here and
# bootstrapped into the venv with pip. `make lock` / `make upgrade` change the lock.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
UV_BOOTSTRAP := $(VENV)/.uv-$(UV_VERSION)
# Trust the system's certificate store, as pip does (needed behind TLS-inspecting proxies).
export UV_SYSTEM_CERTS := 1

.PHONY: demo test bench lint setup system db lock upgrade

demo: db ## Set up, load the shared data, run matching and coverage, serve the app at :8000
	$(DI) load geography
	$(DI) load postcodes
	$(DI) load activities
	$(DI) load suppliers
	$(DI) territories
	$(DI) trust --territory E23000029
	$(DI) recommend --postcode "OX4 1YA" --top 5
	$(DI) coverage
	$(DI) users demo
	@echo "Web app and API at http://localhost:8000 (API docs at /docs); Ctrl-C stops it."
	$(DI) serve --host 0.0.0.0 --port 8000

test: db ## Same set-up, then lint, type-check and the whole test suite against real PostGIS
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: db ## Benchmarks: the project's path beside a naive baseline, same run
	$(BIN)/python -m benchmarks --markdown benchmarks/RESULTS.md

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

setup: system $(VENV)/.installed

system:
	@./scripts/setup-system.sh

# Every extra (dev, distributed, stats) at the locked versions, the project itself editable;
# packages not in the lock are removed. Stops if pyproject.toml changed since the last lock.
$(VENV)/.installed: pyproject.toml uv.lock $(UV_BOOTSTRAP)
	@$(UV) lock --check --quiet || { echo "uv.lock does not match pyproject.toml:" \
		"run 'make lock' and commit uv.lock." >&2; exit 1; }
	$(UV) sync --frozen --all-extras
	$(DI) assets
	@touch $@

$(UV_BOOTSTRAP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	@touch $@

lock: $(UV_BOOTSTRAP) ## Re-resolve uv.lock after editing dependencies in pyproject.toml
	$(UV) lock

upgrade: $(UV_BOOTSTRAP) ## Upgrade every locked package to the newest version pyproject.toml allows
	$(UV) lock --upgrade

db: setup ## Start (or find) the database and bring its schema up to date
	$(DI) db start
	$(DI) db upgrade
