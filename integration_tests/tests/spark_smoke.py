"""Build the package on Spark through SparkEngine and check the marts against the reference.

    python integration_tests/tests/spark_smoke.py                 # hand-written edge cases
    python integration_tests/tests/spark_smoke.py --users 300     # the demo generator's data

Writes the raw tables with `SparkEngine.write_raw_tables`, runs `dbt seed` and `dbt build`
(models, data tests, unit tests) in this process with `--target spark` (the session method
picks up the engine's SparkSession), reads the marts back with `SparkEngine.query` and
compares them with the Python reference. Prints the time of each step. Exits with one
line when Java is missing or too old.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS_DIR), str(TESTS_DIR.parent)]

from engine_spark import PROJECT_DIR, SparkEngine, require_java  # noqa: E402
from harness import (  # noqa: E402
    BASE_VARS,
    RAW_COLUMNS,
    Dataset,
    assert_bi_marts_match_reference,
    assert_marts_match_reference,
    event,
    milestone,
    requirement,
    user,
)

ROOT = PROJECT_DIR.parent
MART_SCHEMA = "main_activation"
PER_USER_MARTS = {
    "user_milestones": "activation_user_milestones",
    "users": "activation_users",
    "quarantined_users": "activation_quarantined_users",
    "quarantined_events": "activation_quarantined_events",
    "data_quality": "activation_data_quality",
}
BI_MARTS = ["cohort_completion", "funnel", "milestone_velocity", "retention", "viral_coefficient",
            "conversion_by_milestone", "nudges", "pql_score_history", "pql_scores_daily", "pql_handoffs", "kpis"]


def edge_case_dataset():
    """Paths, gates, timeframes to the second, offsets, fractions, property filters,
    duplicates and every quarantine reason, on a dozen users."""
    signup = "2025-03-03 00:00:00"
    users = [user(f"u{i:02d}", signup) for i in range(1, 9)]
    users += [user("u09", "2025-03-03 00:00:00.5", plan_tier="pro", inviter_user_id="u01"),
              user("u01", "2025-03-04 00:00:00"), user(" ", signup), user("u10", "2025-02-30")]
    milestones = [
        milestone("login", 1, weight=1, timeframe="48h", triggered_by_event="Login"),
        milestone("core", 2, weight=4, timeframe="7d", is_activation=True),
        milestone("invite", 3, weight=5, timeframe="14d", triggered_by_event="invite_sent",
                  requires_milestone_id="core", is_activation=True),
        milestone("finish", 4, weight=0.5, timeframe=None, timeframe_days=30),
    ]
    requirements = [
        requirement("core", "search", min_count=2, path_id=1),
        requirement("core", "list_created", path_id=1),
        requirement("core", "template_imported", path_id=2),
        requirement("finish", "onboarding_step", property_key="step", property_value="finish"),
    ]
    events = [
        event("u01", "search", "2025-03-03 01:00:00", "a1"), event("u01", "Search", "2025-03-03 02:00:00", "a2"),
        event("u01", "list_created", "2025-03-04 00:00:00", "a3"),
        event("u01", "invite_sent", "2025-03-03T23:00:00-02:00", "a4", '{"count": 2}'),
        event("u02", "template_imported", "2025-03-05T02:00:00+02:00", "b1"),
        event("u02", "login", "2025-03-05 00:00:00", "b2"),
        event("u03", "login", "2025-03-05 00:00:00.000001", "c1"),
        event("u04", "onboarding_step", "2025-03-03 01:00:00", "d1", '{"step": "start"}'),
        event("u04", "onboarding_step", "2025-03-04 01:00:00", "d2", '{"step": "finish", "n": [1, 2]}'),
        event("u05", "onboarding_step", "2025-03-04 01:00:00", "e1", '{"step": "finish",}'),
        event("u05", "onboarding_step", "2025-03-04 02:00:00", "e2", '{"step": NaN}'),
        event("u06", "search", "2025-03-03 01:00:00", "f1"), event("u06", "search", "2025-03-03 01:00:00", "f1"),
        event("u06", "list_created", "2025-03-03 03:00:00", None),
        event("u06", "list_created", "2025-03-03T05:00:00+02:00", None),
        event("u07", "template_imported", "2025-03-10 00:00:01", "g1"),
        event("u09", "login", "2025-03-05 00:00:00.4", "i1"),
        event("u09", "template_imported", "2025-03-05 00:00:00.6", "i2"),
        event("u08", "login", "not a time", "h1"), event(None, "login", "2025-03-04", "h2"),
        event("u08", " ", "2025-03-04", "h3"), event("zz", "login", "2025-03-04", "h4"),
        event("u08", "login", "2025-05-04", "h5"),
    ]
    return Dataset(users, events, milestones, requirements)


def read_marts(engine):
    marts = {key: engine.query(f"select * from {MART_SCHEMA}.{name}") for key, name in PER_USER_MARTS.items()}
    bi = {name: engine.query(f"select * from {MART_SCHEMA}.activation_{name}") for name in BI_MARTS}
    return marts, bi


def demo_dataset(users, workdir):
    """The generator's CSVs read losslessly (empty field = null, "" = empty text)."""
    import duckdb
    from test_generated_data import read_seed

    size = ["--users", str(users), "--events-per-user", "30", "--days", "60", "--seed", "7"]
    generator = [sys.executable, str(ROOT / "scripts" / "generate_data.py"), *size]
    csv_dir = workdir / "csv"
    subprocess.run(generator + ["--csv-dir", str(csv_dir), "--quiet"], check=True)
    vars = json.loads(subprocess.run(generator + ["--print-vars"], check=True, capture_output=True,
                                     text=True).stdout)
    con = duckdb.connect()
    tables = {}
    for table in ("users", "events"):
        cursor = con.execute(f"select * from read_csv('{csv_dir / table}.csv', all_varchar = true, "
                             "allow_quoted_nulls = false, header = true)")
        names = [d[0] for d in cursor.description]
        tables[table] = ({name: "varchar" for name in names}, [dict(zip(names, r)) for r in cursor.fetchall()])
    con.close()
    return tables, vars, read_seed("activation_milestones"), read_seed("activation_milestone_requirements")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, help="build the demo generator's data for this many users")
    parser.add_argument("--workdir", help="keep Spark's files here (default: a temporary folder)")
    args = parser.parse_args(argv)
    require_java()

    from dbt.cli.main import dbtRunner
    from reference.activation_reference import compute
    from reference.bi_reference import compute_bi

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="activation-spark-"))
    started = time.perf_counter()
    engine = SparkEngine(workdir)
    engine.before_invoke()
    print(f"Spark session started in {time.perf_counter() - started:.1f} s (files under {engine.spark_dir})")

    if args.users:
        tables, vars, milestones, requirements = demo_dataset(args.users, workdir)
        vars = dict(vars, activation_source_schema="raw",
                    activation_user_passthrough_columns=BASE_VARS["activation_user_passthrough_columns"])
    else:
        dataset = edge_case_dataset()
        tables = {name: (RAW_COLUMNS[name], rows) for name, rows in dataset.tables().items()}
        # Actions with a quote and a backslash: literals must be escaped the Spark way.
        vars = dict(BASE_VARS, activation_as_of="2025-04-10 00:00:00", activation_status_bands=[
            {"status": "inactive", "min_score": 0, "action": "re-engagement nudges"},
            {"status": "engaged", "min_score": 31, "action": "don't hand off yet"},
            {"status": "pql", "min_score": 70, "action": "sales handoff"},
        ], activation_pql_bands=[
            {"band": "nurture", "min_score": 0, "action": "it's automated"},
            {"band": "sdr_outreach", "min_score": 3, "action": "call \\ email"},
            {"band": "ae_handoff", "min_score": 6},
        ])
        milestones, requirements = dataset.milestones, dataset.requirements
    engine.write_raw_tables(tables)
    users, events = tables["users"][1], tables["events"][1]
    print(f"raw tables written: {len(users)} users, {len(events)} events")

    runner = dbtRunner()
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target", engine.target]
    paths = ["--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs")]
    for command in (["deps"], ["seed", "--vars", json.dumps(vars)],
                    ["build", "--exclude", "resource_type:seed", "--vars", json.dumps(vars)]):
        started = time.perf_counter()
        result = runner.invoke(command[:1] + common + (paths if command[0] != "deps" else []) + command[1:])
        print(f"dbt {command[0]}: {'ok' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s")
        if not result.success:
            raise SystemExit(f"dbt {command[0]} failed on Spark")

    marts, bi = read_marts(engine)
    full_vars = dict(vars, activation_user_passthrough_columns=BASE_VARS["activation_user_passthrough_columns"])
    assert_marts_match_reference(marts, compute(users, events, milestones, requirements, full_vars))
    print("per-user marts, quarantine and reconciliation equal the reference")
    if not args.users:
        assert_bi_marts_match_reference(bi, compute_bi(users, events, milestones, requirements, full_vars))
        print("BI marts equal the reference")
    activated = sum(u["is_activated"] for u in marts["users"])
    outcomes = {}
    for row in marts["data_quality"]:
        key = f"{row['table_name']} {row['outcome']}"
        outcomes[key] = outcomes.get(key, 0) + row["row_count"]
    print(f"{len(marts['users'])} users, {activated} activated; "
          + ", ".join(f"{key} {count}" for key, count in sorted(outcomes.items())))
    engine.close()


if __name__ == "__main__":
    main()
