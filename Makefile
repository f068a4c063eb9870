# Two commands: `make run` (start Xihe) and `make test` (the whole suite). Both create .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench screenshots clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev]'
	touch $@ $(STAMP)

# `make run`: the platform on http://$(RUN_HOST):$(RUN_PORT), data in $(RUN_DATA_DIR) (SQLite), demo user printed on first start.
RUN_HOST ?= 127.0.0.1
RUN_PORT ?= 8000
RUN_DATA_DIR ?= ./.xihe-data
run: $(STAMP)
	$(VENV)/bin/xihe serve --host $(RUN_HOST) --port $(RUN_PORT) --data-dir $(RUN_DATA_DIR)

test: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

bench: $(DEV_STAMP)
	$(PIP) install -q -e '.[bench]'
	@echo "run a script from benchmarks/, e.g. $(PY) benchmarks/qasm_parse.py"

# `make screenshots`: a PNG of every dashboard page in docs/screenshots/ (a live server, Debian's Chromium).
screenshots: $(DEV_STAMP)
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
