# The two set-up commands of the README: `make run` and `make test`. Both work on a fresh
# machine with only Python 3.11: they create .venv and install eiso into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on both backends; two workers (pytest-xdist) halve its time on two cores.
# `worksteal`: each worker starts with half of the tests in order (fixtures shared by
# neighbours set up once) and a worker that runs out takes half of what the other still has,
# so neither waits at the end behind a queue of slow tests (tests/conftest.py runs the slow
# ones first within each backend).
PYTEST_WORKERS ?= 2
PYTEST_DIST ?= worksteal

.PHONY: install run test schema bench lint typecheck clean no-test-plugin clients graphiql-assets messages screenshots

# What `make run` serves: eiso and its bundled modules, as production has them.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The tests also need a vendor's module installed as its own distribution; `make run` takes
# it out again, so the app and `eiso graphql schema` never show its fields.
TEST_STAMP := $(VENV)/.test-plugin
# tests/vendor_walkthrough/ is the module a vendor writes by following docs/plugins.md alone.
TEST_PLUGINS := tests/vendor_plugin tests/vendor_walkthrough
$(TEST_STAMP): $(STAMP) $(addsuffix /pyproject.toml,$(TEST_PLUGINS))
	$(BIN)/uv pip install --quiet --python $(BIN)/python $(addprefix -e ,$(TEST_PLUGINS))
	touch $(TEST_STAMP)

no-test-plugin: install
	@if [ -f $(TEST_STAMP) ]; then \
	  $(BIN)/uv pip uninstall --quiet --python $(BIN)/python eiso-vendor-demo eiso-vendor-queue-tickets \
	  && rm -f $(TEST_STAMP); \
	fi

# The frontend tools of tests/clients/ (pinned in its package-lock.json). Without npm the
# client tests skip outside CI and fail in CI (.ci/run installs Node, npm and Chromium).
CLIENTS := tests/clients
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed
$(CLIENTS_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(CLIENTS_STAMP)

clients:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(CLIENTS_STAMP); \
	else echo "npm not found: the tests/clients/ Node tests will skip (CI installs it)"; fi

run: no-test-plugin
	$(BIN)/eiso db upgrade
	$(BIN)/eiso demo
	@echo "Cổng dịch vụ công / citizen portal: http://$(HOST):$(PORT)/"
	@echo "Bàn làm việc / officer's desk:     http://$(HOST):$(PORT)/ban-lam-viec"
	@echo "  e.g. chuyenvien.halong (officer), password eiso-demo-2026 (every demo account)"
	$(BIN)/eiso serve --host $(HOST) --port $(PORT)

# The tests start with the linters: CI fails on a lint or type error as on a failing test.
test: lint $(TEST_STAMP) clients
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST) $(PYTEST_ARGS)

# The pictures of docs/web.md: the browser suite (every tests/web/test_browser*.py), saving a
# PNG of each page type it names at desktop and 360 px width into docs/web/ (EISO_SCREENSHOTS,
# tests/web/test_browser.py `shoot`).
screenshots: $(TEST_STAMP) clients
	mkdir -p docs/web
	EISO_SCREENSHOTS=docs/web $(BIN)/python -m pytest -n 0 -q tests/web/test_browser*.py

# GraphiQL's files, served from graphql/server/graphiql/vendor/ (committed, so a checkout
# needs no npm): rebuilt from the versions pinned in graphql/server/graphiql/package-lock.json.
GRAPHIQL := graphql/server/graphiql
graphiql-assets:
	sh $(GRAPHIQL)/build.sh

# The pages' texts (web/): extract them from the templates and code, merge them into the
# Vietnamese catalogue (translate the new entries there), compile the .mo (both committed).
messages: install
	$(BIN)/pybabel extract -F web/babel.cfg -o $(VENV)/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i $(VENV)/messages.pot -d web/catalogues -D messages -w 100
	$(BIN)/pybabel compile -d web/catalogues -D messages

schema: install
	$(BIN)/eiso graphql schema --bundled > graphql/schema.graphql

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

LINTED := core tenants graphql infra plugins web tests bench
ROOMS := core tenants graphql infra plugins web

lint: install typecheck
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check --quiet $(LINTED)

# mypy cannot follow the editable install's package-dir mapping: it reads the rooms through
# links under .venv/typecheck/eiso/ (the import names), configured in pyproject.toml.
typecheck: install
	@mkdir -p $(VENV)/typecheck/eiso
	@for room in $(ROOMS); do ln -sfn $(CURDIR)/$$room $(VENV)/typecheck/eiso/$$room; done
	cd $(VENV)/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml \
	  --python-executable $(CURDIR)/$(BIN)/python $(foreach room,$(ROOMS),-p eiso.$(room))

clean:
	rm -rf $(VENV) var build dist *.egg-info $(CLIENTS)/node_modules
