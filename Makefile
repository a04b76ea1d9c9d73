# IPTV audience pipeline: the two commands a user needs are `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
STACK := $(PY) scripts/stack.py

.PHONY: bootstrap up down status logs demo report test test-unit lint fmt bench clean-state

# System prerequisites (Debian packages) and the project's virtualenv. Idempotent and quiet when done.
bootstrap: .venv/.installed
	@bash scripts/bootstrap_system.sh

.venv/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

up: bootstrap
	$(STACK) up

down:
	@test -x $(PY) && $(STACK) down || true

status:
	$(STACK) status

logs:
	$(STACK) logs

demo: bootstrap
	$(PY) scripts/demo.py

# The insight report of the warehouse (make demo first): reports/report.html with its figures (git-ignored).
REPORT_DIR ?= reports
report: bootstrap
	$(PY) -m analytics report --out $(REPORT_DIR)

# Unit tests, then integration tests against the real engines. The test session starts the services
# it needs and stops the ones it started.
test: bootstrap
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: bootstrap
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

# Python (ruff) and SQL (sqlfluff, configured in .sqlfluff, hive/.sqlfluff, greenplum/.sqlfluff; run from the top).
lint: bootstrap
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m sqlfluff lint hive greenplum

fmt: bootstrap
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean-state: down
	rm -rf .stack
