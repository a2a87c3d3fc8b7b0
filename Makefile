# The README's two commands: `make run` (set up, train, triage the samples, ingest the sample archive)
# and `make test` (set up, lint, type-check, test). Both create .venv and install what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DB := sqlite:///var/demo.sqlite3

.PHONY: run test lint typecheck unit system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/triagebot train
	$(BIN)/triagebot triage --jsonl samples/questions.jsonl --table
	$(BIN)/triagebot --db $(DEMO_DB) ingest samples/archive; test $$? -le 3
	$(BIN)/triagebot --db $(DEMO_DB) queue

# Services the tests start themselves (a private PostgreSQL); installed here when missing.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL for the store tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check triagebot tests benchmarks samples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_triage.py
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) var models/classifier.*
