PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test lint fmt messages bench bench-hosts mailstack mutate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

messages: setup
	@if command -v msgfmt >/dev/null && ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/python manage.py compilemessages -v 0; fi

run: setup messages
	$(BIN)/python manage.py migrate --noinput
	./scripts/run-dev.sh

test: setup messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(BIN)/python -m scripts.bench

# Pushes per second with one mail host and with two (root: starts two mail stacks).
bench-hosts: setup
	$(BIN)/python -m scripts.bench_hosts

mailstack: setup
	./scripts/mailstack.sh

mutate: setup
	./scripts/mutate.sh
