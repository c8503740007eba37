# Two commands for a fresh Debian machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DI := $(BIN)/dualimpact

.PHONY: demo test bench lint setup system db

demo: db ## Set up, load the shared data, run matching and coverage, serve the app at :8000
	$(DI) load geography
	$(DI) load postcodes
	$(DI) load activities
	$(DI) load suppliers
	$(DI) territories
	$(DI) recommend --postcode "OX4 1YA" --top 5
	$(DI) coverage
	@echo "Web app and API at http://localhost:8000 (API docs at /docs); Ctrl-C stops it."
	$(DI) serve --host 0.0.0.0 --port 8000

test: db ## Same set-up, then lint, type-check and the whole test suite against real PostGIS
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: db ## Benchmarks: the project's path beside a naive baseline, same run
	$(BIN)/python -m benchmarks --markdown benchmarks/RESULTS.md

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

setup: system $(VENV)/.installed

system:
	@./scripts/setup-system.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(DI) assets
	@touch $@

db: setup ## Start (or find) the database and bring its schema up to date
	$(DI) db start
	$(DI) db upgrade
