"""The README's install steps, run in a fresh dbt project of a user.

A new dbt project in a temporary folder installs the package (`packages.yml: - local:
<repo root>`), with its own profiles.yml: a DuckDB file in the folder, or on
ACTIVATION_ENGINE=postgres a schema of the session's database. Its tables are written
as a user would have them: events in `product_raw.tracks` with the time in a TIMESTAMP
column named `timestamp` and `properties` as JSON text, users in `product_raw.app_users`
with `created_at` a TIMESTAMPTZ and the passthrough columns `company_size` and
`region`, and the milestone configuration in tables of its own (the package seeds'
rows). The data are the demo generator's (200 valid users, bad rows of every kind).

The vars and the commands come from the README (the fenced blocks after the markers
`consumer-project-vars` and `consumer-project-commands`), so the README and this test
cannot drift apart. Each command runs through the venv's dbt with dbt's default
options; every one must succeed with nothing skipped, no warning and no error, no unit
test of the package may run, and activation_users holds the 200 valid users. The
commands build `+activation_users` on an empty database first, so a data test that
read a mart outside that selection would fail. The project's manifest then goes
through the same selection check as test_test_selection.py (here with the milestone
configuration from the user's tables instead of the package seeds).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from engines import get_engine_name
from test_test_selection import check_mart_selections

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
DBT = str(Path(sys.executable).with_name("dbt"))
VALID_USERS = 200          # generate_data.py --users: the number of valid users it writes
TARGET_SCHEMA = "consumer"


def readme_block(marker: str) -> str:
    """The fenced code block that follows `<!-- <marker>` in the README."""
    text = README.read_text()
    match = re.search(r"<!-- " + re.escape(marker) + r"\b[^>]*-->\s*```[a-z]*\n(.*?)\n\s*```",
                      text, re.S)
    assert match, f"README.md has no fenced block after the marker {marker!r}"
    return textwrap.dedent(match.group(1))


def parse_time(text, aware):
    """A generator time text as a user's loader would store it (None if unreadable)."""
    if text is None or not text.strip():
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    value = value.astimezone(dt.timezone.utc)
    return value if aware else value.replace(tzinfo=None)


def user_tables(data_dir: Path) -> dict:
    """The generator's CSV rows as a user's typed tables: {table: (columns, rows)}."""
    with open(data_dir / "users.csv", newline="") as handle:
        users = [{key: (value if value != "" else None) for key, value in row.items()}
                 for row in csv.DictReader(handle)]
    with open(data_dir / "events.csv", newline="") as handle:
        events = [{key: (value if value != "" else None) for key, value in row.items()}
                  for row in csv.DictReader(handle)]
    for number, row in enumerate(users):
        row["created_at"] = parse_time(row["created_at"], aware=True)
        row["region"] = ("emea", "amer", "apac")[number % 3]
    for row in events:
        row["timestamp"] = parse_time(row.pop("event_timestamp"), aware=False)

    def seed_rows(name):
        with open(REPO_ROOT / "seeds" / f"{name}.csv", newline="") as handle:
            return [{key: (value if value != "" else None) for key, value in row.items()}
                    for row in csv.DictReader(handle)]

    milestones = seed_rows("activation_milestones")
    for row in milestones:
        row["level"] = int(row["level"])
        row["weight"] = float(row["weight"])
        row["timeframe_days"] = int(row["timeframe_days"]) if row["timeframe_days"] else None
        row["is_activation"] = row["is_activation"] == "true"
    requirements = seed_rows("activation_milestone_requirements")
    for row in requirements:
        row["path_id"] = int(row["path_id"])
        row["min_count"] = int(row["min_count"])
    text = "varchar"
    return {
        "app_users": ({"user_id": text, "account_id": text, "created_at": "timestamptz",
                       "plan_tier": text, "install_source": text, "inviter_user_id": text,
                       "company_size": text, "region": text}, users),
        "tracks": ({"event_id": text, "user_id": text, "event_name": text,
                    "timestamp": "timestamp", "properties": text}, events),
        "activation_milestones": ({"milestone_id": text, "definition": text, "level": "integer",
                                   "weight": "double precision", "timeframe": text,
                                   "timeframe_days": "integer", "triggered_by_event": text,
                                   "is_activation": "boolean", "requires_milestone_id": text},
                                  milestones),
        "activation_requirements": ({"milestone_id": text, "path_id": "integer",
                                     "event_name": text, "min_count": "integer",
                                     "property_key": text, "property_value": text},
                                    requirements),
    }


def write_duckdb(path: Path, tables: dict, schema: str):
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute(f'create schema "{schema}"')
        for table, (columns, rows) in tables.items():
            ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
            con.execute(f'create table "{schema}"."{table}" ({ddl})')
            marks = ", ".join("?" for _ in columns)
            con.executemany(f'insert into "{schema}"."{table}" values ({marks})',
                            [[row.get(name) for name in columns] for row in rows])
    finally:
        con.close()


def run_dbt_command(command: str, project: Path, env: dict) -> str:
    """Run one README command (its `dbt` is the venv's); return dbt's output after
    asserting it succeeded with nothing skipped, warned or failed."""
    args = shlex.split(command)
    assert args[0] == "dbt", f"README command is not a dbt command: {command}"
    completed = subprocess.run([DBT, *args[1:]], cwd=project, env=env, capture_output=True,
                               text=True, timeout=900)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"`{command}` failed:\n{output[-5000:]}"
    if args[1] == "build":
        done = re.search(r"Done\. PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", output)
        assert done, f"`{command}`: no summary line:\n{output[-3000:]}"
        passed, warned, errors, skipped = map(int, done.groups())
        assert (warned, errors, skipped) == (0, 0, 0) and passed > 0, \
            f"`{command}`: PASS={passed} WARN={warned} ERROR={errors} SKIP={skipped}\n{output[-5000:]}"
        finished = re.search(r"Finished running (.*?) in ", output)
        assert finished and "unit test" not in finished.group(1), \
            f"`{command}` ran unit tests of the package: {finished and finished.group(1)}"
    return output


@pytest.fixture(scope="module")
def consumer_engine(dbt_builder):
    engine_name = get_engine_name()
    if engine_name not in ("duckdb", "postgres"):
        pytest.skip("the consumer project test runs on DuckDB and PostgreSQL")
    return engine_name, dbt_builder.engine


def test_readme_install_steps_in_a_fresh_project(consumer_engine, tmp_path):
    engine_name, engine = consumer_engine
    project = tmp_path / "my_analytics"
    project.mkdir()
    data_dir = tmp_path / "generated"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "generate_data.py"),
                    "--users", str(VALID_USERS), "--days", "30", "--csv-dir", str(data_dir),
                    "--quiet"], check=True, timeout=300)

    readme_vars = yaml.safe_load(readme_block("consumer-project-vars"))["vars"]
    commands = [line.strip() for line in readme_block("consumer-project-commands").splitlines()
                if line.strip() and not line.strip().startswith("#")]
    assert commands[0] == "dbt deps"
    assert "dbt build --select milestone_activation" in commands
    assert any(re.fullmatch(r"dbt build --select \+activation_users", c) for c in commands)
    source_schema = readme_vars["activation_source_schema"]

    tables = user_tables(data_dir)
    if engine_name == "duckdb":
        database = tmp_path / "warehouse.duckdb"
        write_duckdb(database, tables, source_schema)
        output = {"type": "duckdb", "path": str(database), "threads": 2}
    else:
        engine.write_raw_tables(tables, schema=source_schema)
        output = {"type": "postgres", "host": engine.host, "port": engine.port,
                  "user": engine.user, "password": "{{ env_var('DBT_ENV_SECRET_CONSUMER_PASSWORD') }}",
                  "dbname": engine.database, "threads": 2}
    output["schema"] = TARGET_SCHEMA
    (project / "profiles.yml").write_text(yaml.safe_dump(
        {"my_analytics": {"target": "dev", "outputs": {"dev": output}}}))
    (project / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "my_analytics", "version": "1.0.0", "config-version": 2,
        "profile": "my_analytics", "flags": {"send_anonymous_usage_stats": False},
        "vars": readme_vars}, sort_keys=False))
    (project / "packages.yml").write_text(yaml.safe_dump({"packages": [{"local": str(REPO_ROOT)}]}))

    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
    env["DBT_PROFILES_DIR"] = str(project)
    if engine_name == "postgres":
        env["DBT_ENV_SECRET_CONSUMER_PASSWORD"] = engine.password
    for command in commands:
        run_dbt_command(command, project, env)

    sql = f"select count(*) as users from {TARGET_SCHEMA}_activation.activation_users"
    if engine_name == "duckdb":
        import duckdb

        con = duckdb.connect(str(database), read_only=True)
        try:
            users = con.execute(sql).fetchone()[0]
        finally:
            con.close()
    else:
        users = engine.query(sql)[0]["users"]
    assert users == VALID_USERS

    manifest = json.loads((project / "target" / "manifest.json").read_text())
    problems = check_mart_selections(manifest)
    assert not problems, "\n".join(problems)
