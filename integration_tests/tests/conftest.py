import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import EngineUnavailable, get_engine, get_engine_name  # noqa: E402
from harness import DbtBuilder, make_workdir, remove_workdir  # noqa: E402

SESSION = pytest.StashKey[tuple]()


def pytest_configure(config):
    """Open the session's engine (ACTIVATION_ENGINE, default duckdb) before any test runs,
    so an unreachable database stops the run with one line saying what to do."""
    workdir = make_workdir()
    try:
        engine = get_engine(workdir)
    except EngineUnavailable as error:
        remove_workdir(workdir)
        pytest.exit(str(error), returncode=2)
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        # pytest-xdist controller: it runs no test; each worker opens an engine of its own.
        engine.close()
        remove_workdir(workdir)
        return
    config.stash[SESSION] = (workdir, engine)


def pytest_unconfigure(config):
    workdir, engine = config.stash.get(SESSION, (None, None))
    if engine is not None:
        engine.close()
        remove_workdir(workdir)


def pytest_report_header(config):
    engine = get_engine_name()
    return f"activation engine: {engine} (ACTIVATION_ENGINE)"


@pytest.fixture(scope="session")
def dbt_builder(pytestconfig):
    workdir, engine = pytestconfig.stash[SESSION]
    return DbtBuilder(workdir, engine=engine)


def pytest_collection_modifyitems(config, items):
    """Cross-engine tests compare the session's engine with DuckDB; on DuckDB itself
    they would compare DuckDB with DuckDB, so they are deselected there."""
    if get_engine_name() != "duckdb":
        return
    kept = [item for item in items if item.get_closest_marker("cross_engine") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
