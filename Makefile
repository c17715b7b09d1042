# Single entry point. `make demo` builds everything on the demo data; `make test` runs
# the whole test suite. Both create the Python environment first if it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DBT := $(BIN)/dbt
STAMP := $(VENV)/.installed
PROFILES_DIR := .dbt
DEMO_DB ?= demo/activation.duckdb

export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help env demo test test-duckdb test-postgres test-spark postgres test-fast lint docs clean

help:
	@echo "make demo   - create the environment, generate demo data, build all models into $(DEMO_DB)"
	@echo "make test   - create the environment, lint SQL, run the whole test suite"
	@echo "make lint   - sqlfluff lint of all models, ruff for the Python"
	@echo "make test-spark - the test suite on Spark (local pyspark, needs Java 17)"
	@echo "make docs   - dbt docs generate for the demo build"
	@echo "make postgres      - install (apt-get, if missing) and start a local PostgreSQL for the package"
	@echo "make test-postgres - run the whole test suite on PostgreSQL (start it with make postgres)"

env: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(PROFILES_DIR)/profiles.yml: profiles.example.yml
	mkdir -p $(PROFILES_DIR)
	cp profiles.example.yml $(PROFILES_DIR)/profiles.yml

demo: env $(PROFILES_DIR)/profiles.yml
	$(PY) scripts/build_demo.py --duckdb $(DEMO_DB) --profiles-dir $(PROFILES_DIR)

lint: env $(PROFILES_DIR)/profiles.yml
	ACTIVATION_DUCKDB_PATH=$(PROFILES_DIR)/lint.duckdb $(BIN)/sqlfluff lint models analyses --processes 2
	$(BIN)/ruff check scripts integration_tests

test: lint
	cd integration_tests && ../$(PY) -m pytest -p no:cacheprovider

# A local server outside the repository (scripts/postgres.sh says where and how to connect).
postgres:
	bash scripts/postgres.sh

# The same suite on PostgreSQL; ACTIVATION_PG_* variables point it at another server.
# Stops with one line when the server cannot be reached.
test-postgres: env
	cd integration_tests && ACTIVATION_ENGINE=postgres ../$(PY) -m pytest -p no:cacheprovider

# Spark runs in this process (pyspark local mode); its warehouse, metastore and logs go
# under ACTIVATION_SPARK_DIR (a temporary folder per test session). Spark builds are slow
# on 2 cores, so the randomised tests run fewer examples unless you set them.
SPARK_HYPOTHESIS_EXAMPLES ?= 5
SPARK_HYPOTHESIS_BI_EXAMPLES ?= 3

test-spark: env
	$(eval JAVA_PROBLEM := $(shell $(PY) integration_tests/tests/engine_spark.py))
	$(if $(JAVA_PROBLEM),$(error $(JAVA_PROBLEM)))
	cd integration_tests && ACTIVATION_ENGINE=spark \
		ACTIVATION_HYPOTHESIS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_EXAMPLES:-$(SPARK_HYPOTHESIS_EXAMPLES)} \
		ACTIVATION_HYPOTHESIS_BI_EXAMPLES=$${ACTIVATION_HYPOTHESIS_BI_EXAMPLES:-$(SPARK_HYPOTHESIS_BI_EXAMPLES)} \
		../$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

docs: env $(PROFILES_DIR)/profiles.yml
	ACTIVATION_DUCKDB_PATH=$(DEMO_DB) $(DBT) docs generate --profiles-dir $(PROFILES_DIR)

clean:
	rm -rf target dbt_packages logs integration_tests/target integration_tests/dbt_packages \
		integration_tests/logs $(PROFILES_DIR) demo
