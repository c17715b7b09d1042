"""Var `activation_start_date` (README "Incremental runs"): events dated before it are
set aside on every build, so a first build on years of history processes only the
recent part.

Every mart must equal the Python reference run with the same var (which sets the rows
aside from the raw rows, before quarantine and deduplication); the rows set aside are
counted as `before_start_date` in activation_data_quality, so the rows still add up to
the raw tables; incremental runs from a start date end where a full refresh does; and
changing or removing the date stops a plain run, naming the var and `--full-refresh`.
"""

import datetime as dt
import random
from collections import Counter

import pytest
from harness import (
    BuildFailed,
    Dataset,
    assert_marts_match_reference,
    assert_same_tables,
    event,
    milestone,
    requirement,
    user,
)
from reference.activation_reference import compute, parse_timestamp
from test_event_relations import quality_by_table
from test_incremental import BOOKKEEPING_COLUMNS, build_in_batches, generated_dataset, plan_batches

# The models holding the rows set aside or their counts, with the reconciliation tests.
RECONCILED = ("int_activation__events_classified int_activation__events activation_quarantined_events "
              "activation_data_quality activation_late_events")


def quality(dbt_builder):
    """Events rows per (outcome, reason) of the one events source."""
    return Counter({(outcome, reason): count
                    for (_, outcome, reason), count in quality_by_table(dbt_builder).items()})


def middle_date(events):
    """The date that splits the parseable event times in two."""
    times = sorted(t for t in (parse_timestamp(row["event_timestamp"]) for row in events) if t is not None)
    return times[len(times) // 2].date()


@pytest.fixture(scope="module")
def built(dbt_builder):
    """Generated data with a start date in the middle of its events, built in random
    loads (incremental runs), then rebuilt with --full-refresh and tested."""
    dataset, vars = generated_dataset(dbt_builder.workdir, 83, users=24, events_per_user=12, days=14)
    start_vars = dict(vars, activation_start_date=middle_date(dataset.events).isoformat())
    incremental = build_in_batches(dbt_builder, dataset, plan_batches(dataset.events, random.Random(3)), start_vars)
    dbt_builder.run_models(start_vars, full_refresh=True)
    dbt_builder.run_models(start_vars, command="test", select=RECONCILED)
    return dataset, vars, start_vars, incremental, dbt_builder.read_all_marts()


def test_incremental_runs_from_a_start_date_equal_a_full_refresh(built):
    _, _, _, incremental, full = built
    assert_same_tables(incremental, full, skipped=BOOKKEEPING_COLUMNS)


def test_start_date_sets_earlier_events_aside(dbt_builder, built):
    dataset, vars, start_vars, _, _ = built
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, start_vars)
    full_history = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, vars)
    assert 0 < ref["events_before_start_count"] < len(dataset.events)
    # The date matters: some milestone is reached on the full history but not from it.
    assert sum(row["reached_at"] is not None for row in ref["user_milestones"]) \
        < sum(row["reached_at"] is not None for row in full_history["user_milestones"])
    assert_marts_match_reference(dbt_builder.read_marts(), ref)

    counts = quality(dbt_builder)
    assert counts[("before_start_date", "")] == ref["events_before_start_count"]
    assert counts[("staged", "")] == ref["staged_events_count"]
    assert counts[("duplicate_removed", "")] == ref["duplicate_events_removed"]
    reasons = Counter(row["reason"] for row in ref["events_quarantine"])
    assert {reason: counts[("quarantined", reason)] for reason in reasons} == dict(reasons)
    assert sum(counts.values()) == len(dataset.events)
    quarantined = dbt_builder.query("select count(*) as n from main_activation.activation_quarantined_events")
    assert quarantined[0]["n"] == sum(reasons.values())

    # The rows set aside are stored narrow: no ids, names or properties.
    stored = dbt_builder.query(
        "select event_id, user_id, event_name, properties, event_at from main_activation_staging."
        "int_activation__events_classified where quarantine_reason = 'before_start_date'")
    assert len(stored) == ref["events_before_start_count"]
    assert all(row["event_id"] is None and row["user_id"] is None and row["event_name"] is None
               and row["properties"] is None for row in stored)
    late = dbt_builder.query("select * from main_activation.activation_late_events")[0]
    assert late["late_event_rows"] == 0 and late["needs_full_refresh"] is False, late


def test_changing_the_start_date_stops_a_plain_run(dbt_builder, built):
    """Another start date, or none, would leave the stored rows as the old one read them."""
    _, vars, _, _, _ = built
    for changed in (dict(vars, activation_start_date="2000-01-01"), vars):
        with pytest.raises(BuildFailed) as stopped:
            dbt_builder.run_models(changed)
        assert "activation_start_date" in str(stopped.value) and "--full-refresh" in str(stopped.value)


@pytest.mark.engine_independent
def test_start_date_edge_rows(dbt_builder):
    """Hand-written rows around a start of 2025-01-05: a row set aside is not quarantined
    whatever is wrong with it; an event id sent before and after the start keeps its
    later copy; a time exactly at the start counts; an offset time is compared in UTC; an
    unreadable time is still quarantined."""
    rows = [
        event(None, "search", "2025-01-04 10:00:00", event_id="a"),              # set aside, not missing_user_id
        event("u1", "search", "2025-01-04 23:59:59", event_id="b"),              # set aside
        event("u1", "search", "2025-01-06 09:00:00", event_id="b"),              # its later copy: kept, copy 1
        event("u1", "search", "2025-01-05 00:00:00", event_id="c"),              # at the start: kept
        event("u1", "search", "2025-01-05 01:00:00+05:00", event_id="d"),        # 2025-01-04 20:00 UTC: set aside
        event("u1", "search", "2025-01-04 22:00:00-05:00", event_id="e"),        # 2025-01-05 03:00 UTC: kept
        event("u1", "search", "not a time", event_id="f"),                       # invalid_timestamp
        event("u2", "search", "2025-01-03 08:00:00", properties="{bad json"),    # set aside, not invalid JSON
        event("u2", "search", "2025-01-07 08:00:00"),
    ]
    dataset = Dataset(users=[user("u1", "2025-01-01 00:00:00"), user("u2", "2025-01-02 00:00:00")], events=rows,
                      milestones=[milestone("three_searches", 1, timeframe="30d", is_activation=True)],
                      requirements=[requirement("three_searches", "search", min_count=3)])
    vars = {"activation_as_of": "2025-01-10", "activation_start_date": "2025-01-05"}
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, vars)
    assert ref["events_before_start_count"] == 4
    dbt_builder.load(dataset)
    dbt_builder.run_models(vars, full_refresh=True, command="build")
    assert quality(dbt_builder) == Counter({("before_start_date", ""): 4, ("staged", ""): 4,
                                            ("quarantined", "invalid_timestamp"): 1})
    assert_marts_match_reference(dbt_builder.read_marts(), ref)
    reached = {row["user_id"]: row["reached_at"] for row in dbt_builder.query(
        "select user_id, reached_at from main_activation.activation_user_milestones")}
    # u1 reaches three searches with c, e and b's later copy; u2 has one search left.
    assert reached["u1"] == dt.datetime(2025, 1, 6, 9, 0) and reached["u2"] is None, reached
