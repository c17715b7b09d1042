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


# Scheduling (pytest-xdist, `--dist loadgroup`; Makefile XDIST). Tests that read the
# same module-scoped build (a module fixture that runs dbt) go to one worker, which makes
# the build once; with plain `--dist load` each worker would make it again. Where a
# module's builds are per data set, its tests are grouped per data set instead, so the
# data sets spread over the workers (None: a test that makes builds of its own only).
# The randomised tests draw their vars from the same few sets: on one worker, each set
# is parsed once (harness.DbtBuilder keeps the parsed project per set of vars).
WHOLE_MODULE = ("test_randomised",)
SPLIT_BY_DATA_SET = {
    "test_incremental": lambda module, params: params.get("seed"),
    "test_crash_safety": lambda module, params: module.DATASET_SEEDS[params["sequence"] % len(module.DATASET_SEEDS)],
}

# The workers take groups, and tests outside groups, in collection order: the longest
# come first (a long test started last would leave the other worker idle at the end),
# in this order, by their share of a suite's time (`--durations`); the rest keep theirs.
LONGEST_FIRST = (
    "test_randomised.py::test_per_user_marts_equal_reference_on_random_data",
    "test_cross_engine.py",
    "test_randomised.py::test_bi_marts_equal_reference_on_random_data",
    "test_input_changes.py",
    "test_crash_safety.py",
    "test_incremental.py",
    "test_survival_experiments.py",
    "test_statistics.py",
    "test_consumer_project.py",
)


# Pure Python test modules (the references against hand-worked values, scipy, lifelines,
# scikit-learn): they open no engine, so `make test` runs them once, in the DuckDB suite;
# the other engines' suites deselect them with `-m "not engine_independent"`.
ENGINE_INDEPENDENT = ("test_bi_reference_rules", "test_reference_accounts", "test_reference_effect_sizes",
                      "test_reference_rules", "test_reference_start_date", "test_reference_survival_extras")


def _module_fixture_names(module):
    return {name for name, value in vars(module).items()
            if getattr(getattr(value, "_fixture_function_marker", None), "scope", None) == "module"}


def xdist_group(item):
    """The group of tests `item` shares builds with, or None."""
    if item.module.__name__ in WHOLE_MODULE:
        return item.module.__name__
    shared = _module_fixture_names(item.module)
    # A test asking for `request` can get any of the module's fixtures while it runs.
    if not shared & set(item.fixturenames) and "request" not in item._fixtureinfo.argnames:
        return None
    name = item.module.__name__
    if name in SPLIT_BY_DATA_SET:
        params = getattr(getattr(item, "callspec", None), "params", {})
        key = SPLIT_BY_DATA_SET[name](item.module, params)
        return None if key is None else f"{name}-{key}"
    return name


def _rank(item):
    for index, prefix in enumerate(LONGEST_FIRST):
        if prefix in item.nodeid:
            return index
    return len(LONGEST_FIRST)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Cross-engine tests compare the session's engine with DuckDB; on DuckDB itself
    they would compare DuckDB with DuckDB, so they are deselected there. The longest
    tests are moved to the front and tests sharing builds are grouped (see above)."""
    if get_engine_name() == "duckdb":
        kept = [item for item in items if item.get_closest_marker("cross_engine") is None]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item not in kept])
            items[:] = kept
    for item in items:
        if item.module.__name__ in ENGINE_INDEPENDENT:
            if "dbt_builder" in item.fixturenames:
                raise pytest.UsageError(f"{item.nodeid} builds with dbt: it is not engine independent (conftest.py)")
            item.add_marker(pytest.mark.engine_independent)
    items.sort(key=_rank)  # stable: collection order within each rank
    for item in items:
        group = xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


GROUPING_PROBLEM = pytest.StashKey[str]()


def pytest_collection_finish(session):
    """On a pytest-xdist worker with `--dist loadgroup`, xdist has appended each test's
    group to its node id (`...::test@group`): the controller schedules by that suffix.
    pytest-xdist 3.8 writes it to an attribute pytest 9 no longer reads; every test is
    then scheduled on its own and the builds above are made once per worker. Every test
    then fails saying so (requirements.txt pins pytest below 9 for this)."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    for item in session.items:
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid:
            session.config.stash[GROUPING_PROBLEM] = (
                f"pytest-xdist did not apply the xdist_group of {item.nodeid} (`--dist loadgroup`), so "
                f"tests that share builds would each make them again: use the pytest and pytest-xdist "
                f"versions requirements.txt pins (`make env`), or run without -n")
            return


def pytest_runtest_setup(item):
    problem = item.config.stash.get(GROUPING_PROBLEM, None)
    if problem:
        pytest.fail(problem, pytrace=False)
