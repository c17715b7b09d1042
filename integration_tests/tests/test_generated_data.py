"""The demo generator's data, built with the package's own seed configuration by
`dbt build` (models and every dbt data test), equals the Python reference on every
column of the per-user marts and on the quarantine and reconciliation counts."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import BASE_VARS, assert_marts_match_reference
from reference.activation_reference import compute

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_data.py"
SIZE = ["--users", "1500", "--events-per-user", "30", "--days", "120", "--seed", "7"]


def read_seed(name):
    with open(ROOT / "seeds" / f"{name}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in list(row.items()):
            row[key] = value if value != "" else None
        for key in ("level", "timeframe_days", "path_id", "min_count"):
            if row.get(key) is not None:
                row[key] = int(row[key])
        if row.get("weight") is not None:
            row["weight"] = float(row["weight"])
        if "is_activation" in row:
            row["is_activation"] = row["is_activation"] == "true"
    return rows


def generated_tables(path):
    """The generator's raw tables as written to the DuckDB file `path`: {table: (columns, rows)}."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {}
        for table in ("users", "events"):
            cursor = con.execute(f"select * from raw.{table}")
            names = [d[0] for d in cursor.description]
            tables[table] = ({name: "varchar" for name in names}, [dict(zip(names, row)) for row in cursor.fetchall()])
        return tables
    finally:
        con.close()


@pytest.fixture(scope="module")
def generated_build(dbt_builder, tmp_path_factory):
    dbt_builder.deps()
    # The generator writes DuckDB (or CSV); its tables are then loaded into the session's engine.
    path = tmp_path_factory.mktemp("generated") / "generated.duckdb"
    subprocess.run([sys.executable, str(GENERATOR), *SIZE, "--duckdb", str(path), "--quiet"], check=True)
    dbt_builder.engine.write_raw_tables(generated_tables(path))
    generator_vars = json.loads(subprocess.run(
        [sys.executable, str(GENERATOR), *SIZE, "--print-vars"], check=True, capture_output=True,
        text=True).stdout)
    vars = dict(generator_vars, activation_source_schema="raw",
                activation_user_passthrough_columns=BASE_VARS["activation_user_passthrough_columns"])
    dbt_builder.run_dbt(["seed", "--vars", json.dumps(vars), "--quiet"])
    dbt_builder.run_dbt(["build", "--exclude", "resource_type:seed", "--vars", json.dumps(vars), "--quiet",
                        "--full-refresh"])
    raw_users = dbt_builder.query("select * from raw.users")
    raw_events = dbt_builder.query("select * from raw.events")
    return dbt_builder.read_marts(), raw_users, raw_events, vars


def test_generated_data_matches_reference(generated_build):
    marts, raw_users, raw_events, vars = generated_build
    ref = compute(raw_users, raw_events, read_seed("activation_milestones"),
                  read_seed("activation_milestone_requirements"), vars)
    assert_marts_match_reference(marts, ref)


def test_generated_data_has_every_quarantine_reason(generated_build):
    marts = generated_build[0]
    event_reasons = {r["quarantine_reason"] for r in marts["quarantined_events"]}
    assert event_reasons == {"missing_user_id", "missing_event_name", "invalid_timestamp",
                             "future_timestamp", "invalid_properties_json", "unknown_user"}
    user_reasons = {r["quarantine_reason"] for r in marts["quarantined_users"]}
    assert user_reasons == {"missing_user_id", "duplicate_user_id", "invalid_created_at"}


def test_generated_rates_are_plausible(generated_build):
    users = generated_build[0]["users"]
    activated = sum(u["is_activated"] for u in users) / len(users)
    assert 0.05 < activated < 0.6
    reached_first = sum(u["milestones_reached"] > 0 for u in users) / len(users)
    assert reached_first > activated
