"""The Python reference's `activation_start_date` var against hand-worked values.

Pure Python: no dbt build. A raw event row whose timestamp parses to a time strictly
before the start date (00:00:00 UTC) is set aside before anything else reads the
events: not quarantined, not deduplicated, not staged, not used for `as_of` nor by
the milestones; `events_before_start_count` counts those rows. Users are unaffected.
"""

import datetime as dt
import os

import pytest
from harness import event, milestone, requirement, user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.activation_reference import ConfigError, compute, parse_timestamp

T = dt.datetime
D = dt.date
START = D(2025, 1, 2)
VARS = {"activation_start_date": START}

USERS = [user("u1", "2024-12-20 00:00:00"), user("u2", "2025-01-01 12:00:00")]
MILESTONES = [milestone("m", 1, timeframe="30d", triggered_by_event="open")]


def run(events, vars=None, users=USERS, milestones=MILESTONES, requirements=()):
    return compute(users, events, milestones, list(requirements), vars)


def um(result, user_id, milestone_id="m"):
    (row,) = [r for r in result["user_milestones"]
              if r["user_id"] == user_id and r["milestone_id"] == milestone_id]
    return row


def test_unset_var_sets_nothing_aside():
    events = [event("u1", "open", "2024-12-21 00:00:00", "e1")]
    for vars in (None, {}, {"activation_start_date": None}):
        result = run(events, vars)
        assert result["events_before_start_count"] == 0
        assert result["staged_events_count"] == 1
        assert um(result, "u1")["reached_at"] == T(2024, 12, 21)


def test_row_before_start_with_missing_user_id_is_set_aside_not_quarantined():
    events = [
        event(None, "open", "2025-01-01 10:00:00", "e1"),     # before: set aside
        event("  ", "", "2025-01-01 23:59:59", "e2"),          # before: set aside (blank id and name)
        event("ghost", "open", "2024-06-01 00:00:00", "e3"),   # before: unknown user, set aside
        event(None, "open", "2025-01-02 10:00:00", "e4"),     # after: quarantined
    ]
    result = run(events, VARS)
    assert result["events_before_start_count"] == 3
    assert result["events_quarantine"] == [
        {"event_id": "e4", "user_id": None, "event_name": "open", "reason": "missing_user_id"}
    ]
    assert result["staged_events_count"] == 0
    # Without the var all four are quarantined.
    assert [q["reason"] for q in run(events)["events_quarantine"]] == [
        "missing_user_id", "missing_user_id", "unknown_user", "missing_user_id"]


def test_event_id_duplicate_straddling_the_start_keeps_the_after_start_copy():
    events = [
        event("u1", "open", "2025-01-01 23:00:00", "dup"),
        event("u1", "open", "2025-01-02 05:00:00", "dup"),
    ]
    result = run(events, VARS)
    assert result["events_before_start_count"] == 1
    assert result["duplicate_events_removed"] == 0
    assert result["staged_events_count"] == 1
    assert um(result, "u1")["reached_at"] == T(2025, 1, 2, 5)
    # Without the var the earlier copy is kept and the later one removed.
    plain = run(events)
    assert plain["duplicate_events_removed"] == 1
    assert um(plain, "u1")["reached_at"] == T(2025, 1, 1, 23)


def test_null_event_id_rows_either_side_of_the_start_through_offsets():
    # Both rows read 03:00 local on 2025-01-02, but in UTC one is before the start.
    events = [
        event("u1", "open", "2025-01-02T03:00:00+04:00"),   # 2025-01-01 23:00 UTC: before
        event("u1", "open", "2025-01-02T03:00:00+02:00"),   # 2025-01-02 01:00 UTC: kept
    ]
    result = run(events, VARS)
    assert result["events_before_start_count"] == 1
    assert result["staged_events_count"] == 1
    assert um(result, "u1")["reached_at"] == T(2025, 1, 2, 1)


@pytest.mark.parametrize("timestamp, expected_at", [
    ("2025-01-02 00:00:00", T(2025, 1, 2)),
    ("2025-01-02T00:00:00Z", T(2025, 1, 2)),
    ("2025-01-02", T(2025, 1, 2)),
    ("2025-01-02T00:00:00.000000", T(2025, 1, 2)),
    ("2025-01-02T05:30:00+05:30", T(2025, 1, 2)),
    ("2025-01-01T19:00:00-05:00", T(2025, 1, 2)),
    ("2025-01-02T23:00:00+23", T(2025, 1, 2)),
])
def test_row_at_exactly_the_start_is_kept(timestamp, expected_at):
    result = run([event("u1", "open", timestamp, "e1")], VARS)
    assert result["events_before_start_count"] == 0
    assert result["staged_events_count"] == 1
    assert um(result, "u1")["reached_at"] == expected_at


@pytest.mark.parametrize("timestamp", [
    "2025-01-01 23:59:59",
    "2025-01-01T23:59:59.999999",
    "2025-01-01",
    "2025-01-02T01:00:00+05:00",   # 2025-01-01 20:00 UTC
    "2025-01-02T00:00:00+00:01",   # 2025-01-01 23:59 UTC
    "2025-01-02 05:00:00+0600",    # 2025-01-01 23:00 UTC
    "2025-01-02T22:59:59+23",      # 2025-01-01 23:59:59 UTC
])
def test_rows_before_the_start_in_any_written_form(timestamp):
    result = run([event("u1", "open", timestamp, "e1")], VARS)
    assert result["events_before_start_count"] == 1
    assert result["staged_events_count"] == 0
    assert result["events_quarantine"] == []
    assert um(result, "u1")["is_reached"] is False


def test_offset_timestamp_before_the_start_in_utc():
    # 2025-01-02T01:00:00+05:00 is 2025-01-01 20:00 UTC: before a 2025-01-02 start.
    # 2025-01-01T20:00:00-05:00 is 2025-01-02 01:00 UTC: after it.
    events = [
        event("u1", "open", "2025-01-02T01:00:00+05:00", "before"),
        event("u2", "open", "2025-01-01T20:00:00-05:00", "after"),
    ]
    result = run(events, VARS)
    assert result["events_before_start_count"] == 1
    assert result["staged_events_count"] == 1
    assert um(result, "u1")["is_reached"] is False
    assert um(result, "u2")["reached_at"] == T(2025, 1, 2, 1)


@pytest.mark.parametrize("timestamp", [
    "not a time", "2025-13-01 00:00:00", "2024-12-31 24:00:00", "2025-01-01T10:00:00+24:00",
    "2025-01-01t10:00:00", "", "   ", None,
])
def test_unparseable_timestamp_is_still_quarantined(timestamp):
    result = run([event("u1", "open", timestamp, "bad")], VARS)
    assert result["events_before_start_count"] == 0
    assert result["events_quarantine"] == [
        {"event_id": "bad", "user_id": "u1", "event_name": "open", "reason": "invalid_timestamp"}
    ]


def test_unparseable_timestamp_with_missing_user_id_keeps_its_first_reason():
    result = run([event(None, "open", "yesterday", "bad")], VARS)
    assert result["events_before_start_count"] == 0
    assert [q["reason"] for q in result["events_quarantine"]] == ["missing_user_id"]


def test_as_of_ignores_rows_before_the_start():
    events = [
        event("u1", "open", "2024-12-25 00:00:00", "e1"),     # before
        event("u1", "open", "2025-01-03 08:00:00", "e2"),     # kept
        event("u2", "open", "2025-01-05T12:00:00+02:00", "e3"),  # kept: 10:00 UTC
        event("u2", "open", "garbage", "e4"),                 # kept, unparseable
        event(None, "open", "2025-01-04 00:00:00", "e5"),     # kept, quarantined
    ]
    result = run(events, VARS)
    kept_times = [parse_timestamp(e["event_timestamp"]) for e in events[1:]]
    assert result["as_of"] == max(t for t in kept_times if t is not None) == T(2025, 1, 5, 10)
    assert result["users"][0]["as_of"] == T(2025, 1, 5, 10)


def test_as_of_is_unset_when_every_parseable_row_is_before_the_start():
    events = [
        event("u1", "open", "2024-12-25 00:00:00", "e1"),
        event("u1", "open", "2025-01-01 23:59:59", "e2"),
        event("u1", "open", "nope", "e3"),
    ]
    result = run(events, VARS)
    assert result["events_before_start_count"] == 2
    assert result["as_of"] is None
    assert run(events)["as_of"] == T(2025, 1, 1, 23, 59, 59)


def test_explicit_as_of_stands_with_the_start_date():
    events = [
        event("u1", "open", "2024-12-01 00:00:00", "early"),
        event("u1", "open", "2025-01-03 00:00:00", "kept"),
    ]
    vars = dict(VARS, activation_as_of="2025-01-01 00:00:00")
    result = run(events, vars)
    # The explicit as_of stands; the kept row is after as_of + 24h: future.
    assert result["as_of"] == T(2025, 1, 1)
    assert result["events_before_start_count"] == 1
    assert [q["reason"] for q in result["events_quarantine"]] == ["future_timestamp"]


def test_milestone_reached_only_by_events_before_the_start_is_not_reached():
    milestones = [
        milestone("one", 1, timeframe="30d", triggered_by_event="open"),
        milestone("two", 2, timeframe="30d", is_activation=True),
    ]
    requirements = [requirement("two", "search", min_count=2)]
    events = [
        event("u1", "open", "2024-12-21 00:00:00", "a"),    # before
        event("u1", "search", "2024-12-22 00:00:00", "b"),  # before
        event("u1", "search", "2025-01-03 00:00:00", "c"),  # kept: only one search left
    ]
    plain = run(events, milestones=milestones, requirements=requirements)
    assert um(plain, "u1", "one")["is_reached"] is True
    assert um(plain, "u1", "two")["reached_at"] == T(2025, 1, 3)
    result = run(events, VARS, milestones=milestones, requirements=requirements)
    assert um(result, "u1", "one")["is_reached"] is False
    assert um(result, "u1", "two")["is_reached"] is False
    (u1,) = [row for row in result["users"] if row["user_id"] == "u1"]
    assert u1["is_activated"] is False
    assert u1["milestones_reached"] == 0


def test_users_are_unaffected():
    users = USERS + [
        user("u0", "2020-01-01 00:00:00"),       # created long before the start
        user(None, "2024-01-01 00:00:00"),
        user("u3", "not a date"),
        user("u1", "2025-06-01 00:00:00"),       # duplicate of u1
    ]
    events = [event("u0", "open", "2020-01-02 00:00:00", "e1")]
    plain, result = run(events, users=users), run(events, VARS, users=users)
    assert result["users_quarantine"] == plain["users_quarantine"]
    assert [q["reason"] for q in result["users_quarantine"]] == [
        "missing_user_id", "invalid_created_at", "duplicate_user_id"]
    assert result["staged_users_count"] == plain["staged_users_count"] == 3
    assert [row["user_id"] for row in result["users"]] == ["u0", "u1", "u2"]
    assert um(plain, "u0")["is_reached"] is True
    assert um(result, "u0")["is_reached"] is False


@pytest.mark.parametrize("value", ["2025-01-02", "  2025-01-02\n", "\t2025-01-02 "])
def test_date_object_and_string_give_the_same_result(value):
    events = [
        event("u1", "open", "2025-01-01 12:00:00", "e1"),
        event("u1", "open", "2025-01-02 12:00:00", "e2"),
        event("u2", "open", "bad", "e3"),
    ]
    as_date = run(events, {"activation_start_date": D(2025, 1, 2)})
    as_text = run(events, {"activation_start_date": value})
    assert as_text == as_date
    assert as_date["events_before_start_count"] == 1


@pytest.mark.parametrize("value", [
    "2025-1-2", "2025-02-30", "2025-00-10", "0000-01-01", "01/02/2025", "20250102", "",
    "   ", "2025-01-02 00:00:00", "2025-01-02T00:00:00Z", "yesterday", "２０２５-01-02",
    20250102, 2025.0, True, ["2025-01-02"], T(2025, 1, 2), T(2025, 1, 2, 6),
])
def test_invalid_start_date_raises(value):
    with pytest.raises(ConfigError, match="activation_start_date"):
        run([event("u1", "open", "2025-01-02 00:00:00", "e1")], {"activation_start_date": value})


# ----------------------------------------------------------------- randomised

BASE = T(2025, 1, 2)
FORMATS = (
    lambda t: t.strftime("%Y-%m-%d %H:%M:%S"),
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"),
    lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%f"),
    lambda t: (t + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S+05:00"),
    lambda t: (t - dt.timedelta(hours=3, minutes=30)).strftime("%Y-%m-%d %H:%M:%S-0330"),
    lambda t: (t + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01"),
    lambda t: t.strftime("%Y-%m-%d"),
)
UNPARSEABLE = (None, "", "not a time", "2025-13-01 00:00:00", "2025-01-02 00:00:00 +01:00")


@st.composite
def timestamps(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(UNPARSEABLE))
    # Around the start; whole minutes, with exact midnights often.
    minutes = draw(st.one_of(st.integers(-4 * 1440, 4 * 1440),
                             st.integers(-3, 3).map(lambda d: d * 1440)))
    moment = BASE + dt.timedelta(minutes=minutes)
    if draw(st.booleans()):
        moment += dt.timedelta(microseconds=draw(st.integers(0, 999_999)))
    return draw(st.sampled_from(FORMATS))(moment)


@st.composite
def cases(draw):
    users = [
        user("u1", "2024-12-28 00:00:00"),
        user("u2", "2025-01-01 18:00:00"),
        user("u3", "2025-01-03 00:00:00"),
        user(None, "2024-12-01 00:00:00"),
    ]
    events = draw(st.lists(
        st.builds(
            event,
            st.sampled_from(["u1", "u2", "u3", "ghost", None, " u1 "]),
            st.sampled_from(["open", "search", "Search!", "share", None]),
            timestamps(),
            st.sampled_from([None, None, "e1", "e2", "e3", "e4"]),
            st.sampled_from([None, '{"plan": "pro"}', '{"plan": "free"}', "{broken"]),
        ),
        max_size=25,
    ))
    start = BASE.date() + dt.timedelta(days=draw(st.integers(-3, 3)))
    start_value = draw(st.sampled_from([start, start.isoformat(), f" {start.isoformat()}\t"]))
    vars = {"activation_start_date": start_value}
    if draw(st.booleans()):
        vars["activation_as_of"] = draw(st.sampled_from(
            ["2025-01-03 00:00:00", "2025-01-06 12:00:00", "2024-12-30"]))
    if draw(st.booleans()):
        vars["activation_future_tolerance_hours"] = draw(st.sampled_from([0, 1, 48]))
    return users, events, start, vars


RANDOM_MILESTONES = [
    milestone("open", 1, weight=1, timeframe="2d", triggered_by_event="open"),
    milestone("search", 2, weight=2, timeframe="72h", requires_milestone_id="open"),
    milestone("pro", 3, weight=3, timeframe="5d", is_activation=True),
]
RANDOM_REQUIREMENTS = [
    requirement("search", "search", min_count=2),
    requirement("pro", "share", path_id=1),
    requirement("pro", "search", path_id=2, property_key="plan", property_value="pro"),
]


@settings(max_examples=int(os.environ.get("ACTIVATION_HYPOTHESIS_START_DATE_EXAMPLES", "300")),
          deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_start_date_equals_filtering_the_raw_rows_by_hand(case):
    users, events, start, vars = case
    start_at = T(start.year, start.month, start.day)
    kept = [row for row in events
            if parse_timestamp(row["event_timestamp"]) is None
            or parse_timestamp(row["event_timestamp"]) >= start_at]
    plain_vars = {key: value for key, value in vars.items() if key != "activation_start_date"}

    with_var = compute(users, events, RANDOM_MILESTONES, RANDOM_REQUIREMENTS, vars)
    by_hand = compute(users, kept, RANDOM_MILESTONES, RANDOM_REQUIREMENTS, plain_vars)

    assert with_var["events_before_start_count"] + len(kept) == len(events)
    assert by_hand["events_before_start_count"] == 0
    assert set(with_var) == set(by_hand)
    for key in with_var:
        if key != "events_before_start_count":
            assert with_var[key] == by_hand[key], key
