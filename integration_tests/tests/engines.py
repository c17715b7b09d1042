"""The database engines the integration tests run on.

The harness (harness.py) talks to the database only through an `Engine`: it writes
the raw tables, runs dbt with the engine's target and environment, and reads the
marts back as plain Python values. `get_engine` picks the engine from the environment
variable ACTIVATION_ENGINE: `duckdb` (default), `postgres`, `spark` or `snowflake`
(the Snowflake emulator, engine_snowflake.py).

Every engine builds with the dbt target schema `main`: marts land in `main_activation`,
staging in `main_activation_staging`, seeds in `main_activation_config` and the raw
tables in `raw`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from decimal import Decimal
from pathlib import Path

# Schemas a build creates; `reset` drops them all.
BUILT_SCHEMAS = ("main_activation", "main_activation_staging", "main_activation_config", "raw")


class EngineUnavailable(Exception):
    """The engine cannot be used here; the message is one line saying what to do."""


def normalise_value(value):
    """A database value as the plain Python value the tests compare with."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return normalise_value(value.item())
    return value


def normalise_row(names, row):
    return {name: normalise_value(value) for name, value in zip(names, row)}


class Engine:
    """What the harness needs from a database engine (see the module docstring)."""

    name: str = ""
    target: str = ""

    def __init__(self, workdir):
        self.workdir = Path(workdir)

    def dbt_env(self) -> dict:
        """Environment variables dbt needs for this engine, set before each dbt invoke."""
        return {}

    def before_invoke(self) -> None:
        """Run before each in-process dbt invoke."""

    def after_invoke(self) -> None:
        """Run after each in-process dbt invoke."""

    def write_raw_tables(self, tables: dict, schema: str = "raw") -> None:
        """`tables`: {name: (columns {name: duckdb-style type}, rows [dict])}. Creates or
        replaces each table in `schema` with exactly those rows. Types: varchar, integer,
        double, boolean."""
        raise NotImplementedError

    def append_raw_rows(self, table: str, columns: dict, rows: list, schema: str = "raw") -> None:
        """Append rows to an existing raw table."""
        raise NotImplementedError

    def query(self, sql: str) -> list[dict]:
        """Rows as dicts of plain Python values (see `normalise_value`)."""
        raise NotImplementedError

    def list_tables(self, schema: str) -> list[str]:
        """Names of the tables (not views) in `schema`, sorted."""
        rows = self.query(
            "select table_name from information_schema.tables "
            f"where table_schema = '{schema}' and table_type = 'BASE TABLE' order by table_name")
        return [row["table_name"] for row in rows]

    def reset(self) -> None:
        """Drop every schema a build creates, for a fresh state."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and anything the engine created for this session."""


# --------------------------------------------------------------------------- DuckDB


class DuckDBEngine(Engine):
    """One DuckDB file in the session's work folder.

    The harness keeps one connection to the file between dbt commands (opening the file
    costs more than reading a small mart) and closes it before each dbt command, which
    opens the file with settings of its own."""

    name = "duckdb"
    target = "duckdb"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.database_path = self.workdir / "activation.duckdb"
        self._con = None

    def _connection(self):
        import duckdb

        if self._con is None:
            self._con = duckdb.connect(str(self.database_path))
        return self._con

    def _disconnect(self):
        if self._con is not None:
            self._con.close()
            self._con = None

    def dbt_env(self):
        return {"ACTIVATION_DUCKDB_PATH": str(self.database_path)}

    def before_invoke(self):
        self._disconnect()

    def after_invoke(self):
        """Release the file: dbt-duckdb keeps it open in a process-wide environment, and
        the harness's own connection is closed too (tests call this before copying the
        file or running dbt in another process)."""
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        self._disconnect()
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
            DuckDBConnectionManager._ENV = None

    def _insert(self, con, schema, table, columns, rows):
        if not rows:
            return
        import pandas as pd

        # One insert from a data frame: executemany costs ~2 ms a row on DuckDB.
        frame = pd.DataFrame([[row.get(name) for name in columns] for row in rows],
                             columns=list(columns), dtype=object)
        casts = ", ".join(f'cast("{name}" as {type_}) as "{name}"' for name, type_ in columns.items())
        con.register("_activation_raw_rows", frame)
        try:
            con.execute(f'insert into "{schema}"."{table}" select {casts} from _activation_raw_rows')
        finally:
            con.unregister("_activation_raw_rows")

    def write_raw_tables(self, tables, schema="raw"):
        con = self._connection()
        con.execute(f'create schema if not exists "{schema}"')
        for table, (columns, rows) in tables.items():
            ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
            con.execute(f'create or replace table "{schema}"."{table}" ({ddl})')
            self._insert(con, schema, table, columns, rows)

    def append_raw_rows(self, table, columns, rows, schema="raw"):
        self._insert(self._connection(), schema, table, columns, rows)

    def query(self, sql):
        cursor = self._connection().cursor()
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [normalise_row(names, row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def reset(self):
        con = self._connection()
        for schema in BUILT_SCHEMAS:
            con.execute(f'drop schema if exists "{schema}" cascade')

    def close(self):
        self._disconnect()


# --------------------------------------------------------------------------- PostgreSQL

PG_TYPES = {"varchar": "text", "integer": "integer", "double": "double precision", "boolean": "boolean"}
SESSION_DATABASE_PREFIX = "activation_test_"


class PostgresEngine(Engine):
    """A database of its own on the PostgreSQL server for each test session.

    Connection settings come from the same environment variables as the dbt profile
    (ACTIVATION_PG_HOST, _PORT, _USER, DBT_ENV_SECRET_ACTIVATION_PG_PASSWORD) with the
    defaults of scripts/postgres.sh. ACTIVATION_PG_DATABASE names the database the
    session database is created from (the role needs CREATEDB); the session database
    `activation_test_<pid>_<random>` is dropped by `close`, so sessions running at the
    same time never share tables.
    """

    name = "postgres"
    target = "postgres"

    def __init__(self, workdir):
        super().__init__(workdir)
        self.host = os.environ.get("ACTIVATION_PG_HOST", "127.0.0.1")
        self.port = int(os.environ.get("ACTIVATION_PG_PORT", "5433"))
        self.user = os.environ.get("ACTIVATION_PG_USER", "activation")
        self.password = os.environ.get("DBT_ENV_SECRET_ACTIVATION_PG_PASSWORD", "activation")
        self.admin_database = os.environ.get("ACTIVATION_PG_DATABASE", "activation")
        self.database = f"{SESSION_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
        self._con = None
        admin = self._admin_connect()
        try:
            with admin.cursor() as cursor:
                self._drop_abandoned_databases(cursor)
                cursor.execute(f'create database "{self.database}"')
        finally:
            admin.close()
        self._con = self._connect(self.database)

    def _connect(self, database):
        import psycopg2

        con = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=database, connect_timeout=5, options="-c timezone=UTC")
        con.autocommit = True
        return con

    def _admin_connect(self):
        import psycopg2

        try:
            return self._connect(self.admin_database)
        except psycopg2.OperationalError as error:
            lines = str(error).strip().splitlines() or ["no answer"]
            reason = re.sub(r"^connection to server at .*? failed: ", "", lines[0])
            reason = re.sub(r"^FATAL:\s*", "", reason).strip()
            raise EngineUnavailable(
                f"PostgreSQL is not reachable at {self.host}:{self.port} as {self.user}/{self.admin_database} "
                f"({reason}) - run 'make postgres' (scripts/postgres.sh) first") from None

    def _drop_abandoned_databases(self, cursor):
        """Drop session databases left by test sessions that were killed (local server only)."""
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            return
        cursor.execute("select datname from pg_database where datname like %s", (SESSION_DATABASE_PREFIX + "%",))
        for (name,) in cursor.fetchall():
            match = re.fullmatch(rf"{SESSION_DATABASE_PREFIX}(\d+)_[0-9a-f]+", name)
            if match and not Path(f"/proc/{match.group(1)}").exists():
                cursor.execute(f'drop database if exists "{name}" with (force)')

    def dbt_env(self):
        return {"ACTIVATION_PG_DATABASE": self.database}

    def _table_columns(self, cursor, schema, table):
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position", (schema, table))
        return cursor.fetchall()

    def _insert(self, cursor, schema, table, columns, rows):
        if not rows:
            return
        from psycopg2.extras import execute_values

        names = ", ".join(f'"{name}"' for name in columns)
        execute_values(cursor, f'insert into "{schema}"."{table}" ({names}) values %s',
                       [tuple(row.get(name) for name in columns) for row in rows], page_size=2000)

    def write_raw_tables(self, tables, schema="raw"):
        with self._con.cursor() as cursor:
            cursor.execute(f'create schema if not exists "{schema}"')
            for table, (columns, rows) in tables.items():
                pg_columns = {name: PG_TYPES.get(type_.lower(), type_) for name, type_ in columns.items()}
                existing = self._table_columns(cursor, schema, table)
                if existing == list(pg_columns.items()):
                    # Keep the table: dropping it would also drop the staging views on it.
                    cursor.execute(f'truncate table "{schema}"."{table}"')
                else:
                    cursor.execute(f'drop table if exists "{schema}"."{table}" cascade')
                    ddl = ", ".join(f'"{name}" {type_}' for name, type_ in pg_columns.items())
                    cursor.execute(f'create table "{schema}"."{table}" ({ddl})')
                self._insert(cursor, schema, table, columns, rows)

    def append_raw_rows(self, table, columns, rows, schema="raw"):
        with self._con.cursor() as cursor:
            self._insert(cursor, schema, table, columns, rows)

    def query(self, sql):
        with self._con.cursor() as cursor:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [normalise_row(names, row) for row in cursor.fetchall()]

    def reset(self):
        with self._con.cursor() as cursor:
            for schema in BUILT_SCHEMAS:
                cursor.execute(f'drop schema if exists "{schema}" cascade')

    def close(self):
        if self._con is None:
            return
        self._con.close()
        self._con = None
        try:
            admin = self._admin_connect()
        except EngineUnavailable:
            return  # the server went away; the next session drops the abandoned database
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'drop database if exists "{self.database}" with (force)')
        finally:
            admin.close()


# --------------------------------------------------------------------------- choice

ENGINES = ("duckdb", "postgres", "spark", "snowflake")


def get_engine_name() -> str:
    """The engine named by ACTIVATION_ENGINE (default duckdb)."""
    return os.environ.get("ACTIVATION_ENGINE", "duckdb").strip().lower() or "duckdb"


def get_engine(workdir) -> Engine:
    """The engine named by ACTIVATION_ENGINE (default duckdb) for a session working in `workdir`.
    Raises EngineUnavailable (a one-line message) when it cannot be used."""
    name = get_engine_name()
    if name == "duckdb":
        return DuckDBEngine(workdir)
    if name == "postgres":
        return PostgresEngine(workdir)
    if name == "spark":
        from engine_spark import SparkEngine

        return SparkEngine(workdir)
    if name == "snowflake":
        from engine_snowflake import SnowflakeEngine

        return SnowflakeEngine(workdir)
    raise EngineUnavailable(f"ACTIVATION_ENGINE={name!r} is not one of {', '.join(ENGINES)}")
