# Elium Portal — the two commands that matter are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint format bench bench-quick install lock clean-db

run: $(STAMP) ## serve the app + a worker on 127.0.0.1:$${PORT:-8000}
	@$(BIN)/python manage.py serve

test: $(STAMP) ## ruff, the import contracts, then the whole pytest suite on PostgreSQL, browser tests included
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## the tests not marked slow (no browser, live server or subprocess), in about 30 s
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## benchmarks under bench/ (not part of make test); the SCIM one side by side with django-scim2 (needs wrk)
	$(BIN)/python bench/run.py

bench-quick: $(STAMP) ## the SCIM API side by side with django-scim2 in about 2 minutes (needs wrk)
	BENCH_QUICK=1 $(BIN)/python -m bench.bench_scim_api

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Elium Portal needs Python >= 3.11; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

lock: ## re-resolve requirements.lock from the ranges in pyproject.toml
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check ".[dev]"
	.venv-lock/bin/pip freeze --exclude elium-portal > requirements.lock
	rm -rf .venv-lock

clean-db: ## delete the embedded development database (var/pgdata)
	rm -rf var/pgdata
