# Single entry point. `make demo` builds everything on the demo data; `make test` runs
# the whole test suite. Both create the Python environment first if it is missing.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
DBT := $(BIN)/dbt
STAMP := $(VENV)/.installed
DATABRICKS_VENV := .venv-databricks
DATABRICKS_STAMP := $(DATABRICKS_VENV)/.installed
PROFILES_DIR := .dbt
DEMO_DB ?= demo/activation.duckdb

export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help env env-databricks check-warehouses snowflake-emulator test-snowflake demo dashboard metrics chromium test-bi test test-engines test-duckdb test-duckdb-full test-other-engines test-postgres test-spark test-spark-full postgres test-fast lint docs clean \
	bench bench-quick

help:
	@echo "make demo   - create the environment, generate demo data, build all models into $(DEMO_DB)"
	@echo "make test   - create the environment, lint, then the suite on DuckDB, PostgreSQL and Spark"
	@echo "make lint   - sqlfluff lint of all models, ruff for the Python"
	@echo "make test-duckdb   - the whole suite on DuckDB (fewer randomised examples than the test files' defaults)"
	@echo "make test-duckdb-full - the whole suite on DuckDB with the test files' default example counts"
	@echo "make postgres      - install (apt-get, if missing) and start a local PostgreSQL for the package"
	@echo "make test-postgres - start that server, run the whole suite on PostgreSQL"
	@echo "make test-spark    - the Spark checks of make test (local pyspark, needs Java 17)"
	@echo "make test-spark-full - the whole suite on Spark (hours)"
	@echo "make snowflake-emulator - start the Snowflake emulator (fakesnow, own virtualenv) on 127.0.0.1:8765"
	@echo "make test-snowflake - start the emulator, build and check the package on it (Snowflake subset)"
	@echo "make dashboard - the Streamlit dashboard on the demo build (builds the demo first if missing)"
	@echo "make metrics   - an example MetricFlow query (mf query) on the demo build"
	@echo "make test-bi   - the semantic layer against the marts and the dashboard in headless Chromium"
	@echo "make chromium  - install Debian's chromium (apt-get) if missing, for make test-bi"
	@echo "make check-warehouses - compile for Snowflake, BigQuery, Redshift and Databricks offline, check the SQL with sqlglot"
	@echo "make docs   - dbt docs generate for the demo build"
	@echo "make bench  - benchmark at 1M, 10M and 100M events (hours; writes bench/results.md)"
	@echo "make bench-quick - the benchmark at 1M events with output checks (a few minutes)"

env: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# dbt-databricks pins its own dbt-core: a virtualenv of its own for the compile check.
env-databricks: $(DATABRICKS_STAMP)

$(DATABRICKS_STAMP): requirements-databricks.txt
	test -x $(DATABRICKS_VENV)/bin/python || $(PYTHON) -m venv $(DATABRICKS_VENV)
	$(DATABRICKS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DATABRICKS_VENV)/bin/python -m pip install --quiet -r requirements-databricks.txt
	touch $(DATABRICKS_STAMP)

$(PROFILES_DIR)/profiles.yml: profiles.example.yml
	mkdir -p $(PROFILES_DIR)
	cp profiles.example.yml $(PROFILES_DIR)/profiles.yml

demo: env $(PROFILES_DIR)/profiles.yml
	$(PY) scripts/build_demo.py --duckdb $(DEMO_DB) --profiles-dir $(PROFILES_DIR)

lint: env $(PROFILES_DIR)/profiles.yml
	ACTIVATION_DUCKDB_PATH=$(PROFILES_DIR)/lint.duckdb $(BIN)/sqlfluff lint models analyses --processes 2
	$(BIN)/ruff check scripts integration_tests bench dashboard

# Warehouses with no server here: `dbt parse` and `dbt compile` offline (as a first build
# on an empty warehouse), every compiled file parsed by sqlglot in the warehouse's
# dialect, no other engine's dispatched macro (scripts/check_warehouse_sql.py). The
# semantic layer is on so its time spine compiles too.
# A second compile reads a tracker layout: the properties built from columns (the
# JSON object builder of each warehouse; Redshift has none, so it reads Mixpanel), two
# events tables read together and the users derived from the events (traits from an
# identifies table).
WAREHOUSE_VARS := {activation_semantic_layer_enabled: true, activation_accounts_enabled: true}
LAYOUT_USERS_VARS := activation_users_from: events, activation_signup_event: signed_up, activation_plan_tier_trait: plan, \
	activation_event_relations: [raw.events_web, {schema: raw, identifier: events_app, name: app}], \
	activation_user_traits_relation: raw.identifies, activation_start_date: 2025-01-01
LAYOUT_VARS := {activation_events_layout: segment, activation_event_property_columns: [plan, step], $(LAYOUT_USERS_VARS)}
REDSHIFT_LAYOUT_VARS := {activation_events_layout: mixpanel, $(LAYOUT_USERS_VARS)}
check-warehouses: env env-databricks
	for adapter in snowflake bigquery redshift; do \
		$(PY) scripts/check_warehouse_sql.py --adapter $$adapter --vars '$(WAREHOUSE_VARS)' || exit 1; \
	done
	$(DATABRICKS_VENV)/bin/python scripts/check_warehouse_sql.py --adapter databricks --vars '$(WAREHOUSE_VARS)'
	for adapter in snowflake bigquery; do \
		$(PY) scripts/check_warehouse_sql.py --adapter $$adapter --vars '$(LAYOUT_VARS)' || exit 1; \
	done
	$(PY) scripts/check_warehouse_sql.py --adapter redshift --vars '$(REDSHIFT_LAYOUT_VARS)'
	$(DATABRICKS_VENV)/bin/python scripts/check_warehouse_sql.py --adapter databricks --vars '$(LAYOUT_VARS)'

# The whole suite on every engine: DuckDB in full, PostgreSQL (a local server the
# script installs and starts) and Spark (in-process, local mode) with fewer randomised
# examples and batch splits, since each of their builds costs several times more.
# The lint, the 1M benchmark, the BI tests and the warehouse compile checks run side by
# side, three at a time (each leaves a core idle part of the time); then the engines
# run one after another, each suite with both cores to itself. Side by side they were
# far slower than in turn: alone on this 2-core machine DuckDB's suite took 10:47,
# PostgreSQL's 9:22 and Spark's subset 10:49 (33 minutes together), while side by side
# (Snowflake's subset after Spark's) the three took 69 to 79 minutes each on a clean
# clone. Phase one's jobs print each job's output whole when it ends. No job of a parallel make has a prerequisite with a recipe: it would
# take a job slot and could leave a job waiting for another to end. So Chromium is
# installed first and the BI tests run without that prerequisite (BI_PREREQ empty).
test: env env-databricks $(PROFILES_DIR)/profiles.yml chromium snowflake-emulator
	$(MAKE) --no-print-directory --output-sync=target -j3 BI_PREREQ= lint bench-quick test-bi check-warehouses
	$(MAKE) --no-print-directory test-engines

test-engines: env
	$(MAKE) --no-print-directory test-duckdb
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-spark
	$(MAKE) --no-print-directory test-snowflake

test-other-engines: env
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-spark

PYTEST := ../$(PY) -m pytest -p no:cacheprovider --durations=10
# Two workers; tests that read the same module-scoped build run on one of them, the
# longest first (groups and order: integration_tests/tests/conftest.py).
XDIST ?= -n 2 --dist loadgroup --no-loadscope-reorder

# `make test` runs 60 randomised examples for the per-user marts, 25 for all marts and 5
# load splits per generated dataset on DuckDB (the test files default to 100, 40 and 10,
# which `make test-duckdb-full` runs): the crash test adds 5 more split sequences with
# interruptions, and the whole of `make test` must stay within an hour on 2 cores.
DUCKDB_HYPOTHESIS_EXAMPLES ?= 60
DUCKDB_HYPOTHESIS_BI_EXAMPLES ?= 25
DUCKDB_INCREMENTAL_SPLITS ?= 5

test-duckdb: env
	cd integration_tests && ACTIVATION_ENGINE=duckdb \
		ACTIVATION_HYPOTHESIS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_EXAMPLES:-$(DUCKDB_HYPOTHESIS_EXAMPLES)} \
		ACTIVATION_HYPOTHESIS_BI_EXAMPLES=$${ACTIVATION_HYPOTHESIS_BI_EXAMPLES:-$(DUCKDB_HYPOTHESIS_BI_EXAMPLES)} \
		ACTIVATION_INCREMENTAL_SPLITS=$${ACTIVATION_INCREMENTAL_SPLITS:-$(DUCKDB_INCREMENTAL_SPLITS)} \
		$(PYTEST) $(XDIST) $(PYTEST_ARGS)

test-duckdb-full: env
	cd integration_tests && ACTIVATION_ENGINE=duckdb $(PYTEST) $(XDIST) $(PYTEST_ARGS)

# The BI layer (integration_tests/tests_bi): one demo build, every MetricFlow metric against
# the marts, `dbt parse` with the optional modules off, and the dashboard's pages in Debian's
# headless Chromium (installed by scripts/chromium.sh when missing). Screenshots and logs in
# integration_tests/artifacts/bi (ACTIVATION_BI_ARTIFACTS).
BI_PREREQ ?= chromium
test-bi: env $(BI_PREREQ)
	cd integration_tests && $(PYTEST) tests_bi $(PYTEST_ARGS)

chromium:
	bash scripts/chromium.sh

# The dashboard on the demo build (any other target: see dashboard/connection.py).
DASHBOARD_PORT ?= 8501
dashboard: env $(PROFILES_DIR)/profiles.yml
	test -f $(DEMO_DB) || $(MAKE) --no-print-directory demo
	ACTIVATION_DUCKDB_PATH=$(DEMO_DB) $(BIN)/streamlit run dashboard/app.py --server.port $(DASHBOARD_PORT) \
		--browser.gatherUsageStats false --client.toolbarMode viewer -- --profiles-dir $(PROFILES_DIR) --target duckdb

# MetricFlow on the demo build: `dbt parse` with the semantic layer on writes
# target/semantic_manifest.json, then `mf query` answers from demo/activation.duckdb.
MF_QUERY ?= --metrics activation_signups,activation_activated_users,activation_rate,activation_ttfv_median_hours \
	--group-by metric_time__month,user__plan_tier --order metric_time__month,user__plan_tier
metrics: env $(PROFILES_DIR)/profiles.yml
	test -f $(DEMO_DB) || $(MAKE) --no-print-directory demo
	ACTIVATION_DUCKDB_PATH=$(DEMO_DB) $(DBT) parse --quiet --profiles-dir $(PROFILES_DIR) \
		--vars '{activation_semantic_layer_enabled: true}'
	ACTIVATION_DUCKDB_PATH=$(DEMO_DB) DBT_PROFILES_DIR=$(PROFILES_DIR) $(BIN)/mf query --quiet $(MF_QUERY)

# A local server outside the repository (scripts/postgres.sh says where and how to connect).
postgres:
	bash scripts/postgres.sh

# The same suite on PostgreSQL; ACTIVATION_PG_* variables point it at another server.
# Stops with one line when the server cannot be reached.
PG_HYPOTHESIS_EXAMPLES ?= 25
PG_HYPOTHESIS_BI_EXAMPLES ?= 10
PG_INCREMENTAL_SPLITS ?= 1
PG_HYPOTHESIS_STATS_EXAMPLES ?= 3
# The pure-Python reference tests open no engine: `make test` runs them in the DuckDB suite.
PG_MARKERS ?= -m "not engine_independent"

# The server is started in the recipe, not by a `postgres` prerequisite: under `-j3` that
# prerequisite took a job slot, and make then left the PostgreSQL suite waiting until
# the DuckDB or the Spark suite had ended.
test-postgres: env
	bash scripts/postgres.sh
	cd integration_tests && ACTIVATION_ENGINE=postgres \
		ACTIVATION_HYPOTHESIS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_EXAMPLES:-$(PG_HYPOTHESIS_EXAMPLES)} \
		ACTIVATION_HYPOTHESIS_BI_EXAMPLES=$${ACTIVATION_HYPOTHESIS_BI_EXAMPLES:-$(PG_HYPOTHESIS_BI_EXAMPLES)} \
		ACTIVATION_INCREMENTAL_SPLITS=$${ACTIVATION_INCREMENTAL_SPLITS:-$(PG_INCREMENTAL_SPLITS)} \
		ACTIVATION_HYPOTHESIS_STATS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_STATS_EXAMPLES:-$(PG_HYPOTHESIS_STATS_EXAMPLES)} \
		$(PYTEST) $(XDIST) $(PG_MARKERS) $(PYTEST_ARGS)

# Spark runs in this process (pyspark local mode); its warehouse, metastore and logs go
# under ACTIVATION_SPARK_DIR (a temporary folder per test session). One Spark build of
# the test project takes 60-90 s here (vs 5-8 s on DuckDB), so `make test` runs on Spark
# the checks that cover most of what differs per engine, one build each where tests
# share it: every mart of the demo data against DuckDB with every data test (this
# covers the statistics marts on Spark), the hand-written edge cases against the
# reference, the window edge of the incremental pre-filter (UTC offsets up to 23:59),
# interrupted runs on random load splits (2 points between models, compared with a full
# refresh, statistics marts left out), the degenerate statistics cases and the
# Kaplan-Meier case, Unicode event names, hostile text in vars, and property keys
# Spark's JSON paths must handle. The configuration-change and input-change cases, the
# other statistics cases and the randomised checks run on Spark in
# `make test-spark-full` (the whole suite on Spark).
SPARK_HYPOTHESIS_EXAMPLES ?= 5
SPARK_HYPOTHESIS_BI_EXAMPLES ?= 3
SPARK_HYPOTHESIS_STATS_EXAMPLES ?= 1
SPARK_CRASH_POINTS ?= 2
SPARK_INPUT_CHANGES ?= as_of_backwards
# (one JSON object, no comma: it is an argument of $(call))
SPARK_INCREMENTAL_EXTRA_VARS ?= {"activation_statistics_enabled": false}
SPARK_TESTS ?= tests/test_cross_engine.py tests/test_engine_edge_cases.py \
	tests/test_incremental.py::test_rows_skipped_by_their_time_text_are_exactly_those_before_the_window \
	tests/test_crash_safety.py \
	tests/test_statistics.py::test_degenerate_marts_equal_reference \
	tests/test_statistics.py::test_no_conversions_and_groups_below_default_size \
	tests/test_statistics.py::test_milestone_nobody_is_eligible_for \
	tests/test_survival_experiments.py::test_km_case_matches_reference \
	tests/test_survival_experiments.py::test_km_curves_by_hand \
	tests/test_survival_experiments.py::test_km_summary_by_hand \
	tests/test_survival_experiments.py::test_km_logrank_by_hand \
	tests/test_survival_experiments.py::test_km_median_interval_rmst_and_observed_expected_by_hand \
	tests/test_unicode_names.py \
	tests/test_var_safety.py::test_hostile_var_text_builds_and_matches_the_reference \
	tests/test_var_safety.py::test_milestone_id_with_quotes_is_the_first_value_milestone \
	tests/test_var_safety.py::test_injected_invite_event_counts_no_event_as_an_invite \
	tests/test_var_safety.py::test_free_plan_tier_with_a_quote_is_not_paid \
	tests/test_var_safety.py::test_band_names_and_actions_with_quotes_and_backslashes \
	tests/test_var_safety.py::test_injected_first_value_milestone_fails_naming_the_var \
	tests/test_var_safety.py::test_bad_vars_are_reported_together_naming_each_var \
	tests/test_bad_input.py::test_property_keys_and_values_with_special_characters_work \
	tests/test_bad_input.py::test_property_key_spark_cannot_express_is_rejected \
	'tests/test_event_layouts.py::test_layout_builds_the_canonical_marts[segment]' \
	'tests/test_tracker_fixtures.py::test_tracker_fixture_builds_with_vars_only[mixpanel]' \
	tests/test_event_relations.py::test_several_tables_build_the_one_table_marts

define run_spark
	$(eval JAVA_PROBLEM := $(shell $(PY) integration_tests/tests/engine_spark.py))
	$(if $(JAVA_PROBLEM),$(error $(JAVA_PROBLEM)))
	cd integration_tests && ACTIVATION_ENGINE=spark \
		ACTIVATION_HYPOTHESIS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_EXAMPLES:-$(SPARK_HYPOTHESIS_EXAMPLES)} \
		ACTIVATION_HYPOTHESIS_BI_EXAMPLES=$${ACTIVATION_HYPOTHESIS_BI_EXAMPLES:-$(SPARK_HYPOTHESIS_BI_EXAMPLES)} \
		ACTIVATION_HYPOTHESIS_STATS_EXAMPLES=$${ACTIVATION_HYPOTHESIS_STATS_EXAMPLES:-$(SPARK_HYPOTHESIS_STATS_EXAMPLES)} \
		ACTIVATION_INCREMENTAL_SPLITS=$${ACTIVATION_INCREMENTAL_SPLITS:-1} \
		ACTIVATION_INCREMENTAL_DATASETS=$${ACTIVATION_INCREMENTAL_DATASETS:-1} \
		ACTIVATION_CRASH_POINTS=$${ACTIVATION_CRASH_POINTS:-$(SPARK_CRASH_POINTS)} \
		ACTIVATION_INPUT_CHANGES=$${ACTIVATION_INPUT_CHANGES:-$(SPARK_INPUT_CHANGES)} \
		ACTIVATION_INCREMENTAL_EXTRA_VARS='$(2)' \
		$(PYTEST) $(1) $(PYTEST_ARGS)
endef

test-spark: env
	$(call run_spark,$(SPARK_TESTS),$(SPARK_INCREMENTAL_EXTRA_VARS))

test-spark-full: env
	$(call run_spark,,)

# Snowflake on the emulator: fakesnow's HTTP server on loopback (Snowflake's REST API over
# DuckDB, SQL translated by sqlglot) with the fixes of scripts/snowflake_emulator.py, in a
# virtualenv of its own (.venv-snowflake-emulator); dbt-snowflake connects to it as to
# an account. `make test` runs the demo data's marts against DuckDB with every data and
# unit test, the hand-written edge cases against the reference, one incremental load
# split against a full refresh, and a tracker layout and a tracker sample.
snowflake-emulator:
	bash scripts/snowflake_emulator.sh start

SNOWFLAKE_TESTS ?= tests/test_cross_engine.py tests/test_engine_edge_cases.py \
	tests/test_incremental.py::test_incremental_batches_equal_full_refresh \
	'tests/test_event_layouts.py::test_layout_builds_the_canonical_marts[segment]' \
	'tests/test_tracker_fixtures.py::test_tracker_fixture_builds_with_vars_only[mixpanel]' \
	tests/test_event_relations.py::test_several_tables_build_the_one_table_marts

test-snowflake: env
	bash scripts/snowflake_emulator.sh start
	cd integration_tests && ACTIVATION_ENGINE=snowflake \
		ACTIVATION_INCREMENTAL_SPLITS=$${ACTIVATION_INCREMENTAL_SPLITS:-1} \
		ACTIVATION_INCREMENTAL_DATASETS=$${ACTIVATION_INCREMENTAL_DATASETS:-1} \
		$(PYTEST) $(SNOWFLAKE_TESTS) $(PYTEST_ARGS)

# Benchmark (bench/run_bench.py): 1M, 10M and 100M events -> bench/results.md. BENCH_ARGS
# passes flags, e.g. `make bench BENCH_ARGS="--sizes 10M --threads 4"`. bench-quick runs
# 1M events and checks the marts against the reference and a full refresh.
bench: env $(PROFILES_DIR)/profiles.yml
	$(PY) bench/run_bench.py $(BENCH_ARGS)

bench-quick: env $(PROFILES_DIR)/profiles.yml
	$(PY) bench/run_bench.py --quick $(BENCH_ARGS)

docs: env $(PROFILES_DIR)/profiles.yml
	ACTIVATION_DUCKDB_PATH=$(DEMO_DB) $(DBT) docs generate --profiles-dir $(PROFILES_DIR) \
		--vars '{activation_semantic_layer_enabled: true}'

clean:
	rm -rf target dbt_packages logs integration_tests/target integration_tests/dbt_packages \
		integration_tests/logs integration_tests/artifacts $(PROFILES_DIR) demo bench/.work
