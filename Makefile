# attt: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ATTT := $(BIN)/attt
STAMP := $(VENV)/.installed

.PHONY: install run test test-sqlite test-postgres lint clean messages system-deps

install: $(STAMP) node_modules/.installed
	$(ATTT) compiletranslations -v 0 >/dev/null
	$(ATTT) migrate --no-input -v 0

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

run: install
	$(ATTT) demo
	@echo ""
	@echo "  attt is starting on http://127.0.0.1:8000"
	@echo "  Log in as 'admin' (national administrator), 'hn.orgadmin' (Ha Noi) or 'tq.orgadmin' (Tuyen Quang)."
	@echo "  Password for every demo account: attt-demo-2026"
	@echo ""
	$(ATTT) serve --host 127.0.0.1 --port 8000

test: system-deps install lint test-sqlite test-postgres

system-deps:
	scripts/system-deps.sh

lint:
	$(BIN)/ruff check src tests bench

test-sqlite:
	$(BIN)/pytest -q -n 2 -p no:cacheprovider

# Runs the suite (without the browser tests) against a throw-away PostgreSQL server on loopback.
test-postgres:
	scripts/with-postgres.sh $(BIN)/pytest -q -n 2 -p no:cacheprovider -m "not browser"

# Refresh every module's Vietnamese catalogue after changing UI strings, then translate the new entries.
messages:
	for app in src/attt/*/locale; do (cd $$(dirname $$app) && $(CURDIR)/$(ATTT) makemessages -l vi --no-obsolete --add-location file); done
	$(ATTT) compiletranslations

clean:
	rm -rf $(VENV) node_modules var
