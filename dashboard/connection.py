"""Where the dashboard reads the marts: a target of your dbt profile.

The connection setting is the dbt target the package was built with: the dashboard reads
`profiles.yml` (folder from `--profiles-dir`, `DBT_PROFILES_DIR` or `~/.dbt`), renders its
`env_var(...)` calls like dbt does, takes the output named by `--target`
(`ACTIVATION_DASHBOARD_TARGET`, default the profile's own default target) and reads the marts
from `<target schema>_activation` (`--schema` / `ACTIVATION_MARTS_SCHEMA` to override).
Engines: DuckDB (read-only file), PostgreSQL (psycopg2) and Spark (a local session with the
target's `server_side_parameters`, as dbt-spark's `method: session` uses).
"""

from __future__ import annotations

import argparse
import os
from decimal import Decimal
from pathlib import Path

import jinja2
import pandas as pd
import yaml

PROFILE_NAME = "milestone_activation"


def parse_settings(argv: list[str]) -> dict:
    """The connection settings from the script's arguments and the environment."""
    parser = argparse.ArgumentParser(description="milestone_activation dashboard")
    parser.add_argument("--profiles-dir", default=os.environ.get("DBT_PROFILES_DIR", str(Path.home() / ".dbt")))
    parser.add_argument("--profile", default=os.environ.get("ACTIVATION_DASHBOARD_PROFILE", PROFILE_NAME))
    parser.add_argument("--target", default=os.environ.get("ACTIVATION_DASHBOARD_TARGET"))
    parser.add_argument("--schema", default=os.environ.get("ACTIVATION_MARTS_SCHEMA"),
                        help="schema of the marts (default: <target schema>_activation)")
    args = parser.parse_args(argv)
    return vars(args)


def _env_var(name, default=None):
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise KeyError(f"profiles.yml needs the environment variable {name}")
    return default


def _render(value):
    """Render dbt's `{{ env_var(...) }}` templates in every text of the profile."""
    if isinstance(value, dict):
        return {key: _render(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item) for item in value]
    if isinstance(value, str) and "{{" in value:
        return jinja2.Environment().from_string(value).render(env_var=_env_var)
    return value


def load_target(settings: dict) -> dict:
    """The rendered output of the profile that `settings` names."""
    path = Path(settings["profiles_dir"]) / "profiles.yml"
    if not path.exists():
        raise FileNotFoundError(f"no profiles.yml in {path.parent} (set --profiles-dir or DBT_PROFILES_DIR)")
    profiles = yaml.safe_load(path.read_text())
    profile = profiles.get(settings["profile"])
    if profile is None:
        raise KeyError(f"profile {settings['profile']!r} not found in {path}")
    target_name = settings["target"] or _render(profile.get("target"))
    outputs = profile.get("outputs", {})
    if target_name not in outputs:
        raise KeyError(f"target {target_name!r} not in profile {settings['profile']!r} ({', '.join(outputs)})")
    target = _render(outputs[target_name])
    target["name"] = target_name
    return target


class Marts:
    """Read-only access to the marts of one target: `read(sql)` gives a DataFrame; `{marts}`
    in the SQL is replaced by the quoted marts schema."""

    def __init__(self, settings: dict):
        self.target = load_target(settings)
        self.engine = self.target["type"]
        self.schema = settings["schema"] or f"{self.target.get('schema', 'main')}_activation"
        if self.engine not in ("duckdb", "postgres", "spark"):
            raise ValueError(f"engine {self.engine!r} is not supported (duckdb, postgres or spark)")
        self._spark = None

    @property
    def description(self) -> str:
        where = {
            "duckdb": lambda: str(self.target.get("path", "")),
            "postgres": lambda: f"{self.target.get('host')}:{self.target.get('port')}/{self.target.get('dbname')}",
            "spark": lambda: "local Spark session",
        }[self.engine]()
        return f"{self.engine} target {self.target['name']!r}, {where}, schema {self.schema}"

    def _quoted_schema(self) -> str:
        return f"`{self.schema}`" if self.engine == "spark" else f'"{self.schema}"'

    def read(self, sql: str) -> pd.DataFrame:
        sql = sql.replace("{marts}", self._quoted_schema())
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(self.target["path"], read_only=True)
            try:
                return con.execute(sql).df()
            finally:
                con.close()
        if self.engine == "postgres":
            import psycopg2

            con = psycopg2.connect(host=self.target["host"], port=int(self.target["port"]),
                                   user=self.target["user"], password=self.target.get("password", ""),
                                   dbname=self.target["dbname"])
            try:
                with con.cursor() as cursor:
                    cursor.execute(sql)
                    names = [column[0] for column in cursor.description]
                    frame = pd.DataFrame(cursor.fetchall(), columns=names)
                # numeric columns (sums) arrive as Decimal: plain floats for pandas and charts
                for name in frame.columns:
                    if frame[name].map(lambda value: isinstance(value, Decimal)).any():
                        frame[name] = frame[name].map(lambda value: None if value is None else float(value))
                return frame
            finally:
                con.close()
        return self._spark_session().sql(sql).toPandas()

    def table_exists(self, name: str) -> bool:
        if self.engine == "spark":
            return bool(self._spark_session().catalog.tableExists(f"{self.schema}.{name}"))
        frame = self.read(
            "select count(*) as n from information_schema.tables "
            f"where table_schema = '{self.schema}' and table_name = '{name}'")
        return int(frame["n"].iloc[0]) > 0

    def _spark_session(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.enableHiveSupport().appName("milestone_activation_dashboard")
            for key, value in (self.target.get("server_side_parameters") or {}).items():
                builder = builder.config(key, str(value))
            self._spark = builder.getOrCreate()
        return self._spark
