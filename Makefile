# The two commands: `make run` (the demo board) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# pytest workers (one a core here); PYTEST_WORKERS=0 runs the tests in this process, one by one.
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck pytest install bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/dispatch demo

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy domain routing realtime storage web

pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=25

test: lint typecheck pytest

bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/routing.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
