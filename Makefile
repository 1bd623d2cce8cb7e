# The two commands of the README: `make demo` and `make test`.
# Everything is installed into .venv by these targets; nothing is needed by hand but python3.

AIRFLOW_VERSION ?= 3.3.2
# Every Airflow this provider supports (pyproject.toml's floor is the first); `make test-matrix` runs the
# suite on each, in .venv-<version> (the default AIRFLOW_VERSION reuses .venv), MATRIX_JOBS at a time.
AIRFLOW_MATRIX ?= 2.10.5 2.11.2 3.0.6 3.1.8 3.2.2 3.3.2
MATRIX_JOBS ?= 2
# pytest-xdist workers of `make test` (0: one process). The suite mostly waits (servers, sleeps,
# timeouts), so more workers than cores pays; each has its own AIRFLOW_HOME, SQLite DB and emulator port.
TEST_WORKERS ?= 3
# The oldest Airflow this provider supports; `make test-floor` runs the suite on it in its own venv.
AIRFLOW_FLOOR ?= $(firstword $(AIRFLOW_MATRIX))
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-airflow-$(AIRFLOW_VERSION)
# Pins some Airflow versions need against dependencies released after them (each file says why).
CONSTRAINTS := $(wildcard constraints/airflow-$(AIRFLOW_VERSION).txt)
PYTEST_ARGS ?=

# `make dist`: the sdist and wheel go to dist/; the wheel is tried in DIST_VENV, made afresh each time.
DIST_VENV ?= .dist-venv

.PHONY: venv test test-floor test-matrix lint demo bench mutation dist clean e2e e2e-ui ui-deps

venv: $(STAMP)

# --compile-bytecode: uv writes no .pyc by default, and where PYTHONDONTWRITEBYTECODE is set nothing
# ever does, so each process compiled Airflow anew (an Airflow import took 4.7 s of CPU instead of 2.1 s).
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python $(CONSTRAINTS:%=--constraint %) \
		"apache-airflow==$(AIRFLOW_VERSION)" -e ".[emulator,test]"
	rm -f $(VENV)/.installed-airflow-*
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-floor:
	$(MAKE) test VENV=.venv-$(AIRFLOW_FLOOR) AIRFLOW_VERSION=$(AIRFLOW_FLOOR)

# Builds each version's venv (with this Makefile's `venv`), runs `make test` on each, prints a table.
test-matrix:
	$(PYTHON) tools/test_matrix.py --jobs $(MATRIX_JOBS) --default $(AIRFLOW_VERSION) $(AIRFLOW_MATRIX)

# Benchmarks print figures; they are not tests. providers-http is installed here only, for comparison.
bench: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python apache-airflow-providers-http
	$(BIN)/python benchmarks/import_cost.py --compare airflow.providers.http.operators.http
	$(BIN)/python benchmarks/trigger_scale.py
	$(BIN)/python benchmarks/fault_campaign.py --runs 1000 --airflow-runs 200
	$(BIN)/python benchmarks/bulk_delivery.py --n 3000 --mapped-n 200

# Mutation testing of the delivery-decision code (not part of `make test`; about an hour on 2 cores).
# It tests copies of HEAD, so commit first. MUTATION_ARGS="--module ledger --jobs 1" narrows it.
MUTATION_ARGS ?=
mutation: $(STAMP)
	$(BIN)/python benchmarks/mutation_run.py $(MUTATION_ARGS)

# Builds the sdist and the wheel (python -m build) and checks them (twine check), then installs the wheel
# with its emulator extra and a stock Airflow into a fresh DIST_VENV, where tools/dist_smoke.py runs from a
# temporary directory (the checkout's sources are not importable there): the provider is listed, its
# connection type and form are known, the example DAGs deliver through the emulator. Last, without
# aiohttp (the emulator extra uninstalled), infakt-emulator must say in one line what to install.
dist: $(STAMP)
	rm -rf dist $(DIST_VENV)
	$(BIN)/uv pip install --quiet --python $(BIN)/python build twine
	$(BIN)/python -m build --installer uv --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(PYTHON) -m venv --without-pip $(DIST_VENV)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(DIST_VENV)/bin/python \
		$(CONSTRAINTS:%=--constraint %) "apache-airflow==$(AIRFLOW_VERSION)" "$$(ls dist/*.whl)[emulator]"
	$(DIST_VENV)/bin/python tools/dist_smoke.py artifacts dist
	$(DIST_VENV)/bin/python tools/dist_smoke.py installed
	$(BIN)/uv pip uninstall --quiet --python $(DIST_VENV)/bin/python aiohttp
	$(DIST_VENV)/bin/python tools/dist_smoke.py without-emulator-extra

# The browser check (e2e/ui_check.py) against the running deployment that .e2e/deployment.json describes
# (`make e2e` runs the check itself, before it stops the deployment; `make e2e-ui` is for a deployment that
# is still up, e.g. `.venv/bin/python e2e/ui_dev_setup.py --keep`, whose file is .e2e-dev/deployment.json:
# `make e2e-ui UI_DEPLOYMENT=.e2e-dev/deployment.json`). Debian's chromium and chromium-driver are installed when missing; selenium goes
# into its own small venv (4.52 needs a certifi newer than some indexes have). Screenshots: .e2e/screenshots.
UI_VENV ?= .venv-ui
SELENIUM ?= selenium==4.51.0
UI_DEPLOYMENT ?= .e2e/deployment.json
ui-deps:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium chromium-driver)
	test -x $(UI_VENV)/bin/python || $(PYTHON) -m venv $(UI_VENV)
	$(UI_VENV)/bin/python -c "import selenium" 2>/dev/null || $(UI_VENV)/bin/python -m pip install --quiet "$(SELENIUM)"

e2e-ui: ui-deps
	$(UI_VENV)/bin/python e2e/ui_check.py --deployment $(UI_DEPLOYMENT) --screenshots .e2e/screenshots

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_infakt tests benchmarks example_dags demo tools e2e
	$(BIN)/ruff format --check airflow_provider_infakt tests benchmarks example_dags demo tools e2e
	$(BIN)/mypy
	$(BIN)/mypy tools
	$(BIN)/mypy e2e

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

# `make e2e`: a distributed Airflow on this machine (CeleryExecutor with two workers, scheduler, dag-processor,
# triggerer, api-server; PostgreSQL and Redis on loopback) against the emulator, driven through the REST API by
# e2e/run.py; everything it starts lives under .e2e/ and is stopped at the end (docs/e2e.md). Its own venv,
# E2E_VENV, pins Airflow as `venv` does; Debian's postgresql and redis-server are installed when missing.
# E2E_UI=0 skips the browser check; E2E_ARGS goes to the driver (`--help`).
E2E_AIRFLOW_VERSION ?= 3.3.2
E2E_VENV ?= .venv-e2e
E2E_STAMP := $(E2E_VENV)/.installed-e2e-airflow-$(E2E_AIRFLOW_VERSION)
E2E_CONSTRAINTS := $(wildcard constraints/airflow-$(E2E_AIRFLOW_VERSION).txt)
E2E_ARGS ?=

$(E2E_STAMP): pyproject.toml $(E2E_CONSTRAINTS)
	test -x $(E2E_VENV)/bin/python || $(PYTHON) -m venv $(E2E_VENV)
	$(E2E_VENV)/bin/python -m pip install --quiet --upgrade uv
	$(E2E_VENV)/bin/uv pip install --quiet --compile-bytecode --python $(E2E_VENV)/bin/python \
		$(E2E_CONSTRAINTS:%=--constraint %) "apache-airflow==$(E2E_AIRFLOW_VERSION)" \
		apache-airflow-providers-celery psycopg2-binary asyncpg -e ".[emulator]"
	rm -f $(E2E_VENV)/.installed-e2e-airflow-*
	touch $@

e2e: $(E2E_STAMP)
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null; then \
		echo "Installing Debian's postgresql and redis-server"; \
		apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 postgresql redis-server; \
	fi
	@if [ "$$E2E_UI" != "0" ]; then $(MAKE) --no-print-directory ui-deps; fi
	E2E_UI_PYTHON=$(abspath $(UI_VENV))/bin/python $(E2E_VENV)/bin/python e2e/run.py $(E2E_ARGS)

clean:
	rm -rf $(VENV) .venv-floor $(AIRFLOW_MATRIX:%=.venv-%) .matrix .pytest_cache .mypy_cache .ruff_cache \
		$(DIST_VENV) dist $(E2E_VENV) $(UI_VENV) .e2e .e2e-dev
