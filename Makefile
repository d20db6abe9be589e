# The two commands of the README. Both set everything up on a fresh machine:
# a virtualenv in .venv and the project installed in it (again only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Inside the venv, so deleting .venv also forgets that it was installed.
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: test run setup

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[dev]"
	touch $@

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers scheduler db
	$(BIN)/pytest -q

run: $(STAMP)
	$(BIN)/python -m bot db upgrade
	$(BIN)/python -m bot plan load examples/ba-bich-2024.yaml
	$(BIN)/python -m bot plan show
	$(BIN)/python -m bot run
