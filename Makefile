# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# Exact versions with hashes, generated from pyproject.toml's lower bounds by `make lock`.
LOCK    := requirements.txt
DEVLOCK := requirements-dev.txt
# One resolution for every platform and Python >= 3.11; the dev lock is resolved first and
# the runtime lock is cut from it, so both pin the same versions.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' pyproject.toml --group build

.PHONY: run test lint fmt i18n openapi migrations seed clean ci lock upgrade lock-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Install from a lock only: every file checked against its hash, the build backend from the
# lock too (no build isolation). A changed lock (or pyproject.toml) reinstalls.
define install-lock
	$(BIN)/pip install -q --require-hashes -r $(1)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
endef

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(call install-lock,$(LOCK))
	touch $@

$(DEVSTAMP): $(DEVLOCK) pyproject.toml | $(BIN)/python
	$(call install-lock,$(DEVLOCK))
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

## lock: re-resolve the locks after editing pyproject.toml (every other pin is kept)
lock: $(DEVSTAMP)
	$(UV_COMPILE) --extra dev -o $(DEVLOCK)
	$(UV_COMPILE) -c $(DEVLOCK) -o $(LOCK)

## upgrade: every pin to the newest release pyproject.toml allows (PACKAGE=name: only that one)
upgrade: $(DEVSTAMP)
	$(UV_COMPILE) --extra dev $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade) -o $(DEVLOCK)
	$(UV_COMPILE) -c $(DEVLOCK) -o $(LOCK)

## lock-check: fail when pyproject.toml was edited without `make lock` (CI)
lock-check: $(DEVSTAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && cp $(DEVLOCK) $(LOCK) $$tmp/ && \
	$(UV_COMPILE) --extra dev -o $$tmp/$(DEVLOCK) && \
	$(UV_COMPILE) -c $$tmp/$(DEVLOCK) -o $$tmp/$(LOCK) && \
	for f in $(DEVLOCK) $(LOCK); do \
	  grep -v '^ *#' $$f > $$tmp/want; grep -v '^ *#' $$tmp/$$f > $$tmp/got; \
	  cmp -s $$tmp/want $$tmp/got || \
	  { echo "$$f does not match pyproject.toml: run make lock" >&2; exit 1; }; \
	done

## ci: what CI runs (both passes)
ci:
	.ci/run

clean:
	rm -rf var/ .pytest_cache .ruff_cache
