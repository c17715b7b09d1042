"""Generate the demo data and build every model of the package on it, in DuckDB.

    python scripts/build_demo.py [--duckdb demo/activation.duckdb] [--profiles-dir .dbt]
                                 [generator flags such as --users 20000]

Runs scripts/generate_data.py into the DuckDB file's `raw` schema, then `dbt seed`
and `dbt build` (models and data tests) of this project with the vars the generator
prints (as_of = end of the generated period) and the semantic layer on
(`activation_semantic_layer_enabled`), and prints the headline numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# absolute(), not resolve(): a project folder of symlinks (the BI tests' copy) builds in place.
ROOT = Path(__file__).absolute().parents[1]


def run(command, env):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duckdb", default="demo/activation.duckdb", help="DuckDB file to build into")
    parser.add_argument("--profiles-dir", default=".dbt", help="folder holding profiles.yml")
    args, generator_flags = parser.parse_known_args(argv)

    database = (ROOT / args.duckdb).resolve()
    database.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ACTIVATION_DUCKDB_PATH=str(database))
    python = sys.executable
    generator = [python, "scripts/generate_data.py", *generator_flags]

    run(generator + ["--duckdb", str(database)], env)
    vars_json = subprocess.run(generator + ["--print-vars"], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
    # The demo turns the semantic layer on, so `mf query` and the docs site show the metrics,
    # and the account marts, since the generated users carry an account_id.
    vars_json = json.dumps(dict(json.loads(vars_json), activation_semantic_layer_enabled=True,
                                activation_accounts_enabled=True))
    dbt = str(Path(python).with_name("dbt"))
    common = ["--profiles-dir", args.profiles_dir, "--vars", vars_json]
    run([dbt, "seed", *common], env)
    run([dbt, "build", "--exclude", "resource_type:seed", *common], env)
    summarise(database, json.loads(vars_json))


def summarise(database, vars):
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        users, activated, pql, ttfv = con.execute(
            """
            select
                count(*),
                avg(case when is_activated then 1.0 else 0 end),
                avg(case when status = 'pql' then 1.0 else 0 end),
                median(time_to_first_value_hours)
            from main_activation.activation_users
            """
        ).fetchone()
        quality = con.execute(
            "select table_name, outcome, sum(row_count) from main_activation.activation_data_quality "
            "group by 1, 2 order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    print()
    print(f"Demo build in {database} (as of {vars['activation_as_of']})")
    print(f"  users: {users:,}   activated: {activated:.1%}   pql: {pql:.1%}   "
          f"median hours to first value: {ttfv:.1f}")
    for table, outcome, rows in quality:
        print(f"  {table:<7} {outcome:<18} {rows:>10,}")
    print("  marts: main_activation.activation_users, main_activation.activation_user_milestones, ...")


if __name__ == "__main__":
    main()
