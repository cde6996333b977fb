# leadbot: `make run` starts the bot, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHON310 ?= $(shell ls -d $(PYENV_ROOT)/versions/3.10.* 2>/dev/null | sort -V | tail -n 1)/bin/python
RASA_VENV := .venv-rasa
APP_VENV := .venv
PIP_FLAGS := --disable-pip-version-check --quiet

.PHONY: help install run test lint train system-packages clean

help:
	@echo "make run    install what is missing, train if needed, start the bot (Ctrl-C stops it)"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make bench  measure understanding, speed, load and footprint into docs/benchmarks.md"

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa.lock
	@test -x "$(PYTHON310)" || { echo "Python 3.10 not found under $(PYENV_ROOT)/versions (Rasa 3.6 needs it)"; exit 1; }
	rm -rf $(RASA_VENV)
	$(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install $(PIP_FLAGS) pip==24.2
	$(RASA_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/rasa.txt -c requirements/rasa.lock
	touch $@

$(APP_VENV)/.installed: requirements/app.txt requirements/app.lock pyproject.toml
	@test -x "$(PYTHON310)" || { echo "Python 3.10 not found under $(PYENV_ROOT)/versions"; exit 1; }
	rm -rf $(APP_VENV)
	$(PYTHON310) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install $(PIP_FLAGS) pip==24.2
	$(APP_VENV)/bin/pip install $(PIP_FLAGS) -r requirements/app.txt -c requirements/app.lock
	$(APP_VENV)/bin/pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
	touch $@

install: $(RASA_VENV)/.installed $(APP_VENV)/.installed

# PostgreSQL binaries for the tests' throwaway servers (the tests run on SQLite and PostgreSQL).
system-packages:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing PostgreSQL for the tests..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

train: install
	$(APP_VENV)/bin/leadbot train

run: install
	$(APP_VENV)/bin/leadbot run

test: install system-packages train
	$(APP_VENV)/bin/python -m pytest

lint: install
	$(APP_VENV)/bin/ruff check .
	$(APP_VENV)/bin/ruff format --check .
	$(APP_VENV)/bin/mypy

clean:
	rm -rf $(RASA_VENV) $(APP_VENV) models .rasa

# The benchmark: every section, then docs/benchmarks.md, .json and the plot (up to ~20 minutes).
# Redis backs the two-worker Rasa server of the load section.
.PHONY: bench
bench: install system-packages
	@command -v redis-server >/dev/null || { \
	  echo "Installing Redis for the benchmark..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	$(APP_VENV)/bin/python -m benchmarks.bench
