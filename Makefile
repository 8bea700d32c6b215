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

# The scale figures of docs/benchmarks.md: the list pages at 1,000 to 100,000 mailboxes, a bulk
# change and a CSV import of 10,000 accounts to Online with the Dovecot adapter. Provisioning
# and mailbox imports: python -m scripts.bench --provisioning / --imports (root, mail stack).
bench: setup
	$(BIN)/python -m scripts.bench --lists --sizes 1000,10000,100000 --bulk --import-csv --backend dovecot

# Pushes per second with one mail host and with two (root: starts two mail stacks).
bench-hosts: setup
	$(BIN)/python -m scripts.bench_hosts

mailstack: setup
	./scripts/mailstack.sh

mutate: setup
	./scripts/mutate.sh
