# The two commands of the README. Both set everything up on a fresh machine:
# a virtualenv in .venv and the project installed in it (again only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Inside the venv, so deleting .venv also forgets that it was installed. `make run` installs
# only what the bot needs; `make test` (and `make setup`) add the development tools.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: test run setup

setup: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -q -e .
	touch $@

# The development install holds the bot's own dependencies too.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -q -e ".[dev]"
	touch $@ $(STAMP)

test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot handlers scheduler db
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# With TELEGRAM_TOKEN or ZALO_TOKEN (environment or .env, read as the bot reads them) the real
# bot on the configured database: the schema created or upgraded, the commune's own plan
# loaded when PLAN_FILE is set (the bot says how to load one when there is none), never the
# bundled sample; without either the console demo in .demo/, which needs nothing at all.
HAS_TOKEN := $(BIN)/python -c "import sys; from bot.settings import Settings; \
	s = Settings.from_env(); sys.exit(0 if s.telegram_token or s.zalo_token else 1)"

run: $(STAMP)
	@if $(HAS_TOKEN) 2>/dev/null; then \
		set -e; \
		$(BIN)/python -m bot db upgrade; \
		$(BIN)/python -m bot run; \
	else \
		$(BIN)/python -m bot demo --tour; \
	fi
