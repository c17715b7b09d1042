"""Incremental runs equal a full refresh.

Each case builds the whole dataset once in full, then builds again from empty, feeding
the same events in batches: random split points, events of an earlier batch arriving
late (inside the lookback window), duplicates of earlier events landing in later
batches (exact copies and re-sent event ids with a later time), and at least one
batch with nothing new. After the last batch every table in the marts schema must
equal the full build row for row. Split 0 of each data set runs every model on every
batch (a daily `dbt run`); the other splits run only the incremental models and the
models they read until the last batch, which is a plain `dbt run` (every other model
is rebuilt whole by any run, so its rows depend only on the state the batches left).

Floats are compared to 1e-9 relative: the same sums can be added in a different
order by the two builds. `activation_late_events.window_start_date` is the run's own
bookkeeping (null after a full build) and is left out.

Also: an event older than the lookback is counted in activation_late_events and the
data-quality mart and stops the run (never silently lost) until --full-refresh
applies it; a change in the milestone configuration rebuilds the derived incremental
models.
"""

import copy
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from harness import RAW_COLUMNS, BuildFailed, Dataset, assert_same_tables, event, milestone, user
from reference.activation_reference import parse_timestamp
from test_generated_data import read_seed

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_data.py"

SPLITS_PER_DATASET = int(os.environ.get("ACTIVATION_INCREMENTAL_SPLITS", "10"))
DATASET_SEEDS = [11, 12, 13, 14, 15][: int(os.environ.get("ACTIVATION_INCREMENTAL_DATASETS", "5"))]
LOOKBACK_DAYS = 3
BOOKKEEPING_COLUMNS = {"activation_late_events": {"window_start_date"}}


def generated_dataset(workdir, seed, users=50, events_per_user=25, days=30):
    """Generator data (with its bad rows) and the package's own milestone seeds, plus
    duplicates for the batches to deliver late: exact copies of some events and some
    event ids re-sent with a later time."""
    size = ["--users", str(users), "--events-per-user", str(events_per_user), "--days", str(days),
            "--seed", str(seed)]
    out = Path(workdir) / f"generated-{seed}"
    subprocess.run([sys.executable, str(GENERATOR), *size, "--csv-dir", str(out), "--quiet"], check=True)
    vars = json.loads(subprocess.run([sys.executable, str(GENERATOR), *size, "--print-vars"], check=True,
                                     capture_output=True, text=True).stdout)

    def read(name):
        with open(out / f"{name}.csv", newline="") as handle:
            return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]

    events = read("events")
    rng = random.Random(seed)
    copies = [dict(row) for row in rng.sample(events, 10)]
    with_ids = [row for row in events if row["event_id"] and parse_timestamp(row["event_timestamp"])]
    resent = []
    for row in rng.sample(with_ids, 10):
        later = parse_timestamp(row["event_timestamp"]) + dt.timedelta(hours=rng.randint(1, 30))
        resent.append(dict(row, event_timestamp=later.strftime("%Y-%m-%d %H:%M:%S")))
    dataset = Dataset(users=read("users"), events=[*events, *copies, *resent],
                      milestones=read_seed("activation_milestones"),
                      requirements=read_seed("activation_milestone_requirements"))
    vars.pop("activation_user_passthrough_columns", None)
    vars["activation_lookback_days"] = LOOKBACK_DAYS
    # Vars added to every incremental, crash and change test (e.g. `make test-spark` leaves
    # out the statistics marts there: they read only the per-user tables, rebuilt in full
    # on every run, and Spark pays per model; test_cross_engine checks them on Spark).
    vars.update(json.loads(os.environ.get("ACTIVATION_INCREMENTAL_EXTRA_VARS") or "{}"))
    return dataset, vars


def _window_start(rows, lookback_days):
    """First date the package re-reads after loading `rows`: the latest parseable event
    date minus the lookback. Counting future-quarantined rows too can only make this
    later, so rows chosen at or after it are always inside the real window."""
    times = [parse_timestamp(r["event_timestamp"]) for r in rows]
    times = [t for t in times if t is not None]
    if not times:
        return None
    return max(times).date() - dt.timedelta(days=lookback_days)


def plan_batches(events, rng, lookback_days=LOOKBACK_DAYS):
    """Split `events` into loads: random cut points in time order, then rows of earlier
    loads (duplicates first) moved to a later load when still inside its window, and an
    empty load at a random place after the first. Every row is fed exactly once."""
    def sort_key(row):
        parsed = parse_timestamp(row["event_timestamp"])
        return (parsed is None, parsed or dt.datetime.min, rng.random())

    ordered = sorted(events, key=sort_key)
    batch_count = rng.randint(2, 3)
    cuts = sorted(rng.sample(range(1, len(ordered)), batch_count - 1))
    batches = [ordered[a:b] for a, b in zip([0, *cuts], [*cuts, len(ordered)])]
    seen = {}
    duplicated = set()
    for row in events:
        key = row["event_id"] or (row["user_id"], row["event_name"], row["event_timestamp"], row["properties"])
        if key in seen:
            duplicated.add(key)
        seen[key] = True

    def is_duplicate(row):
        return (row["event_id"] or (row["user_id"], row["event_name"], row["event_timestamp"],
                                    row["properties"])) in duplicated

    for k in range(1, len(batches)):
        candidates = [(j, row) for j in range(k) for row in batches[j]]
        rng.shuffle(candidates)
        candidates.sort(key=lambda item: not is_duplicate(item[1]))
        moved = 0
        for j, row in candidates:
            if moved >= rng.randint(2, 6):
                break
            parsed = parse_timestamp(row["event_timestamp"])
            if parsed is None:
                continue
            remaining = [r for batch in batches[:k] for r in batch if r is not row]
            start = _window_start(remaining, lookback_days)
            if start is not None and parsed.date() >= start:
                batches[j] = [r for r in batches[j] if r is not row]
                batches[k].insert(rng.randrange(len(batches[k]) + 1), row)
                moved += 1

    batches.insert(rng.randint(1, len(batches)), [])  # a run with nothing new
    assert sorted(map(repr, events)) == sorted(repr(r) for b in batches for r in b)
    return batches


# The incremental models and every model they read: the models whose stored state one
# run leaves for the next. Every other model is a table or view rebuilt whole from its
# inputs by each run that selects it.
INCREMENTAL_CHAIN = "+config.materialized:incremental"


def build_in_batches(builder, dataset, batches, vars, chain_only=False):
    """Load the first batch and build it in full, then append each later batch and run
    dbt incrementally. `chain_only`: every run but the last selects INCREMENTAL_CHAIN
    only (a run of a subset of the models, which SPEC §8 allows), the last is a plain
    `dbt run`, so the marts are built from the state the batches left."""
    first = copy.copy(dataset)
    first.events = list(batches[0])
    builder.load(first)
    for index, batch in enumerate(batches):
        if index:
            builder.append_events(batch)
        last = index == len(batches) - 1
        builder.run_models(vars, full_refresh=index == 0,
                           select=INCREMENTAL_CHAIN if chain_only and not last else None)
    return builder.read_all_marts()


@pytest.fixture(scope="module")
def datasets(dbt_builder):
    return {seed: generated_dataset(dbt_builder.workdir, seed) for seed in DATASET_SEEDS}


@pytest.fixture(scope="module")
def full_builds(dbt_builder, datasets):
    """The full build of each dataset, made once and compared with every split."""
    cache = {}

    def get(seed):
        if seed not in cache:
            dataset, vars = datasets[seed]
            dbt_builder.load(dataset)
            dbt_builder.run_models(vars, full_refresh=True)
            cache[seed] = dbt_builder.read_all_marts()
        return cache[seed]

    return get


@pytest.mark.parametrize("split", range(SPLITS_PER_DATASET))
@pytest.mark.parametrize("seed", DATASET_SEEDS)
def test_incremental_batches_equal_full_refresh(dbt_builder, datasets, full_builds, seed, split):
    dataset, vars = datasets[seed]
    expected = full_builds(seed)
    batches = plan_batches(dataset.events, random.Random(seed * 1000 + split))

    # Split 0 of each data set runs every model on every batch, as a daily `dbt run`
    # does; the other splits run only the incremental models and their inputs until
    # the last batch (the marts are rebuilt whole by any run, so they come out the same).
    incremental = build_in_batches(dbt_builder, dataset, batches, vars, chain_only=split > 0)
    late = incremental["activation_late_events"][0]
    assert late["late_event_rows"] == 0 and late["stale_unknown_user_rows"] == 0, late
    assert_same_tables(incremental, expected, skipped=BOOKKEEPING_COLUMNS)


def test_event_older_than_lookback_stops_the_run_until_a_full_refresh(dbt_builder, datasets):
    dataset, vars = datasets[DATASET_SEEDS[0]]
    user_id = dataset.users[0]["user_id"]
    created = parse_timestamp(dataset.users[0]["created_at"])
    late_row = {"event_id": "late-1", "user_id": user_id, "event_name": "invite_sent",
                "event_timestamp": (created + dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S"),
                "properties": None}
    assert parse_timestamp(late_row["event_timestamp"]).date() < _window_start(dataset.events, LOOKBACK_DAYS)

    # The models built on the events stop the run, naming the cause and the fix; the
    # marts that report it are still built.
    with pytest.raises(BuildFailed) as stopped:
        build_in_batches(dbt_builder, dataset, [dataset.events, [late_row]], vars)
    assert "arrived late" in str(stopped.value) and "--full-refresh" in str(stopped.value), stopped.value
    incremental = dbt_builder.read_all_marts()
    late = incremental["activation_late_events"][0]
    assert late["late_event_rows"] == 1 and late["needs_full_refresh"] is True, late
    quality = {(r["table_name"], r["outcome"]): r["row_count"] for r in incremental["activation_data_quality"]}
    assert quality[("events", "late_not_applied")] == 1
    # Reconciliation holds, counting the late row. (Only these tests: after a stopped
    # run PostgreSQL has dropped the views downstream of the rebuilt tables.)
    dbt_builder.run_dbt_with_vars(["test", "--select", "assert_activation_events_reconcile",
                                   "assert_activation_quarantined_events_reconcile"], vars)
    with pytest.raises(BuildFailed):  # a plain re-run stops again: never silently different
        dbt_builder.run_models(vars)

    dbt_builder.run_models(vars, full_refresh=True)
    refreshed = dbt_builder.read_all_marts()
    assert refreshed["activation_late_events"][0]["late_event_rows"] == 0
    whole = copy.copy(dataset)
    whole.events = [*dataset.events, late_row]
    dbt_builder.load(whole)
    dbt_builder.run_models(vars, full_refresh=True)
    assert_same_tables(refreshed, dbt_builder.read_all_marts(), skipped=BOOKKEEPING_COLUMNS)


def test_load_time_column_applies_events_older_than_the_lookback(dbt_builder, datasets):
    """With `activation_event_loaded_at_column`, rows loaded after the last run are found
    by their load time, so an event (and an exact copy of an old event) dated long
    before the lookback is applied by a plain incremental run: no stop, and the marts
    equal a full refresh."""
    dataset, vars = datasets[DATASET_SEEDS[0]]
    vars = dict(vars, activation_event_loaded_at_column="loaded_at")
    columns = dict(RAW_COLUMNS["events"], loaded_at="varchar")
    user_id = dataset.users[0]["user_id"]
    created = parse_timestamp(dataset.users[0]["created_at"])
    window_start = _window_start(dataset.events, LOOKBACK_DAYS)
    late_row = {"event_id": "late-1", "user_id": user_id, "event_name": "invite_sent",
                "event_timestamp": (created + dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S"),
                "properties": None}
    old_rows = [row for row in dataset.events if parse_timestamp(row["event_timestamp"])
                and parse_timestamp(row["event_timestamp"]).date() < window_start]
    copy_of_old = dict(old_rows[0])
    assert parse_timestamp(late_row["event_timestamp"]).date() < window_start

    def loaded(rows, at):
        return [dict(row, loaded_at=at) for row in rows]

    dbt_builder.load(dataset)
    first = loaded(dataset.events, "2025-06-01 00:00:00")
    second = loaded([late_row, copy_of_old], "2025-06-02 00:00:00")
    dbt_builder.engine.write_raw_tables({"events": (columns, first)})
    dbt_builder.run_models(vars, full_refresh=True)
    dbt_builder.engine.append_raw_rows("events", columns, second)
    assert_plain_run_applies_everything(dbt_builder, vars)


def assert_plain_run_applies_everything(dbt_builder, vars):
    """A plain `dbt run` on the raw tables as they are now leaves no event unapplied
    (activation_late_events) and gives every mart of a full refresh."""
    dbt_builder.run_models(vars)
    incremental = dbt_builder.read_all_marts()
    late = incremental["activation_late_events"][0]
    assert late["late_event_rows"] == 0 and late["needs_full_refresh"] is False, late
    dbt_builder.run_models(vars, full_refresh=True)
    assert_same_tables(incremental, dbt_builder.read_all_marts(), skipped=BOOKKEEPING_COLUMNS)
    return incremental


def test_milestone_configuration_change_rebuilds_derived_models(dbt_builder, datasets):
    dataset, vars = datasets[DATASET_SEEDS[-1]]
    build_in_batches(dbt_builder, dataset, plan_batches(dataset.events, random.Random(7)), vars)

    # A new requirement on an event seen only in old dates must be applied to them too.
    # It is a path of the first milestone and of every activation milestone: users who
    # logged in twice long ago are activated now, at old times, with no new events (the
    # per-user engagement facts must follow their new activation time).
    changed = copy.copy(dataset)
    new_path_milestones = [dataset.milestones[0]["milestone_id"]] + [
        row["milestone_id"] for row in dataset.milestones[1:] if row.get("is_activation")]
    assert len(new_path_milestones) > 1, "the dataset has no activation milestone"
    changed.requirements = [*dataset.requirements, *(
        {"milestone_id": milestone_id, "path_id": 9, "event_name": "login", "min_count": 2,
         "property_key": None, "property_value": None}
        for milestone_id in new_path_milestones)]
    dbt_builder.load(changed)
    dbt_builder.run_models(vars)
    incremental = dbt_builder.read_all_marts()
    dbt_builder.run_models(vars, full_refresh=True)
    assert_same_tables(incremental, dbt_builder.read_all_marts(), skipped=BOOKKEEPING_COLUMNS)


# Times whose text alone cannot tell which side of the window they are on. Stored dates
# run to 2025-03-20, so the second run's window starts 2025-03-17 (3-day lookback);
# the run skips, before parsing, rows whose text shows a readable time on a real date
# before 2025-03-16 (macro activation_timestamp_text_before).
EDGE_TIMES_FIRST_LOAD = [
    "2025-03-16 22:00:00-05:00",   # text a day before the window, UTC inside it: re-read
    "2025-03-15 23:00:00-23:00",   # UTC 2025-03-16 22:00: before the window
    "2025-03-15T10:00:00+05:30",
    "2025-03-14 23:59:59.999999-23:59",
    None,                          # no time: unparsed, re-read on every run
    "2025-03-10 25:00:00",         # no such hour: unparsed
    "2025-03-10 10:00",            # no seconds: unparsed
    "2025-02-30 10:00:00",         # no such day: unparsed
    "2025-04-31 10:00:00",         # no such day (30-day month): unparsed
    "2025-02-29 10:00:00",         # not a leap year: unparsed
    "2024-02-29 10:00:00",         # leap day: left to the parser
    "2025-01-30 10:00:00",         # day 30: skipped by its text
    "2024-12-31 10:00:00",         # day 31 of a 31-day month: skipped by its text
    "2025-03-10 10:00:00 ",        # trailing space: parsed, but not skipped by its text
    "\t2025-03-01 10:00:00",      # leading tab: likewise
    "2025-01-31 10:00:00",         # day 31: skipped by its text
    "2025-03-01 10:00:00",
    "2025-03-18 08:00:00Z",
    "2025-03-20 12:00:00",
]
EDGE_TIMES_SECOND_LOAD = [
    "2025-03-21 09:00:00",
    "2025-03-16 23:30:00-02:00",   # late, UTC 2025-03-17 01:30: inside the window
    "2025-03-16 10:00",            # unparsed, arriving with the new day
]


def test_rows_skipped_by_their_time_text_are_exactly_those_before_the_window(dbt_builder):
    """An incremental run skips history by the time text before parsing; rows dated
    inside the window by their UTC time (whatever their text's date), unparsable rows
    and rows in other layouts are still re-read: the result equals a full refresh."""
    vars = {"activation_as_of": "2025-03-22 00:00:00", "activation_lookback_days": LOOKBACK_DAYS}
    users = [user("u1", "2025-02-01 00:00:00")]
    milestones = [milestone("m1", 1, triggered_by_event="login", timeframe="90d")]
    first = [event("u1", "login", text, f"a{i:02d}") for i, text in enumerate(EDGE_TIMES_FIRST_LOAD)]
    second = [event("u1", "login", text, f"b{i:02d}") for i, text in enumerate(EDGE_TIMES_SECOND_LOAD)]

    dbt_builder.load(Dataset(users, first, milestones, []))
    dbt_builder.run_models(vars, full_refresh=True)
    dbt_builder.append_events(second)
    dbt_builder.run_models(vars)
    stored_query = ("select event_id, quarantine_reason, partition_date, copy_number "
                    "from main_activation_staging.int_activation__events_classified order by event_id")
    incremental_rows = dbt_builder.query(stored_query)
    incremental = dbt_builder.read_all_marts()
    assert len(incremental_rows) == len(first) + len(second)

    dbt_builder.run_models(vars, full_refresh=True)
    assert dbt_builder.query(stored_query) == incremental_rows
    assert_same_tables(incremental, dbt_builder.read_all_marts(), skipped=BOOKKEEPING_COLUMNS)
