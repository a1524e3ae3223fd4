# The README's two commands: `make run` (set up + demo) and `make test` (lint + the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --disable-pip-version-check -q -c requirements.lock
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/civicstack

.PHONY: run test lint bench install install-test browser messages openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the dependency list changes.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/civicstack migrate --no-input -v0
	$(BIN)/civicstack demo-data --scale small --if-empty
	@echo
	@echo "Civic Stack is serving at http://$(HOST):$(PORT)/  (staff console: /staff/, API docs: /api/docs)"
	$(BIN)/civicstack runserver $(HOST):$(PORT) --noreload

# Debian's chromium for the browser tests (never a downloaded browser), and CJK fonts so pages
# render Chinese text as a citizen sees it.
browser:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -q "Noto Sans CJK" || { \
	  echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# One pytest process a core (pytest-xdist); a file's tests stay together on one worker, so a file's
# module-level state is shared as when run alone. PYTEST_WORKERS=0 runs serially.
# Browser tests run in processes of their own: they drive a live demo server on SQLite whatever the
# database, so they run once, and Playwright's event loop never shares a process with the database
# tests that fork workers to race on PostgreSQL.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest --numprocesses=$(PYTEST_WORKERS) --dist=loadfile

test: install-test browser lint
	@echo "== pytest on SQLite =="
	env -u DATABASE_URL $(PYTEST) -m "not browser"
	@url="$${DATABASE_URL:-$(PG_URL)}"; \
	if $(BIN)/python -c "import sys, psycopg; psycopg.connect(sys.argv[1].replace('postgres://', 'postgresql://', 1), connect_timeout=3, dbname='postgres').close()" "$$url" 2>/dev/null; then \
	  echo "== pytest on PostgreSQL ($$url) =="; \
	  DATABASE_URL="$$url" $(PYTEST) -m "not browser"; \
	else \
	  echo "== PostgreSQL does not answer at $$url: PostgreSQL run skipped =="; \
	fi
	@echo "== browser tests: Debian's chromium against a live demo server =="
	env -u DATABASE_URL $(PYTEST) -m browser

bench: install-test
	$(BIN)/python bench/run.py
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/ledger.py; \
	  else echo "PostgreSQL does not answer: bench/ledger.py skipped"; fi
	@if [ -f bench/fines_lookup.py ]; then $(BIN)/python bench/fines_lookup.py; fi
	$(BIN)/python bench/card_lookup.py --no-progress
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/card_taps.py; \
	  else echo "PostgreSQL does not answer: bench/card_taps.py skipped"; fi
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/eservices_search_inbox.py --database-url $(PG_URL)_bench_eservices; \
	  else echo "PostgreSQL does not answer: bench/eservices_search_inbox.py skipped"; fi
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/opendata_search.py --database-url $(PG_URL)_bench_opendata; \
	  else echo "PostgreSQL does not answer: bench/opendata_search.py skipped"; fi
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/welfare.py --database-url $(PG_URL)_bench_welfare; \
	  else $(BIN)/python bench/welfare.py; fi
	$(BIN)/python bench/chatbot.py
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/iot.py --database-url $(PG_URL)_bench_iot; \
	  else echo "PostgreSQL does not answer: bench/iot.py skipped"; fi
	@if pg_isready -q -h 127.0.0.1 2>/dev/null; then $(BIN)/python bench/analytics.py; \
	  else echo "PostgreSQL does not answer: bench/analytics.py skipped"; fi

# Refresh the committed OpenAPI snapshot (tests/test_openapi_snapshot.py compares against it).
openapi: install
	$(BIN)/civicstack export_openapi docs/api/openapi.json

messages: install-test
	cd src/civicstack && ../../$(BIN)/civicstack makemessages -l zh_Hant --no-obsolete --ignore "*/migrations/*" \
	  && ../../$(BIN)/civicstack compilemessages -l zh_Hant

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
