"""The demo data gives the same rows in every mart on this engine as on DuckDB.

Runs in the PostgreSQL and Spark suites (on DuckDB it would compare DuckDB with
itself, so conftest deselects it there). The demo generator's raw tables (the size
`make demo` builds) are loaded into the session's engine and into a DuckDB file; both
are built in full by `dbt build` (models and every data test) with the package's own
milestone seeds. Every table of the marts schema must hold the same rows. Values
compare exactly, except floating-point columns (rates, means, medians, hours, lifts:
every column whose value is a float), which compare to 1e-9 relative: the engines may
add the same numbers in a different order.

On PostgreSQL the test also checks that every table the build wrote has planner
statistics (the package's post-hook `activation_analyze_table`): without them the plan
of the next model can take a table of events for a few rows.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engines import DuckDBEngine
from harness import DbtBuilder, assert_same_tables
from test_generated_data import generated_tables

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_data.py"
DEMO_SIZE = os.environ.get("ACTIVATION_CROSS_ENGINE_SIZE", "").split()  # empty: the demo defaults


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    subprocess.run([sys.executable, str(GENERATOR), *DEMO_SIZE, "--duckdb", str(path), "--quiet"], check=True)
    vars = json.loads(subprocess.run([sys.executable, str(GENERATOR), *DEMO_SIZE, "--print-vars"], check=True,
                                     capture_output=True, text=True).stdout)
    # The demo builds with the package's own milestone seeds, not the test tables, and with
    # the account marts (off by default), so they are compared across engines too.
    vars.update(activation_milestones_identifier=None, activation_milestone_requirements_identifier=None,
                activation_accounts_enabled=True)
    return generated_tables(path), vars


@pytest.mark.cross_engine
def test_demo_marts_equal_duckdb(dbt_builder, demo_data, tmp_path_factory):
    tables, vars = demo_data
    dbt_builder.engine.write_raw_tables(tables)
    dbt_builder.run_models(vars, full_refresh=True, command="build")
    on_engine = dbt_builder.read_all_marts()
    if dbt_builder.engine.name == "postgres":
        assert_every_table_analyzed(dbt_builder.engine)

    workdir = tmp_path_factory.mktemp("duckdb")
    duckdb_builder = DbtBuilder(workdir, engine=DuckDBEngine(workdir))
    try:
        duckdb_builder.deps()
        duckdb_builder.engine.write_raw_tables(tables)
        duckdb_builder.run_models(vars, full_refresh=True, command="build")
        on_duckdb = duckdb_builder.read_all_marts()
    finally:
        duckdb_builder.close()
    assert sum(len(rows) for rows in on_duckdb.values()) > 10_000
    assert_same_tables(on_engine, on_duckdb, label=dbt_builder.engine.name)


def assert_every_table_analyzed(engine):
    """Every table in the package's schemas was analyzed (pg_class.reltuples is -1 for a
    table never analyzed or vacuumed; autovacuum skips tables under 50 changed rows)."""
    unanalyzed = engine.query(
        "select n.nspname || '.' || c.relname as name from pg_class as c "
        "join pg_namespace as n on n.oid = c.relnamespace "
        "where c.relkind = 'r' and c.reltuples < 0 "
        "and n.nspname in ('main_activation', 'main_activation_staging') order by 1")
    assert not unanalyzed, f"tables without statistics: {[row['name'] for row in unanalyzed]}"
