# The README's two commands: `make run` (set up, triage the samples, ingest the sample archive, serve the
# moderators' web app on 127.0.0.1 with a demo login) and `make test` (set up, lint, type-check, test).
# Both create .venv and install what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DB := sqlite:///var/demo.sqlite3
WEB_HOST ?= 127.0.0.1
WEB_PORT ?= 8080

.PHONY: run test lint typecheck unit system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# The model is trained by the first command that needs it (and again whenever it is stale).
run: $(STAMP)
	$(BIN)/triagebot triage --jsonl samples/questions.jsonl --table
	$(BIN)/triagebot --db $(DEMO_DB) ingest samples/archive; test $$? -le 3
	@echo "demo moderator login for http://$(WEB_HOST):$(WEB_PORT)/ :"
	@$(BIN)/triagebot --db $(DEMO_DB) user add demo --role moderator --generate --replace
	exec $(BIN)/triagebot --db $(DEMO_DB) web --host $(WEB_HOST) --port $(WEB_PORT)

# What the tests need from Debian (a private PostgreSQL they start themselves; chromium and Japanese
# fonts for the browser tests); installed here when missing and when run as root.
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing PostgreSQL for the store tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if [ "$$(id -u)" = 0 ] && { [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi ipagothic; }; then \
	  echo "installing chromium and Japanese fonts for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; \
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
	$(BIN)/python benchmarks/bench_web.py

clean:
	rm -rf $(VENV) var models/classifier.*
