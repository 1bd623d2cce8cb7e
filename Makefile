# The two commands of the README: `make demo` and `make test`.
# Everything is installed into .venv by these targets; nothing is needed by hand but python3.

AIRFLOW_VERSION ?= 3.3.2
# The oldest Airflow this provider supports; `make test-floor` runs the suite on it in its own venv.
AIRFLOW_FLOOR ?= 2.10.5
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-airflow-$(AIRFLOW_VERSION)
PYTEST_ARGS ?=

.PHONY: venv test test-floor lint demo bench mutation clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python \
		"apache-airflow==$(AIRFLOW_VERSION)" -e ".[emulator,test]"
	rm -f $(VENV)/.installed-airflow-*
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-floor:
	$(MAKE) test VENV=.venv-floor AIRFLOW_VERSION=$(AIRFLOW_FLOOR)

# Benchmarks print figures; they are not tests. providers-http is installed here only, for comparison.
bench: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python apache-airflow-providers-http
	$(BIN)/python benchmarks/import_cost.py --compare airflow.providers.http.operators.http
	$(BIN)/python benchmarks/trigger_scale.py
	$(BIN)/python benchmarks/fault_campaign.py --runs 1000 --airflow-runs 200

# Mutation testing of the delivery-decision code (not part of `make test`; about an hour on 2 cores).
# It tests copies of HEAD, so commit first. MUTATION_ARGS="--module ledger --jobs 1" narrows it.
MUTATION_ARGS ?=
mutation: $(STAMP)
	$(BIN)/python benchmarks/mutation_run.py $(MUTATION_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check airflow_provider_infakt tests benchmarks example_dags demo
	$(BIN)/ruff format --check airflow_provider_infakt tests benchmarks example_dags demo
	$(BIN)/mypy

demo: $(STAMP)
	$(BIN)/python demo/run_demo.py

clean:
	rm -rf $(VENV) .venv-floor .pytest_cache .mypy_cache .ruff_cache
