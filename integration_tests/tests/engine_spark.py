"""Spark engine for the integration tests: pyspark in local mode, in this process.

dbt-spark's `method: session` runs every statement through
`SparkSession.builder...getOrCreate()`, so the session this engine starts is the one dbt
uses: raw tables written here are the tables dbt reads, and marts dbt writes are read
back here without a server. The session's settings come from the `spark` target of
`integration_tests/profiles.yml` (rendered the way dbt renders them), so the two can
never differ. Spark's warehouse, Derby metastore and derby.log go under
`<workdir>/spark` (env ACTIVATION_SPARK_DIR), outside the repository.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from engines import Engine
except ImportError:  # the engine-neutral harness is not on this branch yet
    Engine = object

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROFILE_NAME = "milestone_activation_integration_tests"
JAVA_REQUIRED = 17
JAVA_HINT = f"Java {JAVA_REQUIRED} is required for Spark: apt-get install openjdk-{JAVA_REQUIRED}-jre-headless"

# duckdb-style type names of the harness's raw tables -> Spark SQL types
SPARK_TYPES = {"varchar": "string", "integer": "int", "double": "double", "boolean": "boolean",
               "bigint": "bigint", "timestamp": "timestamp", "date": "date"}


def java_problem():
    """None when a Java runtime new enough for Spark is on PATH (or JAVA_HOME), else one line saying what to install."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        return JAVA_HINT
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return JAVA_HINT
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or not match:
        return JAVA_HINT
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_392" is Java 8
        major = int(match.group(2))
    if major < JAVA_REQUIRED:
        return f"{JAVA_HINT} (found Java {major})"
    return None


def require_java():
    """Stop with one line (no stack trace) when Java is missing or too old."""
    problem = java_problem()
    if problem is None:
        return
    if "pytest" in sys.modules:
        import pytest

        pytest.exit(problem, returncode=4)
    raise SystemExit(problem)


def profile_settings(profiles_dir=PROJECT_DIR, target="spark"):
    """The target's `server_side_parameters`, rendered with the current environment as dbt would."""
    import jinja2
    import yaml

    profile = yaml.safe_load((Path(profiles_dir) / "profiles.yml").read_text())
    output = profile[PROFILE_NAME]["outputs"][target]

    def env_var(name, default=None):
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise KeyError(f"env var {name} is not set and has no default")
        return default

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    settings = {str(key): environment.from_string(str(value)).render(env_var=env_var)
                for key, value in output.get("server_side_parameters", {}).items()}
    # dbt-spark adds this to every connection; the session must match what dbt runs.
    settings["spark.sql.ansi.enabled"] = "false"
    return settings


def _coerce(value, type_):
    """A Python value as the raw column's type, converted the way DuckDB casts on insert."""
    if value is None:
        return None
    type_ = type_.lower()
    if type_ == "varchar":
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)
    if type_ in ("integer", "bigint"):
        return int(value)
    if type_ == "double":
        return float(value)
    if type_ == "boolean":
        return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "t", "1", "yes")
    return value


def _plain(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


class SparkEngine(Engine):
    """The harness's engine interface on an in-process local SparkSession."""

    name = "spark"
    target = "spark"

    def __init__(self, workdir):
        require_java()
        self.workdir = Path(workdir)
        self.spark_dir = self.workdir / "spark"
        self.spark_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(self.dbt_env())
        self.settings = profile_settings()
        self._spark = None

    # ------------------------------------------------------------------ session

    @property
    def spark(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.enableHiveSupport().appName("milestone_activation_tests")
            for key, value in self.settings.items():
                builder = builder.config(key, value)
            self._spark = builder.getOrCreate()
            self._spark.sparkContext.setLogLevel("ERROR")
        return self._spark

    def dbt_env(self):
        # SPARK_LOCAL_IP keeps Spark's startup from looking up a non-loopback address.
        return {"ACTIVATION_SPARK_DIR": str(self.spark_dir), "SPARK_LOCAL_IP": "127.0.0.1"}

    def before_invoke(self):
        """Start the session first, so dbt's session method picks up this one."""
        _ = self.spark

    def after_invoke(self):
        pass

    # ------------------------------------------------------------------ raw tables

    def _frame(self, columns, rows):
        schema = ", ".join(f"`{name}` {SPARK_TYPES[type_.lower()]}" for name, type_ in columns.items())
        data = [tuple(_coerce(row.get(name), type_) for name, type_ in columns.items()) for row in rows]
        return self.spark.createDataFrame(data, schema=schema)

    def write_raw_tables(self, tables, schema="raw"):
        self.spark.sql(f"create database if not exists {schema}")
        for table, (columns, rows) in tables.items():
            self.spark.sql(f"drop table if exists {schema}.{table}")
            self._frame(columns, rows).write.format("parquet").saveAsTable(f"{schema}.{table}")

    def append_raw_rows(self, table, columns, rows, schema="raw"):
        self._frame(columns, rows).write.format("parquet").mode("append").saveAsTable(f"{schema}.{table}")

    # ------------------------------------------------------------------ reading

    def query(self, sql):
        from pyspark.sql import functions as F
        from pyspark.sql.types import TimestampType

        frame = self.spark.sql(sql)
        # Timestamps are instants in Spark; read them as UTC wall-clock time (naive), the
        # way the other engines return them, whatever the Python process's time zone.
        frame = frame.select(*[
            F.col(f"`{field.name}`").cast("timestamp_ntz").alias(field.name)
            if isinstance(field.dataType, TimestampType) else F.col(f"`{field.name}`")
            for field in frame.schema.fields
        ])
        names = frame.columns
        return [{name: _plain(value) for name, value in zip(names, row)} for row in frame.collect()]

    # ------------------------------------------------------------------ lifecycle

    def list_tables(self, schema):
        # Spark has no information_schema; the catalog knows tables from views.
        tables = self.spark.catalog.listTables(schema)
        return sorted(table.name for table in tables if table.tableType != "VIEW" and not table.isTemporary)

    def reset(self):
        """Drop the raw schema and every schema the package builds (target schema `main`)."""
        for row in self.spark.sql("show databases").collect():
            database = row[0]
            if database == "raw" or database == "main" or database.startswith("main_"):
                self.spark.sql(f"drop database if exists {database} cascade")

    def close(self):
        if self._spark is not None:
            self._spark.stop()
            self._spark = None


if __name__ == "__main__":
    # `python engine_spark.py`: exit 0 silently when Java is fine, else print the one line.
    problem = java_problem()
    if problem:
        print(problem)
        sys.exit(1)
