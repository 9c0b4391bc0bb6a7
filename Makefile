# KAP Companion — `make run` serves the demo, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-python test-js test-webkit lint format clean help bench-data serve bench

help:
	@echo "make run   - set up and serve the demo on http://127.0.0.1:$(PORT)"
	@echo "make test  - set up and run every test (lint included)"
	@echo "make test-webkit - the WebKit lane (Safari's engine: webkit2gtk-driver, xvfb, pulseaudio)"
	@echo "make lint  - ruff format check and lint, mypy (strict), then Biome on the JavaScript (needs Node)"
	@echo "make bench-data - write the benchmark data set into KAP_DATABASE_URL"
	@echo "make serve - the production profile (gunicorn; PostgreSQL, Redis, keys from KAP_*);"
	@echo "             it prints the job worker command (flask jobs worker) to run beside it"
	@echo "make bench - measure every budget on a fresh PostgreSQL database (docs/benchmarks.md)"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving KAP Companion on http://127.0.0.1:$(PORT) with its background jobs  (Ctrl-C to stop)"
	$(FLASK) run-with-jobs --host 127.0.0.1 --port $(PORT)

# Biome (package.json, pinned in package-lock.json) formats and lints static/js and tests/js.
BIOME := node_modules/.bin/biome

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make lint needs Node.js and npm (apt-get install nodejs npm)." >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(VENV)/.dev node_modules/.installed
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIOME) ci --error-on-warnings .

format: $(VENV)/.dev node_modules/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIOME) check --write .

test: $(VENV)/.dev lint test-js test-python test-webkit

# Tests run in parallel, one worker per core (pytest-xdist); a module's tests stay on one
# worker, so its live server and browser start once. TEST_WORKERS=0 runs them in-process.
# The fuzz tests run in one process after the rest: xdist's scope scheduling files tests by
# node id, and Schemathesis gives every operation of a fuzz test the same id, so all but one
# operation per test would silently not run. (Exit status 5: PYTEST_ARGS selected no fuzz test.)
TEST_WORKERS ?= auto
test-python: $(VENV)/.dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope -m "not fuzz" --ignore=tests/webkit $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m fuzz $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Safari's engine: WebKitGTK through WebKitWebDriver on an Xvfb display the tests start, with a
# PulseAudio null sink when pulseaudio is installed (tests/webkit/conftest.py). One process: a
# WebKit window and a live server per module. Without the driver or Xvfb: a visible SKIPPED,
# unless KAP_REQUIRE_WEBKIT=1 (.ci/run), when it fails.
test-webkit: $(VENV)/.dev
	@if [ -x /usr/bin/WebKitWebDriver ] && command -v Xvfb >/dev/null; then \
		$(BIN)/python -m pytest -p no:xdist tests/webkit $(WEBKIT_ARGS); \
	elif [ "$$KAP_REQUIRE_WEBKIT" = 1 ]; then \
		echo "KAP_REQUIRE_WEBKIT=1 but WebKitWebDriver or Xvfb is missing (apt-get install webkit2gtk-driver xvfb)" >&2; exit 1; \
	else echo "SKIPPED tests/webkit: WebKitWebDriver or Xvfb not found (apt-get install webkit2gtk-driver xvfb pulseaudio)"; fi

# The session-mode engine's pure parts, on node's built-in runner (no npm packages).
test-js:
	@if command -v node >/dev/null; then node --test tests/js/; \
	elif [ "$$KAP_REQUIRE_NODE" = 1 ]; then echo "node is required for tests/js" >&2; exit 1; \
	else echo "SKIPPED tests/js: node not found (apt-get install nodejs)"; fi

# Benchmarks and the production profile (docs/benchmarks.md).
bench-data: $(VENV)/.runtime
	$(FLASK) db upgrade
	$(BIN)/python -m bench.datagen

PRODUCTION_SETTINGS := KAP_DATABASE_URL KAP_RATELIMIT_STORAGE_URI KAP_SECRET_KEY KAP_AUDIT_KEY KAP_DATA_KEYS
serve: $(VENV)/.runtime
	@for name in $(PRODUCTION_SETTINGS); do [ -n "$${!name}" ] || { \
		echo "make serve is the production profile: set $$name (see docs/benchmarks.md)." >&2; exit 1; }; done
	KAP_ENV=production $(FLASK) db upgrade
	@echo "Background jobs (reminders) run in separate processes on Redis or PostgreSQL:"
	@echo "  KAP_ENV=production KAP_JOBS_URL=redis://... $(FLASK) jobs worker --workers 4"
	@echo "Serving the production profile on $(HOST):$(PORT) with $${KAP_WORKERS:-$$((2 * $$(nproc)))} workers"
	KAP_ENV=production exec $(BIN)/gunicorn --workers $${KAP_WORKERS:-$$((2 * $$(nproc)))} \
		--bind $(HOST):$(PORT) --timeout 30 wsgi:app

bench: $(VENV)/.dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache node_modules
