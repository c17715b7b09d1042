"""The BI layer's checks (`make test-bi`): one demo build per session, shared by the
MetricFlow checks and the dashboard's browser test.

The demo is built exactly as `make demo` builds it (scripts/build_demo.py: the generator's
5,000 users, `dbt seed`, `dbt build` with the semantic layer on), but in a project folder of
its own: a temporary folder of symlinks to the package's files, so its `target/` (where
`mf` reads `semantic_manifest.json`), `logs/` and DuckDB file never touch the checkout.
Screenshots and logs go to ACTIVATION_BI_ARTIFACTS (default integration_tests/artifacts/bi).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# What the build needs of the package; target/, logs/, demo/ and .dbt/ stay out.
PROJECT_ENTRIES = ("dbt_project.yml", "packages.yml", "models", "macros", "seeds", "tests",
                   "analyses", "scripts")


@dataclass
class DemoBuild:
    project: Path
    profiles_dir: Path
    database: Path
    vars: dict
    seconds: float

    @property
    def env(self) -> dict:
        """Environment for dbt, mf and the dashboard on this build."""
        return dict(os.environ, ACTIVATION_DUCKDB_PATH=str(self.database),
                    DBT_PROFILES_DIR=str(self.profiles_dir), DBT_PROJECT_DIR=str(self.project),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false")

    def query(self, sql: str) -> list[dict]:
        con = duckdb.connect(str(self.database), read_only=True)
        try:
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            con.close()


def make_project(folder: Path) -> tuple[Path, Path]:
    project = folder / "project"
    project.mkdir()
    for name in PROJECT_ENTRIES:
        (project / name).symlink_to(ROOT / name)
    profiles_dir = folder / "profiles"
    profiles_dir.mkdir()
    shutil.copy(ROOT / "profiles.example.yml", profiles_dir / "profiles.yml")
    return project, profiles_dir


def build_demo(folder: Path, *extra_args: str) -> DemoBuild:
    project, profiles_dir = make_project(folder)
    database = folder / "activation.duckdb"
    started = time.monotonic()
    log = folder / "build_demo.log"
    with log.open("w") as output:
        completed = subprocess.run(
            [PYTHON, str(project / "scripts" / "build_demo.py"), "--duckdb", str(database),
             "--profiles-dir", str(profiles_dir), *extra_args],
            cwd=project, stdout=output, stderr=subprocess.STDOUT,
            env=dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false"))
    if completed.returncode != 0:
        raise AssertionError(f"demo build failed:\n{log.read_text()[-6000:]}")
    seconds = time.monotonic() - started
    vars_json = subprocess.run([PYTHON, str(project / "scripts" / "generate_data.py"), "--print-vars"],
                               cwd=project, check=True, capture_output=True, text=True).stdout
    return DemoBuild(project, profiles_dir, database, json.loads(vars_json), seconds)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(os.environ.get("ACTIVATION_BI_ARTIFACTS", ROOT / "integration_tests" / "artifacts" / "bi"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def demo(tmp_path_factory, artifacts) -> DemoBuild:
    build = build_demo(tmp_path_factory.mktemp("bi_demo"))
    print(f"\ndemo build: {build.seconds:.1f} s")
    return build


def pytest_report_header(config):
    return "BI layer checks: DuckDB demo build, MetricFlow, dashboard in headless Chromium"
