# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lint fmt i18n openapi migrations seed clean ci

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP)

## run: migrate, load the demo city once, and serve API (:8000) + sandbox (:8001) + worker
run: $(STAMP)
	$(BIN)/superapp migrate
	$(BIN)/superapp seed-demo --if-empty
	$(BIN)/superapp serve

## test: the whole suite (SUPERAPP_TEST_DATABASE_URL / SUPERAPP_TEST_REDIS_URL pick real servers)
test: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(DEVSTAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## i18n: extract msgids, update every catalog, compile .mo files
i18n: $(DEVSTAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg -k N_ -k _ -k gettext -o locales/messages.pot --no-location --sort-output app_api miniprograms accessibility notifications integrations
	for l in zh_Hans zh_Hant en; do \
	  $(BIN)/pybabel update -i locales/messages.pot -d locales -l $$l --no-fuzzy-matching --no-wrap 2>/dev/null || \
	  $(BIN)/pybabel init -i locales/messages.pot -d locales -l $$l; done
	$(BIN)/pybabel compile -d locales --statistics

openapi: $(STAMP)
	$(BIN)/superapp openapi export

## migrations: generate a migration after changing models
migrations: $(STAMP)
	rm -f var/makemigrations.sqlite3
	$(BIN)/tortoise -c app_api.dbconfig.TORTOISE_ORM makemigrations

clean:
	rm -rf var/ .pytest_cache .ruff_cache
