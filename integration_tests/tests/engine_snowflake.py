"""Snowflake engine for the integration tests: the Snowflake emulator on loopback.

`scripts/snowflake_emulator.sh start` runs fakesnow's HTTP server (Snowflake's REST API
over an in-memory DuckDB, SQL translated by sqlglot) with the fixes of
`scripts/snowflake_emulator.py`. dbt connects with dbt-snowflake and this engine with the
Snowflake Python connector, both as to a real account (`protocol: http`). Settings come
from ACTIVATION_SNOWFLAKE_HOST and _PORT (defaults 127.0.0.1:8765, the script's).

Each test session works in a database of its own, `ACTIVATION_TEST_<pid>_<random>`,
dropped by `close`. Raw tables are loaded as Snowflake loads files: a Parquet file
PUT to a temporary stage, then COPY INTO (MATCH_BY_COLUMN_NAME).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from engines import BUILT_SCHEMAS, Engine, EngineUnavailable, normalise_row

# duckdb-style type names of the harness's raw tables -> Snowflake types
SNOWFLAKE_TYPES = {"varchar": "varchar", "integer": "integer", "double": "double", "boolean": "boolean",
                   "bigint": "bigint", "timestamp": "timestamp_ntz", "date": "date"}
ARROW_TYPES = {"varchar": "string", "integer": "int64", "double": "float64", "boolean": "bool",
               "bigint": "int64", "timestamp": "timestamp[us]", "date": "date32"}
SESSION_DATABASE_PREFIX = "ACTIVATION_TEST_"
STAGE = "activation_test_load"  # + a random suffix per load


def _identifier(name: str) -> str:
    """An unquoted identifier (Snowflake upper-cases it), checked to be one."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


class SnowflakeEngine(Engine):
    name = "snowflake"
    target = "snowflake"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.host = os.environ.get("ACTIVATION_SNOWFLAKE_HOST", "127.0.0.1")
        self.port = int(os.environ.get("ACTIVATION_SNOWFLAKE_PORT", "8765"))
        self.database = f"{SESSION_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(3)}".upper()
        self._con = None
        try:
            self._con = self._connect()
        except Exception as error:  # the connector's errors have no common base worth naming here
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise EngineUnavailable(
                f"the Snowflake emulator is not reachable at {self.host}:{self.port} ({first}) - "
                f"run 'make snowflake-emulator' (scripts/snowflake_emulator.sh start) first") from None
        self._execute(f"create database if not exists {self.database}")
        self._execute(f"use database {self.database}")

    def _connect(self):
        import snowflake.connector

        return snowflake.connector.connect(
            host=self.host, port=self.port, protocol="http", account="fakesnow", user="fake", password="snow",
            login_timeout=10, network_timeout=120, socket_timeout=120)

    def _execute(self, sql):
        cursor = self._con.cursor()
        try:
            cursor.execute(sql)
            names = [d[0].lower() for d in cursor.description or []]
            return [normalise_row(names, row) for row in cursor.fetchall()] if names else []
        finally:
            cursor.close()

    def dbt_env(self):
        return {"ACTIVATION_SNOWFLAKE_DATABASE": self.database}

    def _load(self, schema, table, columns, rows):
        """Rows in as Snowflake loads files: Parquet, PUT to a stage, COPY INTO."""
        if not rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow_schema = pa.schema([(name, ARROW_TYPES.get(type_.lower(), "string")) for name, type_ in columns.items()])
        data = pa.table({name: [row.get(name) for row in rows] for name in columns}, schema=arrow_schema)
        # A temporary stage of its own per load (gone with the session): COPY INTO reads
        # every file of a stage, and skips a file name it has loaded before.
        stage = f"{schema}.{STAGE}_{secrets.token_hex(6)}"
        before = self._execute(f"select count(*) as n from {schema}.{table}")[0]["n"]
        with tempfile.TemporaryDirectory(dir=self.workdir) as folder:
            path = Path(folder) / f"{table}.parquet"
            pq.write_table(data, path)
            self._execute(f"create temporary stage {stage}")
            self._execute(f"put file://{path} @{stage}")
            self._execute(f"copy into {schema}.{table} from @{stage} "
                          "file_format = (type = parquet) match_by_column_name = case_insensitive purge = true")
        loaded = self._execute(f"select count(*) as n from {schema}.{table}")[0]["n"] - before
        if loaded != len(rows):
            raise AssertionError(f"COPY INTO {schema}.{table} loaded {loaded} rows of the {len(rows)} written")

    def write_raw_tables(self, tables, schema="raw"):
        schema = _identifier(schema)
        self._execute(f"create schema if not exists {schema}")
        for table, (columns, rows) in tables.items():
            table = _identifier(table)
            ddl = ", ".join(f"{_identifier(name)} {SNOWFLAKE_TYPES.get(type_.lower(), type_)}"
                            for name, type_ in columns.items())
            self._execute(f"create or replace table {schema}.{table} ({ddl})")
            self._load(schema, table, columns, rows)

    def append_raw_rows(self, table, columns, rows, schema="raw"):
        self._load(_identifier(schema), _identifier(table), columns, rows)

    def query(self, sql):
        return self._execute(sql)

    def list_tables(self, schema):
        rows = self._execute(
            "select table_name from information_schema.tables "
            f"where table_schema = upper('{_identifier(schema)}') and table_type = 'BASE TABLE' order by table_name")
        return sorted(row["table_name"].lower() for row in rows)

    def reset(self):
        for schema in BUILT_SCHEMAS:
            self._execute(f"drop schema if exists {schema} cascade")

    def close(self):
        if self._con is None:
            return
        try:
            self._execute(f"drop database if exists {self.database}")
        finally:
            self._con.close()
            self._con = None
