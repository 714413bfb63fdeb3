# The two set-up commands of the README: `make run` and `make test`. Both work on a fresh
# machine with only Python 3.11: they create .venv and install eiso into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on both backends; two workers (pytest-xdist) halve its time on two cores.
PYTEST_WORKERS ?= 2

.PHONY: install run test schema bench lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e tests/vendor_plugin
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/eiso db upgrade
	$(BIN)/eiso demo
	$(BIN)/eiso serve --host $(HOST) --port $(PORT)

# The tests start with the linters: CI fails on a lint or type error as on a failing test.
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

schema: install
	$(BIN)/eiso graphql schema --bundled > graphql/schema.graphql

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

LINTED := core tenants graphql infra plugins tests bench
ROOMS := core tenants graphql infra plugins

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
	rm -rf $(VENV) var build dist *.egg-info
