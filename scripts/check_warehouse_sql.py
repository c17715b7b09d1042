"""Compile the package for a warehouse with no server and check the SQL it would run.

    python scripts/check_warehouse_sql.py --adapter bigquery [--vars '{...}'] [--keep DIR]

For BigQuery, Redshift and Databricks (no server is reachable here) and Snowflake:

1. `dbt parse` and `dbt compile` of the package with an offline profile of that adapter.
   Nothing connects: the adapter answers every metadata question as an empty warehouse
   would (no relation exists, no column, empty query results), so every model compiles
   as on a first build (the full-build branch of the incremental models).
2. Every compiled model, analysis and data test is parsed by sqlglot in that warehouse's
   dialect; a parse error fails the check, naming the file, and so does a function
   sqlglot does not know in that dialect unless it is listed in DOCUMENTED_FUNCTIONS
   (functions of the warehouse's documentation that sqlglot does not model).
3. Every `adapter.dispatch` of the package is recorded while compiling: a macro that
   resolves to another engine's implementation (`postgres__` on Redshift, `spark__` on
   Databricks, which dbt's dispatch falls back to) fails the check, naming the macro.
   An implementation of the adapter's own (`redshift__...`) or `default__` passes.

Exit status 0 when all three hold. dbt-databricks needs its own virtualenv (its
dbt-core pin conflicts with the others): run this script with that venv's python.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).absolute().parents[1]
PACKAGE = "milestone_activation"

# Offline profiles: nothing here is ever contacted.
PROFILES = {
    "snowflake": {
        "type": "snowflake", "account": "offline", "user": "offline", "password": "offline",
        "database": "ANALYTICS", "warehouse": "TRANSFORMING", "schema": "main", "threads": 1,
    },
    "bigquery": {
        "type": "bigquery", "method": "oauth", "project": "offline-project", "dataset": "main",
        "threads": 1,
    },
    "redshift": {
        "type": "redshift", "host": "redshift.invalid", "port": 5439, "user": "offline",
        "password": "offline", "dbname": "analytics", "schema": "main", "threads": 1,
    },
    "databricks": {
        "type": "databricks", "host": "offline.cloud.databricks.com", "http_path": "/sql/1.0/warehouses/offline",
        "token": "offline", "catalog": "main", "schema": "main", "threads": 1,
    },
}

# sqlglot's name of each warehouse's dialect.
DIALECTS = {"snowflake": "snowflake", "bigquery": "bigquery", "redshift": "redshift", "databricks": "databricks"}

# Functions sqlglot does not model in the dialect (it parses them as anonymous calls),
# each checked against the warehouse's documentation. Any other unknown function in the
# compiled SQL fails the check: it is most likely another engine's function.
DOCUMENTED_FUNCTIONS = {
    "snowflake": {"hash", "is_object"},           # HASH; IS_OBJECT (semi-structured type predicates)
    "bigquery": {"error", "parse_json"},          # ERROR; SAFE.PARSE_JSON (JSON functions)
    "redshift": {"can_json_parse"},               # CAN_JSON_PARSE (JSON functions)
    "databricks": {"raise_error", "timestamp_micros", "xxhash64"},  # Databricks SQL built-in functions
}

# Another engine's implementations that dbt's dispatch would fall back to.
FOREIGN_PREFIXES = ("postgres__", "spark__", "duckdb__", "snowflake__", "bigquery__", "redshift__", "databricks__")


class OfflineHandle:
    """A connection handle that is never used for a query."""

    def close(self):
        pass

    def rollback(self):
        pass

    def commit(self):
        pass


def offline_adapter(adapter_type: str) -> None:
    """Make the adapter answer as an empty warehouse, without a connection."""
    import agate
    from dbt.adapters.contracts.connection import AdapterResponse

    adapter_class = importlib.import_module(f"dbt.adapters.{adapter_type}").Plugin.adapter

    def get_relation(self, database, schema, identifier, *args, **kwargs):
        return None

    def get_columns_in_relation(self, relation, *args, **kwargs):
        return []

    def execute(self, sql, auto_begin=False, fetch=False, limit=None, **kwargs):
        return AdapterResponse(_message="offline"), agate.Table([], [])

    def list_relations_without_caching(self, schema_relation, *args, **kwargs):
        return []

    def open_connection(cls, connection):
        connection.state = "open"
        connection.handle = OfflineHandle()
        return connection

    adapter_class.ConnectionManager.open = classmethod(open_connection)
    # Databricks asks the connection which runtime it talks to: answer as a current
    # Databricks SQL warehouse (every capability, not a cluster).
    for name, answer in (("compare_dbr_version", 1), ("has_capability", True), ("has_dbr_capability", True),
                         ("is_cluster", False)):
        if hasattr(adapter_class, name):
            setattr(adapter_class, name, lambda self, *args, _answer=answer, **kwargs: _answer)
    adapter_class.get_relation = get_relation
    adapter_class.get_columns_in_relation = get_columns_in_relation
    adapter_class.execute = execute
    adapter_class.list_relations_without_caching = list_relations_without_caching


def record_dispatch(resolved: dict) -> None:
    """Record, for every dispatch in the package's namespace, the macro it resolved to."""
    from dbt.context.providers import BaseDatabaseWrapper

    original = BaseDatabaseWrapper.dispatch

    def dispatch(self, macro_name, macro_namespace=None, packages=None):
        macro = original(self, macro_name, macro_namespace=macro_namespace, packages=packages)
        if macro_namespace == PACKAGE:
            name = getattr(getattr(macro, "macro", None), "name", None) or str(macro)
            resolved.setdefault(macro_name, set()).add(name)
        return macro

    BaseDatabaseWrapper.dispatch = dispatch


def compiled_files(target: Path) -> list[Path]:
    compiled = target / "compiled" / PACKAGE
    return sorted(path for path in compiled.rglob("*.sql"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", required=True, choices=sorted(PROFILES))
    parser.add_argument("--vars", default="{}", help="dbt vars (YAML or JSON) for parse and compile")
    parser.add_argument("--keep", help="folder for the compiled SQL (default: a temporary folder, removed)")
    args = parser.parse_args(argv)

    import sqlglot
    import yaml
    from dbt.cli.main import dbtRunner

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix=f"activation-{args.adapter}-"))
    work.mkdir(parents=True, exist_ok=True)
    profile = {"target": args.adapter, "outputs": {args.adapter: PROFILES[args.adapter]}}
    (work / "profiles.yml").write_text(yaml.safe_dump({PACKAGE: profile}))
    target = work / "target"

    offline_adapter(args.adapter)
    resolved: dict[str, set] = {}
    record_dispatch(resolved)

    common = ["--profiles-dir", str(work), "--project-dir", str(ROOT), "--target-path", str(target),
              "--log-path", str(work / "logs"), "--vars", args.vars, "--quiet"]
    runner = dbtRunner()
    problems = []
    for command in (["parse", "--no-partial-parse"], ["compile", "--no-populate-cache", "--no-introspect"]):
        result = runner.invoke([*command, *common])
        if not result.success:
            problems.append(f"dbt {command[0]} failed: {result.exception or result.result}")
            break
        print(f"{args.adapter}: dbt {command[0]} ok", flush=True)

    if not problems:
        files = compiled_files(target)
        if not files:
            problems.append(f"no compiled SQL under {target}")
        for path in files:
            sql = path.read_text()
            try:
                statements = sqlglot.parse(sql, read=DIALECTS[args.adapter], error_level=sqlglot.ErrorLevel.RAISE)
            except sqlglot.errors.SqlglotError as error:
                problems.append(f"{path.relative_to(target / 'compiled')}: sqlglot ({DIALECTS[args.adapter]}): "
                                f"{str(error).splitlines()[0][:400]}")
                continue
            unknown = {call.name.lower() for statement in statements if statement is not None
                       for call in statement.find_all(sqlglot.exp.Anonymous)}
            for name in sorted(unknown - DOCUMENTED_FUNCTIONS[args.adapter]):
                problems.append(f"{path.relative_to(target / 'compiled')}: function {name}() is not known in "
                                f"{args.adapter}'s dialect (another engine's function?)")
        print(f"{args.adapter}: {len(files)} compiled files parsed by sqlglot ({DIALECTS[args.adapter]})", flush=True)

        for macro_name, names in sorted(resolved.items()):
            for name in sorted(names):
                if name.startswith(FOREIGN_PREFIXES) and not name.startswith(f"{args.adapter}__"):
                    problems.append(f"{macro_name} resolved to {name} (another engine's implementation) on "
                                    f"{args.adapter}: add {args.adapter}__{macro_name}")
        print(f"{args.adapter}: {len(resolved)} dispatched macros: "
              + json.dumps({name: sorted(found) for name, found in sorted(resolved.items())}), flush=True)

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print(f"FAIL {args.adapter}: {problem}", file=sys.stderr)
    print(f"{args.adapter}: {'FAILED' if problems else 'ok'}", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
