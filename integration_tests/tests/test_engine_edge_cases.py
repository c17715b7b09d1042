"""Hand-written edge cases for SPEC §2-§4.

Each scenario is built by dbt and checked twice: every column against the Python
reference computed from the same raw rows, and the rule under test against the value
written here by hand.
"""

import datetime as dt

import pytest
from harness import PER_USER_MARTS_SELECTION, Dataset, assert_marts_match_reference, event, milestone, requirement, user
from reference.activation_reference import compute

T = dt.datetime


def build_and_check(dbt_builder, dataset, vars=None):
    marts = dbt_builder.build(dataset, vars=vars, select=PER_USER_MARTS_SELECTION)
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                  dict(vars or {}, activation_user_passthrough_columns=["company_size"]))
    assert_marts_match_reference(marts, ref)
    return marts


def by_key(rows, *key):
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in rows}


ENGINE_MILESTONES = [
    milestone("login", 1, weight=1, timeframe="48h", triggered_by_event="Login"),
    milestone("core", 2, weight=4, timeframe="7d", is_activation=True),
    milestone("invite", 3, weight=5, timeframe="14d", triggered_by_event="invite_sent",
              requires_milestone_id="core", is_activation=True),
    milestone("upgrade", 4, weight=10, timeframe=None, timeframe_days=30,
              triggered_by_event="plan_upgraded", requires_milestone_id="invite"),
    milestone("finish", 5, weight=0, timeframe="30d"),
]
ENGINE_REQUIREMENTS = [
    requirement("core", "search", min_count=3, path_id=1),
    requirement("core", "list_created", min_count=1, path_id=1),
    requirement("core", "template_imported", min_count=1, path_id=2),
    requirement("finish", "onboarding_step", property_key="step", property_value="finish"),
]


@pytest.fixture(scope="module")
def engine_marts(dbt_builder):
    signup = "2025-03-03 00:00:00"
    users = [user(f"u{i:02d}", signup) for i in range(1, 13)]
    events = [
        # u01: 3rd search ties with the 2nd on the timestamp; list later -> path 1 at list time
        event("u01", "search", "2025-03-03 01:00:00", "a1"),
        event("u01", "Search", "2025-03-03 02:00:00", "a2"),
        event("u01", "SEARCH ", "2025-03-03 02:00:00", "a3"),
        event("u01", "list_created", "2025-03-04 00:00:00", "a4"),
        # u02: searches before signup do not count; only 2 count -> path 1 not reached
        event("u02", "search", "2025-03-02 23:59:59", "b1"),
        event("u02", "search", "2025-03-03 00:00:00", "b2"),
        event("u02", "search", "2025-03-03 00:00:01", "b3"),
        event("u02", "list_created", "2025-03-03 00:00:02", "b4"),
        # u03: both paths; path 2 (template) earlier wins
        event("u03", "search", "2025-03-03 01:00:00", "c1"),
        event("u03", "search", "2025-03-03 01:00:01", "c2"),
        event("u03", "search", "2025-03-03 01:00:02", "c3"),
        event("u03", "list_created", "2025-03-05 00:00:00", "c4"),
        event("u03", "template_imported", "2025-03-04 00:00:00", "c5"),
        # u04: invite before core -> gate pushes invite to core's time
        event("u04", "invite_sent", "2025-03-03 01:00:00", "d1"),
        event("u04", "template_imported", "2025-03-05 00:00:00", "d2"),
        # u05: invite without core -> invite not reached; chained gate upgrade not reached
        event("u05", "invite_sent", "2025-03-03 01:00:00", "e1"),
        event("u05", "plan_upgraded", "2025-03-03 02:00:00", "e2"),
        # u06: login exactly at the 48h deadline (within) ; core one second after 7d (late)
        event("u06", "login", "2025-03-05 00:00:00", "f1"),
        event("u06", "template_imported", "2025-03-10 00:00:01", "f2"),
        # u07: login one second after 48h (late); offsets converted to UTC
        event("u07", "login", "2025-03-05T02:00:01+02:00", "g1"),
        event("u07", "template_imported", "2025-03-03T10:00:00Z", "g2"),
        # u08: property filter: string value matches; other values do not
        event("u08", "onboarding_step", "2025-03-03 01:00:00", "h1", '{"step": "start"}'),
        event("u08", "onboarding_step", "2025-03-03 02:00:00", "h2", '{"step": "finish"}'),
        # u09: property filter never matches (missing key, JSON null, other value)
        event("u09", "onboarding_step", "2025-03-03 01:00:00", "i1", '{"other": "finish"}'),
        event("u09", "onboarding_step", "2025-03-03 02:00:00", "i2", '{"step": null}'),
        event("u09", "onboarding_step", "2025-03-03 03:00:00", "i3", None),
        # u10: duplicates by event_id and by content do not inflate counts
        event("u10", "search", "2025-03-03 01:00:00", "j1"),
        event("u10", "search", "2025-03-03 01:00:00", "j1"),
        event("u10", "search", "2025-03-03 03:00:00", None),
        event("u10", "search", "2025-03-03T05:00:00+02:00", None),
        event("u10", "list_created", "2025-03-03 04:00:00", "j2"),
        # u11: everything: full chain reached, upgrade at day 30 boundary exactly
        event("u11", "template_imported", "2025-03-03 00:00:00", "k1"),
        event("u11", "invite_sent", "2025-03-04 00:00:00", "k2"),
        event("u11", "plan_upgraded", "2025-04-02 00:00:00", "k3"),
        event("u11", "login", "2025-03-03 00:30:00", "k4"),
        # u12: nothing at all
    ]
    dataset = Dataset(users=users, events=events, milestones=ENGINE_MILESTONES,
                      requirements=ENGINE_REQUIREMENTS)
    return build_and_check(dbt_builder, dataset, vars={"activation_as_of": "2025-04-10 00:00:00"})


def reach(marts, user_id, milestone_id):
    return by_key(marts["user_milestones"], "user_id", "milestone_id")[(user_id, milestone_id)]


def test_kth_event_with_timestamp_ties(engine_marts):
    row = reach(engine_marts, "u01", "core")
    assert row["reached_at"] == T(2025, 3, 4) and row["reached_path_id"] == 1


def test_events_before_signup_do_not_count(engine_marts):
    assert not reach(engine_marts, "u02", "core")["is_reached"]


def test_or_across_paths_takes_the_earliest(engine_marts):
    row = reach(engine_marts, "u03", "core")
    assert row["reached_at"] == T(2025, 3, 4) and row["reached_path_id"] == 2


def test_gate_reached_later_moves_reach_time(engine_marts):
    assert reach(engine_marts, "u04", "invite")["reached_at"] == T(2025, 3, 5)


def test_gate_never_reached_blocks_the_chain(engine_marts):
    assert not reach(engine_marts, "u05", "invite")["is_reached"]
    assert not reach(engine_marts, "u05", "upgrade")["is_reached"]


def test_timeframe_is_inclusive_to_the_second(engine_marts):
    assert reach(engine_marts, "u06", "login")["is_within_timeframe"]
    core = reach(engine_marts, "u06", "core")
    assert core["is_reached"] and core["is_late"] and not core["is_within_timeframe"]
    late_login = reach(engine_marts, "u07", "login")
    assert late_login["reached_at"] == T(2025, 3, 5, 0, 0, 1) and late_login["is_late"]
    upgrade = reach(engine_marts, "u11", "upgrade")
    assert upgrade["is_within_timeframe"] and upgrade["time_to_reach_seconds"] == 30 * 86400


def test_offsets_are_converted(engine_marts):
    assert reach(engine_marts, "u07", "core")["reached_at"] == T(2025, 3, 3, 10)


def test_property_filter(engine_marts):
    assert reach(engine_marts, "u08", "finish")["reached_at"] == T(2025, 3, 3, 2)
    assert not reach(engine_marts, "u09", "finish")["is_reached"]


def test_duplicates_do_not_count_twice(engine_marts):
    # j1 twice, 03:00Z and 05:00+02:00 are the same event: 2 distinct searches < 3
    assert not reach(engine_marts, "u10", "core")["is_reached"]


def test_late_reach_never_counts_toward_activation(engine_marts):
    users = by_key(engine_marts["users"], "user_id")
    assert not users["u06"]["is_activated"]
    assert users["u06"]["milestones_reached_late"] == 1
    assert users["u11"]["is_activated"] and users["u11"]["activated_at"] == T(2025, 3, 4)
    assert users["u11"]["activation_score"] == 20 and users["u11"]["highest_level_reached"] == 4
    assert users["u12"]["milestones_reached"] == 0 and users["u12"]["status"] == "inactive"


def test_reconciliation(engine_marts):
    quality = engine_marts["data_quality"]
    staged = sum(r["row_count"] for r in quality if r["table_name"] == "events" and r["outcome"] == "staged")
    removed = sum(r["row_count"] for r in quality
                  if r["table_name"] == "events" and r["outcome"] == "duplicate_removed")
    assert removed == 2
    assert sum(r["row_count"] for r in quality if r["table_name"] == "events") == 35
    assert staged == 33
