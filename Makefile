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

.PHONY: install run test schema bench lint clean

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

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

schema: install
	$(BIN)/eiso graphql schema --bundled > graphql/schema.graphql

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check core tenants graphql infra plugins tests bench

clean:
	rm -rf $(VENV) var build dist *.egg-info
