"""Unit tests of the BI marts reference against hand-computed values (SPEC §5-§6, BI contract)."""

import datetime as dt
import hashlib
import pathlib
import random
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from harness import bh_by_hand, wilson_by_hand  # noqa: E402
from reference.activation_reference import ConfigError  # noqa: E402
from reference.bi_reference import compute_bi, wilson_interval  # noqa: E402
from reference.stats_reference import bh_q_values  # noqa: E402

T = dt.datetime
D = dt.date
approx = pytest.approx

COLUMNS = {
    "cohort_completion": [
        "cohort_date", "milestone_id", "milestone_level", "window_name", "window_seconds", "cohort_users",
        "eligible_users", "completed_users", "completion_rate", "completion_rate_ci_lower",
        "completion_rate_ci_upper", "is_mature", "as_of",
    ],
    "funnel": [
        "cohort_date", "breakdown_dimension", "breakdown_value", "step_number", "milestone_id", "milestone_level",
        "cohort_users", "eligible_users", "in_progress_users", "entered_users", "completed_users",
        "drop_off_rate", "drop_off_rate_ci_lower", "drop_off_rate_ci_upper",
        "conversion_from_start", "conversion_from_start_ci_lower", "conversion_from_start_ci_upper",
        "median_hours_from_previous_step", "mean_hours_from_previous_step", "as_of",
    ],
    "milestone_velocity": [
        "cohort_date", "to_step_number", "from_milestone_id", "to_milestone_id", "users", "mean_hours",
        "median_hours", "as_of",
    ],
    "retention": [
        "activation_cohort_date", "window_days", "activated_users", "eligible_users", "retained_users",
        "retention_rate", "retention_rate_ci_lower", "retention_rate_ci_upper", "is_mature", "as_of",
    ],
    "viral_coefficient": [
        "cohort_date", "cohort_users", "inviting_users", "invites_sent", "invited_signups", "invites_per_user",
        "invite_acceptance_rate", "viral_coefficient", "as_of",
    ],
    "conversion_by_milestone": [
        "highest_level_reached", "users", "converted_users", "conversion_rate", "conversion_rate_ci_lower",
        "conversion_rate_ci_upper", "share_of_users", "share_of_users_ci_lower", "share_of_users_ci_upper", "as_of",
    ],
    "nudges": [
        "user_id", "nudge_type", "milestone_id", "milestone_level", "previous_milestone_id", "deadline_at",
        "days_left", "median_days_to_reach", "as_of",
    ],
    "pql_score_history": [
        "user_id", "valid_from", "valid_to", "pql_score", "pql_band", "pql_action", "top_milestones",
        "is_current", "as_of",
    ],
    "pql_scores_daily": ["user_id", "score_date", "pql_score", "pql_band", "pql_action"],
    "pql_handoffs": [
        "handoff_id", "user_id", "crossed_on", "crossed_at", "from_band", "to_band", "pql_action", "pql_score",
        "days_since_signup", "as_of",
    ],
    "kpis": [
        "period_start", "kpi_name", "kpi_label", "value", "value_ci_lower", "value_ci_upper", "numerator",
        "denominator", "target_value", "direction", "previous_value", "change_from_previous", "status", "as_of",
    ],
}


def U(user_id, created_at="2024-01-01 00:00:00", plan_tier="free", install_source="organic",
      inviter=None, company_size=None):
    return {
        "user_id": user_id,
        "account_id": "acc",
        "created_at": created_at,
        "plan_tier": plan_tier,
        "install_source": install_source,
        "inviter_user_id": inviter,
        "company_size": company_size,
    }


_ids = iter(range(1, 10**6))


def E(user_id, name, ts, properties=None, event_id=None):
    return {
        "event_id": event_id if event_id is not None else f"e{next(_ids)}",
        "user_id": user_id,
        "event_name": name,
        "event_timestamp": ts,
        "properties": properties,
    }


def M(mid, level, weight=1.0, timeframe="7d", activation=False, trigger=None):
    return {
        "milestone_id": mid,
        "definition": f"definition of {mid}",
        "level": level,
        "weight": weight,
        "timeframe": timeframe,
        "timeframe_days": None,
        "triggered_by_event": trigger or mid,
        "is_activation": activation,
        "requires_milestone_id": None,
    }


def run(users, events, milestones, **vars):
    return compute_bi(list(users), list(events), list(milestones), [], vars)


def one(rows, **key):
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, found)
    return found[0]


# ------------------------------------------------------------- cohort completion

COHORT_MILESTONES = [M("a", 1, timeframe="7d"), M("b", 2, timeframe="14d")]
COHORT_USERS = [
    U("u1", "2024-01-01 00:00:00"),
    U("u2", "2024-01-03 00:00:00"),
    U("u3", "2024-01-14 12:00:00"),  # young: cohort of 2024-01-08, nothing eligible yet
]
COHORT_EVENTS = [
    E("u1", "a", "2024-01-01 12:00:00"),
    E("u1", "b", "2024-01-05 00:00:00"),
    E("u2", "a", "2024-01-04 00:00:00"),  # exactly 24 h after signup
    E("u2", "b", "2024-01-05 00:00:00"),
    E("u3", "a", "2024-01-14 13:00:00"),
]


def test_cohort_completion_windows_and_censoring():
    rows = run(COHORT_USERS, COHORT_EVENTS, COHORT_MILESTONES, activation_as_of="2024-01-15 00:00:00")[
        "cohort_completion"
    ]
    assert len(rows) == 2 * 2 * 4
    c1 = D(2024, 1, 1)
    expected = {
        # (milestone, window): (window_seconds, eligible, completed, rate, mature)
        ("a", "timeframe"): (604800, 2, 2, 1.0, True),
        ("a", "d0"): (86400, 2, 2, 1.0, True),  # u2 reached exactly at created_at + 1 day
        ("a", "d7"): (604800, 2, 2, 1.0, True),
        ("a", "d30"): (2592000, 0, 0, None, False),
        # b: u1's 14-day window closes exactly at as_of -> eligible; u2's closes 2024-01-17 -> censored
        ("b", "timeframe"): (1209600, 1, 1, 1.0, False),
        ("b", "d0"): (86400, 2, 0, 0.0, True),
        ("b", "d7"): (604800, 2, 2, 1.0, True),
        ("b", "d30"): (2592000, 0, 0, None, False),
    }
    for (mid, window), (seconds, eligible, completed, rate, mature) in expected.items():
        row = one(rows, cohort_date=c1, milestone_id=mid, window_name=window)
        assert row["window_seconds"] == seconds
        assert row["cohort_users"] == 2
        assert (row["eligible_users"], row["completed_users"]) == (eligible, completed), (mid, window)
        assert row["completion_rate"] == rate
        assert row["is_mature"] is mature
        assert row["milestone_level"] == {"a": 1, "b": 2}[mid]
        assert row["as_of"] == T(2024, 1, 15)
    for window in ("timeframe", "d0", "d7", "d30"):
        row = one(rows, cohort_date=D(2024, 1, 8), milestone_id="a", window_name=window)
        assert (row["cohort_users"], row["eligible_users"], row["completed_users"]) == (1, 0, 0)
        assert row["completion_rate"] is None
        assert row["is_mature"] is False


def test_cohort_completion_late_reach_never_counts():
    users = [U("u1", "2024-01-01 00:00:00")]
    events = [E("u1", "a", "2024-01-01 12:00:00")]
    # timeframe 6h: reached after 12 h is late, even for the d0/d7/d30 windows
    rows = run(users, events, [M("a", 1, timeframe="6h")], activation_as_of="2024-03-01 00:00:00")[
        "cohort_completion"
    ]
    for window in ("timeframe", "d0", "d7", "d30"):
        row = one(rows, milestone_id="a", window_name=window)
        assert (row["eligible_users"], row["completed_users"], row["completion_rate"]) == (1, 0, 0.0)


def test_cohort_grain_month():
    rows = run(COHORT_USERS, COHORT_EVENTS, COHORT_MILESTONES, activation_as_of="2024-01-15 00:00:00",
               activation_cohort_grain="month")["cohort_completion"]
    assert {r["cohort_date"] for r in rows} == {D(2024, 1, 1)}
    assert one(rows, milestone_id="a", window_name="timeframe")["cohort_users"] == 3


# ------------------------------------------------------------------------ funnel

FUNNEL_MILESTONES = [M("a", 1, timeframe="30d"), M("b", 2, timeframe="30d"), M("c", 3, timeframe="30d")]
FUNNEL_USERS = [
    U("u1", install_source="ads", company_size="10"),
    U("u2", install_source="ads", company_size="10"),
    U("u3", install_source=None, company_size=None),
    U("u4", install_source=None, company_size="50"),
]
FUNNEL_EVENTS = [
    E("u1", "a", "2024-01-01 01:00:00"), E("u1", "b", "2024-01-01 02:00:00"), E("u1", "c", "2024-01-01 05:00:00"),
    # u2: c before b -> completes steps 1 and 2, not 3
    E("u2", "a", "2024-01-01 01:00:00"), E("u2", "c", "2024-01-01 02:00:00"), E("u2", "b", "2024-01-01 03:00:00"),
    # u3: b before a -> completes step 1 only, although it reached everything
    E("u3", "b", "2024-01-01 01:00:00"), E("u3", "a", "2024-01-01 02:00:00"), E("u3", "c", "2024-01-01 03:00:00"),
]
FUNNEL_VARS = {"activation_as_of": "2024-03-01 00:00:00", "activation_user_passthrough_columns": ["company_size"]}


def funnel_rows():
    return run(FUNNEL_USERS, FUNNEL_EVENTS, FUNNEL_MILESTONES, **FUNNEL_VARS)["funnel"]


def test_funnel_order_rule_drop_off_and_conversion():
    rows = funnel_rows()
    c1 = D(2024, 1, 1)

    def step(n):
        return one(rows, cohort_date=c1, breakdown_dimension="all", breakdown_value="all", step_number=n)

    s1, s2, s3 = step(1), step(2), step(3)
    assert (s1["milestone_id"], s2["milestone_id"], s3["milestone_id"]) == ("a", "b", "c")
    assert [s["cohort_users"] for s in (s1, s2, s3)] == [4, 4, 4]
    # every window (30 d) closed by as_of: everybody is eligible, nobody in progress
    assert [(s["eligible_users"], s["in_progress_users"]) for s in (s1, s2, s3)] == [(4, 0)] * 3
    assert [s["entered_users"] for s in (s1, s2, s3)] == [4, 3, 2]
    assert [s["completed_users"] for s in (s1, s2, s3)] == [3, 2, 1]
    assert s1["drop_off_rate"] == approx(0.25)
    assert s2["drop_off_rate"] == approx(1 / 3)
    assert s3["drop_off_rate"] == approx(0.5)
    assert [s["conversion_from_start"] for s in (s1, s2, s3)] == [0.75, 0.5, 0.25]
    # step 1 hours from signup: 1, 1, 2
    assert s1["median_hours_from_previous_step"] == approx(1.0)
    assert s1["mean_hours_from_previous_step"] == approx(4 / 3)
    # step 2 completers u1 (1 h) and u2 (2 h): median of an even count = 1.5
    assert s2["median_hours_from_previous_step"] == approx(1.5)
    assert s2["mean_hours_from_previous_step"] == approx(1.5)
    assert s3["median_hours_from_previous_step"] == approx(3.0)
    assert s3["mean_hours_from_previous_step"] == approx(3.0)


def test_funnel_breakdowns():
    rows = funnel_rows()
    dims = {(r["breakdown_dimension"], r["breakdown_value"]) for r in rows}
    assert dims == {
        ("all", "all"), ("install_source", "ads"), ("install_source", "(none)"), ("plan_tier", "free"),
        ("signup_type", "direct"), ("company_size", "10"), ("company_size", "(none)"), ("company_size", "50"),
    }
    assert len(rows) == len(dims) * 3

    def completed(dim, value):
        return [one(rows, breakdown_dimension=dim, breakdown_value=value, step_number=n)["completed_users"]
                for n in (1, 2, 3)]

    assert completed("install_source", "ads") == [2, 2, 1]
    assert completed("install_source", "(none)") == [1, 0, 0]
    assert completed("company_size", "50") == [0, 0, 0]
    none3 = one(rows, breakdown_dimension="install_source", breakdown_value="(none)", step_number=3)
    assert none3["entered_users"] == 0
    assert none3["drop_off_rate"] is None
    assert none3["conversion_from_start"] == 0.0
    assert none3["median_hours_from_previous_step"] is None
    assert none3["mean_hours_from_previous_step"] is None
    s50 = one(rows, breakdown_dimension="company_size", breakdown_value="50", step_number=1)
    assert (s50["cohort_users"], s50["entered_users"], s50["drop_off_rate"]) == (1, 1, 1.0)


# ------------------------------------------------------------- funnel censoring

# Steps a (1 d) and b (7 d): the longest step window is 7 days.
CENSOR_MILESTONES = [M("a", 1, timeframe="1d"), M("b", 2, timeframe="7d")]
CENSOR_AS_OF = "2024-01-10 00:00:00"
CENSOR_USERS = [
    U("old1", "2024-01-01 00:00:00"),
    U("old2", "2024-01-02 00:00:00"),
    # created_at + 7 d = as_of exactly: eligible (inclusive, to the second)
    U("edge", "2024-01-03 00:00:00"),
    # one second younger: still inside the window, in progress although it reached a
    U("young1", "2024-01-03 00:00:01", install_source="ads"),
    # next week's cohort: nobody eligible yet
    U("young2", "2024-01-09 00:00:00"),
]
CENSOR_EVENTS = [
    E("old1", "a", "2024-01-01 10:00:00"), E("old1", "b", "2024-01-02 10:00:00"),
    E("old2", "a", "2024-01-02 04:00:00"),  # never b: a real drop-off
    # b exactly at its deadline, which is also as_of
    E("edge", "a", "2024-01-03 05:00:00"), E("edge", "b", "2024-01-10 00:00:00"),
    E("young1", "a", "2024-01-03 01:00:01"),
]


def censor_result(**vars):
    return run(CENSOR_USERS, CENSOR_EVENTS, CENSOR_MILESTONES, **{"activation_as_of": CENSOR_AS_OF, **vars})


def test_funnel_counts_young_users_in_progress_not_as_drop_offs():
    rows = censor_result()["funnel"]
    c1, c2 = D(2024, 1, 1), D(2024, 1, 8)

    def step(cohort, n, dimension="all", value="all"):
        return one(rows, cohort_date=cohort, breakdown_dimension=dimension, breakdown_value=value, step_number=n)

    s1, s2 = step(c1, 1), step(c1, 2)
    for s in (s1, s2):
        assert (s["cohort_users"], s["eligible_users"], s["in_progress_users"]) == (4, 3, 1)
    # step 1: old1, old2, edge (young1 reached a within 1 d but is in progress)
    assert (s1["entered_users"], s1["completed_users"]) == (3, 3)
    assert s1["drop_off_rate"] == 0.0
    assert s1["conversion_from_start"] == 1.0
    # hours from signup of the eligible completers: 10, 4, 5 (young1's 1 h left out)
    assert s1["median_hours_from_previous_step"] == approx(5.0)
    assert s1["mean_hours_from_previous_step"] == approx(19 / 3)
    # step 2: old1 and edge (b at its deadline = as_of); old2 drops off
    assert (s2["entered_users"], s2["completed_users"]) == (3, 2)
    assert s2["drop_off_rate"] == approx(1 / 3)
    assert s2["conversion_from_start"] == approx(2 / 3)
    # hours from a: old1 24, edge 6 d 19 h = 163
    assert s2["median_hours_from_previous_step"] == approx(93.5)
    assert s2["mean_hours_from_previous_step"] == approx(93.5)

    # a young cohort: rows for every step, nothing entered, no drop-off rate
    for n in (1, 2):
        s = step(c2, n)
        assert (s["cohort_users"], s["eligible_users"], s["in_progress_users"]) == (1, 0, 1)
        assert (s["entered_users"], s["completed_users"]) == (0, 0)
        assert s["drop_off_rate"] is None
        assert s["conversion_from_start"] is None
        assert s["median_hours_from_previous_step"] is None
        assert s["mean_hours_from_previous_step"] is None

    # a breakdown group made only of an in-progress user
    ads = step(c1, 1, "install_source", "ads")
    assert (ads["cohort_users"], ads["eligible_users"], ads["in_progress_users"]) == (1, 0, 1)
    assert (ads["entered_users"], ads["completed_users"], ads["drop_off_rate"]) == (0, 0, None)
    organic = step(c1, 2, "install_source", "organic")
    assert (organic["eligible_users"], organic["in_progress_users"], organic["completed_users"]) == (3, 0, 2)


def test_funnel_eligibility_uses_the_longest_step_window():
    # as_of one second earlier: the edge user's 7-day window is no longer closed
    rows = censor_result(activation_as_of="2024-01-09 23:59:59")["funnel"]
    s1 = one(rows, cohort_date=D(2024, 1, 1), breakdown_dimension="all", step_number=1)
    assert (s1["cohort_users"], s1["eligible_users"], s1["in_progress_users"]) == (4, 2, 2)
    assert (s1["entered_users"], s1["completed_users"]) == (2, 2)
    # a single 1-day step: every user of the first cohort is past it
    one_step = run(CENSOR_USERS, CENSOR_EVENTS, CENSOR_MILESTONES[:1], activation_as_of=CENSOR_AS_OF)["funnel"]
    s1 = one(one_step, cohort_date=D(2024, 1, 1), breakdown_dimension="all", step_number=1)
    assert (s1["eligible_users"], s1["in_progress_users"], s1["completed_users"]) == (4, 0, 4)
    young = one(one_step, cohort_date=D(2024, 1, 8), breakdown_dimension="all", step_number=1)
    assert (young["eligible_users"], young["in_progress_users"]) == (1, 0)  # 2024-01-09 + 1 d = as_of
    assert (young["completed_users"], young["drop_off_rate"]) == (0, 1.0)


def test_funnel_without_as_of_has_nobody_eligible():
    # no event timestamp and no var: as_of is null, every comparison with it unknown
    rows = run([U("u1"), U("u2")], [], CENSOR_MILESTONES)["funnel"]
    assert len(rows) == 4 * 2  # all, install_source, plan_tier, signup_type x 2 steps
    for row in rows:
        assert (row["cohort_users"], row["eligible_users"], row["in_progress_users"]) == (2, 0, 2)
        assert (row["entered_users"], row["completed_users"], row["drop_off_rate"]) == (0, 0, None)
        assert row["as_of"] is None


def test_kpi_milestone_completion_rate_follows_the_funnel():
    table = {(r["period_start"], r["kpi_name"]): r for r in censor_result()["kpis"]}
    w1 = table[(D(2024, 1, 1), "milestone_completion_rate")]
    # eligible by the longest step window (7 d), not by step 1's own 1 d: young1 is out
    assert (w1["value"], w1["numerator"], w1["denominator"]) == (1.0, 3, 3)
    # young2's 1-day window of step 1 has closed, its 7-day funnel window has not
    w2 = table[(D(2024, 1, 8), "milestone_completion_rate")]
    assert (w2["value"], w2["numerator"], w2["denominator"]) == (None, 0, 0)


# ---------------------------------------------------------------------- velocity


def test_velocity_keeps_negative_differences_and_ttfv_row():
    rows = run(FUNNEL_USERS, FUNNEL_EVENTS, FUNNEL_MILESTONES, **FUNNEL_VARS)["milestone_velocity"]
    assert sorted(r["to_step_number"] for r in rows) == [0, 2, 3]
    r0 = one(rows, to_step_number=0)
    assert (r0["from_milestone_id"], r0["to_milestone_id"], r0["users"]) == (None, "a", 3)
    assert r0["mean_hours"] == approx(4 / 3)
    assert r0["median_hours"] == approx(1.0)
    # a -> b: u1 +1, u2 +2, u3 -1 (b before a is kept, no order rule)
    r2 = one(rows, to_step_number=2)
    assert (r2["from_milestone_id"], r2["to_milestone_id"], r2["users"]) == ("a", "b", 3)
    assert r2["mean_hours"] == approx(2 / 3)
    assert r2["median_hours"] == approx(1.0)
    # b -> c: u1 +3, u2 -1, u3 +2
    r3 = one(rows, to_step_number=3)
    assert (r3["from_milestone_id"], r3["to_milestone_id"], r3["users"]) == ("b", "c", 3)
    assert r3["mean_hours"] == approx(4 / 3)
    assert r3["median_hours"] == approx(2.0)


def test_velocity_ttfv_ignores_timeframe_and_no_rows_without_users():
    users = [U("u1")]
    events = [E("u1", "a", "2024-01-03 00:00:00")]  # late for a 1-day timeframe
    rows = run(users, events, [M("a", 1, timeframe="1d"), M("b", 2)], activation_as_of="2024-02-01")[
        "milestone_velocity"
    ]
    assert len(rows) == 1
    assert (rows[0]["to_step_number"], rows[0]["users"], rows[0]["median_hours"]) == (0, 1, approx(48.0))


# --------------------------------------------------------------------- retention

RETENTION_MILESTONES = [M("a", 1, activation=True)]
RETENTION_USERS = [U(u) for u in ("u1", "u2", "u3", "u5")] + [U("u4", "2024-01-20 00:00:00")]
RETENTION_EVENTS = [
    E("u1", "a", "2024-01-02 00:00:00"), E("u1", "ping", "2024-01-09 00:00:00"),  # exactly +7 d: included
    E("u2", "a", "2024-01-02 00:00:00"), E("u2", "ping", "2024-01-09 00:00:01"),  # just after +7 d
    E("u3", "a", "2024-01-02 00:00:00"), E("u3", "other", "2024-01-03 00:00:00"),
    E("u5", "a", "2024-01-02 00:00:00"), E("u5", "ping", "2024-01-02 00:00:00"),  # exactly at activated_at
    E("u4", "a", "2024-01-25 00:00:00"), E("u4", "ping", "2024-01-26 00:00:00"),
]


def test_retention_window_boundaries_any_event():
    rows = run(RETENTION_USERS, RETENTION_EVENTS, RETENTION_MILESTONES, activation_as_of="2024-02-01 00:00:00")[
        "retention"
    ]
    assert len(rows) == 4
    w7 = one(rows, activation_cohort_date=D(2024, 1, 1), window_days=7)
    assert (w7["activated_users"], w7["eligible_users"], w7["retained_users"]) == (4, 4, 2)  # u1, u3
    assert w7["retention_rate"] == 0.5 and w7["is_mature"] is True
    # 30-day window closes exactly at as_of -> eligible
    w30 = one(rows, activation_cohort_date=D(2024, 1, 1), window_days=30)
    assert (w30["activated_users"], w30["eligible_users"], w30["retained_users"]) == (4, 4, 3)
    assert w30["retention_rate"] == 0.75 and w30["is_mature"] is True
    late7 = one(rows, activation_cohort_date=D(2024, 1, 22), window_days=7)
    assert (late7["activated_users"], late7["eligible_users"], late7["retained_users"]) == (1, 1, 1)
    late30 = one(rows, activation_cohort_date=D(2024, 1, 22), window_days=30)
    assert (late30["eligible_users"], late30["retained_users"], late30["retention_rate"]) == (0, 0, None)
    assert late30["is_mature"] is False


def test_retention_with_activity_event_list():
    rows = run(RETENTION_USERS, RETENTION_EVENTS, RETENTION_MILESTONES, activation_as_of="2024-02-01 00:00:00",
               activation_activity_events=["Ping"])["retention"]
    assert one(rows, activation_cohort_date=D(2024, 1, 1), window_days=7)["retained_users"] == 1  # u1
    assert one(rows, activation_cohort_date=D(2024, 1, 1), window_days=30)["retained_users"] == 2  # u1, u2


# -------------------------------------------------------------------------- viral

VIRAL_USERS = [
    U("u1", "2024-01-01 00:00:00"), U("u2", "2024-01-02 00:00:00"),
    U("u5", "2024-01-08 00:00:00", inviter="u1"), U("u6", "2024-01-09 00:00:00", inviter="u2"),
    U("u7", "2024-01-10 00:00:00", inviter="u1"),
    U("u8", "2024-01-15 00:00:00", inviter="u5"),
]
VIRAL_EVENTS = [
    E("u1", "Invite Sent", "2024-01-03 00:00:00", '{"count": 3}', event_id="i1"),
    E("u1", "Invite Sent", "2024-01-03 00:00:00", '{"count": 3}', event_id="i1"),  # duplicate -> removed
    E("u1", "Invite Sent", "2024-01-04 00:00:00", '{"count": "2"}', event_id="i2"),
    E("u1", "Invite Sent", "2024-01-05 00:00:00", None, event_id="i3"),  # missing property -> 1
    E("u2", "invite_sent", "2024-01-06 00:00:00", '{"count": "abc"}', event_id="i4"),  # unparseable -> 1
    E("u2", "invite_sent", "2024-03-01 00:00:00", None, event_id="i5"),  # future -> quarantined
    E("u2", "invite_sent", "2024-01-06 00:00:00", "not json", event_id="i6"),  # invalid JSON -> quarantined
]


def test_viral_with_count_property_and_zero_invites():
    rows = run(VIRAL_USERS, VIRAL_EVENTS, [M("a", 1)], activation_as_of="2024-01-20 00:00:00",
               activation_invite_count_property="count")["viral_coefficient"]
    assert len(rows) == 3
    c1 = one(rows, cohort_date=D(2024, 1, 1))
    assert (c1["cohort_users"], c1["inviting_users"], c1["invites_sent"], c1["invited_signups"]) == (2, 2, 7, 3)
    assert c1["invites_per_user"] == approx(3.5)
    assert c1["invite_acceptance_rate"] == approx(3 / 7)
    assert c1["viral_coefficient"] == approx(1.5)
    # invited signups but no invite sent: no division error, nulls
    c2 = one(rows, cohort_date=D(2024, 1, 8))
    assert (c2["cohort_users"], c2["inviting_users"], c2["invites_sent"], c2["invited_signups"]) == (3, 0, 0, 1)
    assert c2["invites_per_user"] == 0.0
    assert c2["invite_acceptance_rate"] is None
    assert c2["viral_coefficient"] is None
    c3 = one(rows, cohort_date=D(2024, 1, 15))
    assert (c3["cohort_users"], c3["invites_sent"], c3["invited_signups"], c3["viral_coefficient"]) == (1, 0, 0, None)


def test_viral_without_count_property_counts_events():
    rows = run(VIRAL_USERS, VIRAL_EVENTS, [M("a", 1)], activation_as_of="2024-01-20 00:00:00")["viral_coefficient"]
    c1 = one(rows, cohort_date=D(2024, 1, 1))
    assert c1["invites_sent"] == 4
    assert c1["invites_per_user"] == approx(2.0)
    assert c1["invite_acceptance_rate"] == approx(0.75)
    assert c1["viral_coefficient"] == approx(1.5)


def test_event_names_in_vars_are_normalised():
    # the var spelled as a user would write it matches the staged (normalised) names
    for spelling in ("Invite Sent", " INVITE-SENT ", "invite_sent"):
        rows = run(VIRAL_USERS, VIRAL_EVENTS, [M("a", 1)], activation_as_of="2024-01-20 00:00:00",
                   activation_invite_event=spelling)["viral_coefficient"]
        assert one(rows, cohort_date=D(2024, 1, 1))["invites_sent"] == 4, spelling
    # Unicode names in vars: letters of every script kept, emoji and punctuation separate
    users = [U("u1", "2024-01-01 00:00:00"), U("u2", "2024-01-02 00:00:00", inviter="u1")]
    events = [
        E("u1", "a", "2024-01-01 01:00:00"),
        E("u1", "招待 送信", "2024-01-03 00:00:00"),
        E("u1", "Einladung  gesendet", "2024-01-03 00:00:00"),
        E("u1", "einladung_gesendet", "2024-01-04 00:00:00"),
        E("u1", "Café Ouvert", "2024-01-05 00:00:00"),  # activity
        E("u1", "caf ouvert", "2024-01-06 00:00:00"),  # another name, not an activity event
        E("u2", "Abonnement Gestartet", "2024-01-05 00:00:00"),
    ]
    common = {"activation_as_of": "2024-02-15 00:00:00"}
    rows = run(users, events, [M("a", 1, activation=True)], activation_invite_event="✉ Einladung—gesendet!",
               **common)["viral_coefficient"]
    assert one(rows, cohort_date=D(2024, 1, 1))["invites_sent"] == 2
    rows = run(users, events, [M("a", 1, activation=True)], activation_invite_event="招待・送信", **common)[
        "viral_coefficient"]
    assert one(rows, cohort_date=D(2024, 1, 1))["invites_sent"] == 1
    # retention counts only the 'café_ouvert' activity of u1 (activated 2024-01-01 01:00)
    result = run(users, events, [M("a", 1, activation=True)], activation_activity_events=["CAFÉ ouvert 🙂"],
                 activation_conversion_event="abonnement-gestartet", **common)
    w7 = one(result["retention"], activation_cohort_date=D(2024, 1, 1), window_days=7)
    assert (w7["activated_users"], w7["eligible_users"], w7["retained_users"]) == (1, 1, 1)
    rows = run(users, [e for e in events if e["event_name"] != "Café Ouvert"], [M("a", 1, activation=True)],
               activation_activity_events=["CAFÉ ouvert 🙂"], **common)["retention"]
    assert one(rows, activation_cohort_date=D(2024, 1, 1), window_days=7)["retained_users"] == 0
    assert {r["highest_level_reached"]: r["converted_users"] for r in result["conversion_by_milestone"]} == {
        0: 1, 1: 0}


def test_experiment_exposure_event_var_is_normalised():
    from reference.survival_reference import compute_statistics

    users = [U("u1"), U("u2")]
    events = [
        E("u1", "Experiment Exposure", "2024-01-01 01:00:00", '{"experiment": "x", "variant": "control"}'),
        E("u2", "experiment_exposure", "2024-01-01 01:00:00", '{"experiment": "x", "variant": "b"}'),
        E("u2", "実験 表示", "2024-01-01 02:00:00", '{"experiment": "y", "variant": "b"}'),
    ]
    for spelling, expected in (("EXPERIMENT-exposure", {"x": 2}), ("👀 実験・表示", {"y": 1})):
        result = compute_statistics(users, events, [M("a", 1)], [], {
            "activation_as_of": "2024-02-01 00:00:00", "activation_experiment_exposure_event": spelling})
        assert {r["experiment_id"]: r["exposed_users"] for r in result["experiments"]} == expected, spelling


# ---------------------------------------------------------- conversion by milestone

CONV_USERS = [
    U("u1", plan_tier="pro"), U("u2", plan_tier="free"), U("u3", plan_tier=None),
    U("u4", plan_tier="team"), U("u5", plan_tier="pro"),
]
CONV_EVENTS = [
    E("u1", "a", "2024-01-01 01:00:00"), E("u1", "b", "2024-01-01 02:00:00"),
    E("u2", "a", "2024-01-01 01:00:00"),
    E("u5", "a", "2024-01-01 01:00:00"), E("u5", "b", "2024-01-10 00:00:00"),  # b late -> level 1
]
CONV_MILESTONES = [M("a", 1), M("b", 2)]


def test_conversion_by_highest_level_including_zero():
    rows = run(CONV_USERS, CONV_EVENTS, CONV_MILESTONES, activation_as_of="2024-02-01")["conversion_by_milestone"]
    assert [r["highest_level_reached"] for r in rows] == [0, 1, 2]
    got = {r["highest_level_reached"]: (r["users"], r["converted_users"], r["conversion_rate"], r["share_of_users"])
           for r in rows}
    # level 0: u3 (null tier = free), u4 (team, paid); level 1: u2 (free), u5 (pro); level 2: u1 (pro)
    assert got == {0: (2, 1, 0.5, 0.4), 1: (2, 1, 0.5, 0.4), 2: (1, 1, 1.0, 0.2)}


def test_conversion_free_tiers_var_and_conversion_event():
    rows = run(CONV_USERS, CONV_EVENTS, CONV_MILESTONES, activation_as_of="2024-02-01",
               activation_free_plan_tiers=["free", "team"])["conversion_by_milestone"]
    assert one(rows, highest_level_reached=0)["converted_users"] == 0
    events = CONV_EVENTS + [
        E("u2", "subscription_started", "2024-01-05 00:00:00"),
        E("u3", "Subscription Started", "2023-12-31 00:00:00"),  # before signup: does not count
    ]
    rows = run(CONV_USERS, events, CONV_MILESTONES, activation_as_of="2024-02-01",
               activation_conversion_event="Subscription Started")["conversion_by_milestone"]
    got = {r["highest_level_reached"]: r["converted_users"] for r in rows}
    assert got == {0: 0, 1: 1, 2: 0}


# ------------------------------------------------------------------------ nudges

NUDGE_MILESTONES = [M("a", 1), M("b", 2)]
NUDGE_USERS = [
    U("c1", "2024-01-01 00:00:00"), U("c2", "2024-01-01 00:00:00"),
    U("p1", "2024-01-08 00:00:00"), U("p2", "2024-01-02 00:00:00"),
    U("q1", "2024-01-09 00:00:00"), U("r1", "2024-01-09 00:00:00"),
    U("n1", "2024-01-09 12:00:00"), U("n2", "2024-01-03 00:00:00"),
]
NUDGE_EVENTS = [
    E("c1", "a", "2024-01-01 12:00:00"), E("c1", "b", "2024-01-02 00:00:00"),
    E("c2", "a", "2024-01-02 00:00:00"), E("c2", "b", "2024-01-04 00:00:00"),
    E("p1", "a", "2024-01-08 06:00:00"),
    E("p2", "a", "2024-01-02 12:00:00"),
    E("q1", "b", "2024-01-09 01:00:00"),
]


def test_nudges_proactive_reactive_and_no_rows():
    rows = run(NUDGE_USERS, NUDGE_EVENTS, NUDGE_MILESTONES, activation_as_of="2024-01-10 00:00:00")["nudges"]
    # median seconds to a (c1 12h, c2 24h, p1 6h, p2 12h) = 12 h; to b (q1 1h, c1 24h, c2 72h) = 24 h
    assert [r["user_id"] for r in rows] == ["p1", "q1", "r1"]
    p1 = one(rows, user_id="p1")
    assert (p1["nudge_type"], p1["milestone_id"], p1["milestone_level"], p1["previous_milestone_id"]) == (
        "proactive", "b", 2, "a")
    assert p1["deadline_at"] == T(2024, 1, 15)
    assert p1["days_left"] == approx(5.0)
    assert p1["median_days_to_reach"] == approx(1.0)
    # q1 reached b but not a: the target is step 1, so reactive (elapsed 24 h > 12 h)
    q1 = one(rows, user_id="q1")
    assert (q1["nudge_type"], q1["milestone_id"], q1["previous_milestone_id"]) == ("reactive", "a", None)
    r1 = one(rows, user_id="r1")
    assert (r1["nudge_type"], r1["milestone_id"], r1["previous_milestone_id"]) == ("reactive", "a", None)
    assert r1["deadline_at"] == T(2024, 1, 16)
    assert r1["days_left"] == approx(6.0)
    assert r1["median_days_to_reach"] == approx(0.5)
    assert r1["as_of"] == T(2024, 1, 10)
    # c1, c2: everything reached; p2: b window closed; n1: elapsed 12 h == median (not >);
    # n2: a window closes exactly at as_of (closed)


def test_nudges_without_completers():
    users = [U("z1", "2024-01-08 00:00:00"), U("z2", "2024-01-05 00:00:00")]
    events = [E("z1", "a", "2024-01-08 01:00:00")]
    rows = run(users, events, NUDGE_MILESTONES, activation_as_of="2024-01-10 00:00:00")["nudges"]
    z1 = one(rows, user_id="z1")  # proactive even though nobody has reached b
    assert (z1["nudge_type"], z1["milestone_id"], z1["median_days_to_reach"]) == ("proactive", "b", None)
    assert one(rows, user_id="z2")["nudge_type"] == "reactive"  # median to a = 1 h
    # nobody reached a: no reactive nudge at all
    rows = run([U("z2", "2024-01-05 00:00:00")], [], NUDGE_MILESTONES, activation_as_of="2024-01-10 00:00:00")
    assert rows["nudges"] == []


# --------------------------------------------------------------------------- PQL

PQL_MILESTONES = [M("a", 1, 30, "30d"), M("b", 2, 25, "30d"), M("c", 3, 10, "30d")]
PQL_USERS = [U(u) for u in ("u1", "u2", "u3", "u4")]
PQL_EVENTS = [
    E("u1", "a", "2024-01-01 10:00:00"),
    E("u2", "a", "2024-01-02 09:00:00"), E("u2", "b", "2024-01-02 15:00:00"),
    E("u3", "a", "2024-01-01 08:00:00"), E("u3", "c", "2024-01-12 06:00:00"),
    E("u4", "b", "2024-01-18 06:00:00"),
]
PQL_AS_OF = "2024-01-20 12:00:00"


def history_of(rows, user_id):
    return [(r["valid_from"], r["valid_to"], r["pql_score"], r["pql_band"], r["top_milestones"], r["is_current"])
            for r in rows if r["user_id"] == user_id]


def test_pql_history_decay_and_band_changes():
    result = run(PQL_USERS, PQL_EVENTS, PQL_MILESTONES, activation_as_of=PQL_AS_OF)
    rows = result["pql_score_history"]
    # reached 01-01, recency 7: full weight through 01-08, half from 01-09 -> drops a band
    assert history_of(rows, "u1") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "sdr_outreach", "a", False),
        (D(2024, 1, 9), None, 15.0, "nurture", "a", True),
    ]
    assert history_of(rows, "u2") == [
        (D(2024, 1, 2), D(2024, 1, 10), 55.0, "ae_handoff", "a, b", False),
        (D(2024, 1, 10), None, 27.5, "sdr_outreach", "a, b", True),
    ]
    assert history_of(rows, "u3") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "sdr_outreach", "a", False),
        (D(2024, 1, 9), D(2024, 1, 12), 15.0, "nurture", "a", False),
        (D(2024, 1, 12), D(2024, 1, 20), 25.0, "sdr_outreach", "a, c", False),
        (D(2024, 1, 20), None, 20.0, "nurture", "a, c", True),
    ]
    # u4's decay date 01-26 is after as_of: not a change point
    assert history_of(rows, "u4") == [(D(2024, 1, 18), None, 25.0, "sdr_outreach", "b", True)]
    assert one(rows, user_id="u2", valid_from=D(2024, 1, 2))["pql_action"] == "ae handoff"
    assert one(rows, user_id="u1", valid_from=D(2024, 1, 9))["pql_action"] == "automated nurture"
    assert all(r["as_of"] == T(2024, 1, 20, 12) for r in rows)


def test_pql_daily_decays_exactly_on_reached_plus_recency_plus_one():
    daily = run(PQL_USERS, PQL_EVENTS, PQL_MILESTONES, activation_as_of=PQL_AS_OF)["pql_scores_daily"]
    u1 = {r["score_date"]: r["pql_score"] for r in daily if r["user_id"] == "u1"}
    assert u1[D(2024, 1, 8)] == 30.0
    assert u1[D(2024, 1, 9)] == 15.0
    # default 90 days covers everything from the first change point to date(as_of)
    counts = {u: sum(1 for r in daily if r["user_id"] == u) for u in ("u1", "u2", "u3", "u4")}
    assert counts == {"u1": 20, "u2": 19, "u3": 20, "u4": 3}


def test_pql_daily_window():
    daily = run(PQL_USERS, PQL_EVENTS, PQL_MILESTONES, activation_as_of=PQL_AS_OF,
                activation_pql_daily_days=5)["pql_scores_daily"]
    assert {r["score_date"] for r in daily} == {D(2024, 1, d) for d in range(16, 21)}
    assert len(daily) == 5 + 5 + 5 + 3
    u3 = [(r["score_date"], r["pql_score"], r["pql_band"]) for r in daily if r["user_id"] == "u3"]
    assert u3 == [(D(2024, 1, d), 25.0, "sdr_outreach") for d in range(16, 20)] + [
        (D(2024, 1, 20), 20.0, "nurture")]
    u4 = one(daily, user_id="u4", score_date=D(2024, 1, 18))
    assert (u4["pql_score"], u4["pql_band"], u4["pql_action"]) == (25.0, "sdr_outreach", "sdr outreach")


def test_pql_handoffs_two_bands_one_day_and_recrossing():
    rows = run(PQL_USERS, PQL_EVENTS, PQL_MILESTONES, activation_as_of=PQL_AS_OF)["pql_handoffs"]
    got = [(r["user_id"], r["crossed_on"], r["crossed_at"], r["from_band"], r["to_band"], r["pql_action"],
            r["pql_score"]) for r in rows]
    assert got == [
        ("u1", D(2024, 1, 1), T(2024, 1, 1, 10), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        # two bands crossed on one day: one row, crossing time = latest reach of that day
        ("u2", D(2024, 1, 2), T(2024, 1, 2, 15), "nurture", "ae_handoff", "ae handoff", 55.0),
        ("u3", D(2024, 1, 1), T(2024, 1, 1, 8), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        # decayed to nurture on 01-09, crosses again on 01-12
        ("u3", D(2024, 1, 12), T(2024, 1, 12, 6), "nurture", "sdr_outreach", "sdr outreach", 25.0),
        ("u4", D(2024, 1, 18), T(2024, 1, 18, 6), "nurture", "sdr_outreach", "sdr outreach", 25.0),
    ]
    days = [r["days_since_signup"] for r in rows]
    assert days == [approx(10 / 24), approx(1.625), approx(1 / 3), approx(11.25), approx(17.25)]
    ids = [r["handoff_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert ids[0] == hashlib.md5(b"u1|sdr_outreach|2024-01-01").hexdigest()


def test_pql_recency_and_decay_vars():
    rows = run(PQL_USERS[:1], PQL_EVENTS[:1], PQL_MILESTONES, activation_as_of=PQL_AS_OF,
               activation_pql_recency_days=3, activation_pql_decay=0.25)["pql_score_history"]
    assert [(r["valid_from"], r["pql_score"], r["pql_band"]) for r in rows] == [
        (D(2024, 1, 1), 30.0, "sdr_outreach"), (D(2024, 1, 5), 7.5, "nurture")]


def test_pql_fractional_rubric():
    milestones = [M("m1", 1, 0.2, "30d"), M("m2", 2, 0.3, "30d"), M("m3", 3, 0.25, "30d"), M("m4", 4, 0.25, "30d")]
    events = [E("u1", "m1", "2024-01-01 09:00:00"), E("u1", "m2", "2024-01-03 09:00:00")]
    bands = [{"band": "low", "min_score": 0}, {"band": "pql", "min_score": 0.5}]
    result = run([U("u1")], events, milestones, activation_as_of="2024-01-12 00:00:00", activation_pql_bands=bands)
    history = [(r["valid_from"], r["valid_to"], r["pql_score"], r["pql_band"], r["top_milestones"])
               for r in result["pql_score_history"]]
    assert history == [
        (D(2024, 1, 1), D(2024, 1, 3), approx(0.2), "low", "m1"),
        (D(2024, 1, 3), D(2024, 1, 9), approx(0.5), "pql", "m2, m1"),
        (D(2024, 1, 9), D(2024, 1, 11), approx(0.4), "low", "m2, m1"),  # m1 decays to 0.1
        (D(2024, 1, 11), None, approx(0.25), "low", "m2, m1"),  # m2 decays to 0.15; same band, new score
    ]
    handoffs = result["pql_handoffs"]
    assert len(handoffs) == 1
    h = handoffs[0]
    assert (h["crossed_on"], h["crossed_at"], h["from_band"], h["to_band"], h["pql_action"]) == (
        D(2024, 1, 3), T(2024, 1, 3, 9), "low", "pql", None)
    assert h["pql_score"] == approx(0.5)
    assert h["days_since_signup"] == approx(2.375)


# -------------------------------------------------------------------------- KPIs

KPI_MILESTONES = [M("a", 1, 20), M("b", 2, 40, activation=True), M("c", 3, 40)]
KPI_USERS = [
    U("u1", "2024-01-01 00:00:00", plan_tier="pro"),
    U("u2", "2024-01-02 00:00:00"),
    U("u3", "2024-01-03 00:00:00"),
    U("u4", "2024-01-04 00:00:00"),
    U("u5", "2024-01-08 00:00:00", plan_tier="pro", inviter="u1"),
    U("u6", "2024-01-09 00:00:00"),
    U("u7", "2024-01-10 00:00:00"),
]
KPI_EVENTS = [
    E("u1", "a", "2024-01-01 02:00:00"), E("u1", "b", "2024-01-01 12:00:00"), E("u1", "c", "2024-01-01 14:00:00"),
    E("u1", "invite_sent", "2024-01-02 00:00:00"), E("u1", "invite_sent", "2024-01-02 00:00:00"),
    E("u1", "ping", "2024-01-05 00:00:00"),
    E("u2", "a", "2024-01-02 10:00:00"),
    E("u4", "a", "2024-01-04 04:00:00"), E("u4", "b", "2024-01-04 06:00:00"),
    E("u5", "a", "2024-01-08 02:00:00"), E("u5", "b", "2024-01-08 12:00:00"), E("u5", "ping", "2024-01-10 00:00:00"),
    E("u6", "a", "2024-01-09 03:00:00"), E("u6", "b", "2024-01-09 13:00:00"),
]
KPI_AS_OF = "2024-01-25 00:00:00"
W1, W2, W3, W4 = D(2024, 1, 1), D(2024, 1, 8), D(2024, 1, 15), D(2024, 1, 22)


def kpi_table(**vars):
    rows = run(KPI_USERS, KPI_EVENTS, KPI_MILESTONES, activation_as_of=KPI_AS_OF, **vars)["kpis"]
    return {(r["period_start"], r["kpi_name"]): r for r in rows}, rows


def test_kpi_values_per_period():
    table, rows = kpi_table()
    assert len(rows) == 4 * 10
    assert {r["period_start"] for r in rows} == {W1, W2, W3, W4}
    expected_w1 = {
        "activation_rate": (0.5, 2, 4),
        "ttfv_median_hours": (4.0, None, 3),
        "ttfv_mean_hours": (16 / 3, 16.0, 3),
        "milestone_completion_rate": (0.75, 3, 4),
        "milestone_velocity_hours": (14 / 3, 14.0, 3),
        "conversion_rate_activated": (0.5, 1, 2),
        "viral_coefficient": (0.25, 1, 4),
        "retention_d7": (0.5, 1, 2),
        "retention_d30": (None, 0, 0),
        "pql_conversion_rate": (0.5, 1, 2),
    }
    expected_w2 = {
        "activation_rate": (2 / 3, 2, 3),
        "ttfv_median_hours": (2.5, None, 2),  # median of an even count
        "ttfv_mean_hours": (2.5, 5.0, 2),
        "milestone_completion_rate": (2 / 3, 2, 3),
        "milestone_velocity_hours": (10.0, 20.0, 2),
        "conversion_rate_activated": (0.5, 1, 2),
        "viral_coefficient": (None, 0, 3),
        "retention_d7": (0.5, 1, 2),
        "retention_d30": (None, 0, 0),
        "pql_conversion_rate": (0.0, 0, 2),
    }
    for period, expected in ((W1, expected_w1), (W2, expected_w2)):
        for name, (value, numerator, denominator) in expected.items():
            row = table[(period, name)]
            assert row["value"] == (None if value is None else approx(value)), (period, name)
            assert row["numerator"] == (None if numerator is None else approx(numerator)), (period, name)
            assert row["denominator"] == denominator, (period, name)
            assert row["as_of"] == T(2024, 1, 25)


def test_kpi_periods_without_signups_are_null():
    table, _ = kpi_table()
    for period in (W3, W4):
        for name in ("activation_rate", "ttfv_median_hours", "ttfv_mean_hours", "milestone_velocity_hours",
                     "viral_coefficient", "retention_d7", "retention_d30", "pql_conversion_rate"):
            row = table[(period, name)]
            assert row["value"] is None
            assert row["status"] is None
            assert row["change_from_previous"] is None
            assert row["denominator"] == 0
    assert table[(W3, "ttfv_mean_hours")]["numerator"] is None
    assert table[(W3, "activation_rate")]["numerator"] == 0
    assert table[(W3, "activation_rate")]["previous_value"] == approx(2 / 3)
    assert table[(W4, "activation_rate")]["previous_value"] is None


def test_kpi_default_targets_and_direction():
    table, _ = kpi_table()
    assert table[(W1, "activation_rate")]["target_value"] == 0.40
    assert table[(W1, "ttfv_median_hours")]["target_value"] == 36
    assert table[(W1, "pql_conversion_rate")]["target_value"] == 0.15
    directions = {name: table[(W1, name)]["direction"] for name in
                  ("ttfv_median_hours", "ttfv_mean_hours", "milestone_velocity_hours", "activation_rate",
                   "retention_d7")}
    assert directions == {
        "ttfv_median_hours": "lower_is_better", "ttfv_mean_hours": "lower_is_better",
        "milestone_velocity_hours": "lower_is_better", "activation_rate": "higher_is_better",
        "retention_d7": "higher_is_better",
    }
    assert table[(W1, "ttfv_median_hours")]["status"] == "on_track"  # 4 <= 36
    assert table[(W1, "retention_d7")]["status"] == "on_track"  # 0.5 >= 0.5
    assert table[(W1, "viral_coefficient")]["status"] is None  # 0.25 < 0.5 and no previous period
    assert table[(W1, "viral_coefficient")]["previous_value"] is None
    w2_completion = table[(W2, "milestone_completion_rate")]
    assert w2_completion["previous_value"] == approx(0.75)
    assert w2_completion["change_from_previous"] == approx(2 / 3 - 0.75)
    assert w2_completion["status"] == "needs_attention"  # 0.667 < 0.70 and falling
    assert table[(W2, "pql_conversion_rate")]["status"] == "needs_attention"
    assert table[(W2, "viral_coefficient")]["status"] is None


def test_kpi_previous_change_and_each_status():
    targets = {"activation_rate": 0.9, "ttfv_median_hours": 1.0, "milestone_velocity_hours": 1.0,
               "conversion_rate_activated": 0.9}
    table, _ = kpi_table(activation_kpi_targets=targets)
    assert table[(W1, "activation_rate")]["status"] is None  # target missed, no previous value
    assert table[(W1, "retention_d7")]["target_value"] is None
    statuses = {name: table[(W2, name)]["status"] for name in
                ("activation_rate", "ttfv_median_hours", "ttfv_mean_hours", "milestone_velocity_hours",
                 "conversion_rate_activated", "milestone_completion_rate", "retention_d7")}
    assert statuses == {
        "activation_rate": "improving",  # 0.5 -> 0.667, target 0.9 missed
        "ttfv_median_hours": "improving",  # 4 -> 2.5, lower is better
        "ttfv_mean_hours": "improving",  # 5.33 -> 2.5, no target
        "milestone_velocity_hours": "needs_attention",  # 4.67 -> 10, lower is better
        "conversion_rate_activated": "stable",  # 0.5 -> 0.5
        "milestone_completion_rate": "needs_attention",  # 0.75 -> 0.667, no target
        "retention_d7": "stable",
    }
    assert table[(W2, "ttfv_median_hours")]["change_from_previous"] == approx(-1.5)
    assert table[(W2, "milestone_velocity_hours")]["change_from_previous"] == approx(10 - 14 / 3)
    assert table[(W2, "conversion_rate_activated")]["change_from_previous"] == 0.0


def test_kpi_period_month_and_bad_period():
    _, rows = kpi_table(activation_kpi_period="month")
    assert {r["period_start"] for r in rows} == {W1}
    assert one(rows, kpi_name="activation_rate")["value"] == approx(4 / 7)
    with pytest.raises(ConfigError):
        kpi_table(activation_kpi_period="quarter")


# ---------------------------------------------------------- confidence intervals

# KPIs that are a share of counted users; the others (hours, viral) have no interval.
RATE_KPI_NAMES = ("activation_rate", "milestone_completion_rate", "conversion_rate_activated",
                  "retention_d7", "retention_d30", "pql_conversion_rate")


# 0 of n and n of n: the clamped bounds, up to the last bit of floating point.
ZERO = approx(0.0, abs=1e-12)
ONE = approx(1.0, abs=1e-12)


def interval(row, rate):
    return row[f"{rate}_ci_lower"], row[f"{rate}_ci_upper"]


def test_wilson_interval_against_the_formula():
    # 3 of 4: p = 0.75, centre 1.2301823525867655 / 1.960364705173531 = 0.6275272908,
    # half-width 1.959963984540054 * sqrt(0.046875 + 0.0600228) / 1.960364705173531 = 0.3268854483
    assert wilson_interval(3, 4) == (approx(0.30064184258240, rel=1e-9), approx(0.95441273919029, rel=1e-9))
    assert wilson_interval(0, 4) == (ZERO, approx(0.48989083645459, rel=1e-9))
    assert wilson_interval(4, 4) == (approx(0.51010916354540, rel=1e-9), ONE)
    for count, nobs in ((0, 0), (None, 0), (None, None), (3, None)):
        assert wilson_interval(count, nobs) == (None, None), (count, nobs)
    for nobs in range(1, 41):
        for count in range(nobs + 1):
            lower, upper = wilson_interval(count, nobs)
            by_hand = wilson_by_hand(count, nobs)
            assert (lower, upper) == (approx(by_hand[0], rel=1e-9, abs=1e-12),
                                      approx(by_hand[1], rel=1e-9, abs=1e-12)), (count, nobs)
            assert 0.0 <= lower < upper <= 1.0, (count, nobs)
            assert lower == ZERO if count == 0 else lower > 0.0, (count, nobs)
            assert upper == ONE if count == nobs else upper < 1.0, (count, nobs)


def test_rate_intervals_in_cohort_completion_funnel_retention_conversion():
    rows = run(COHORT_USERS, COHORT_EVENTS, COHORT_MILESTONES, activation_as_of="2024-01-15 00:00:00")[
        "cohort_completion"]
    full = one(rows, cohort_date=D(2024, 1, 1), milestone_id="a", window_name="timeframe")  # 2 of 2
    assert interval(full, "completion_rate") == (approx(0.34238022750665, rel=1e-9), ONE)
    nobody = one(rows, cohort_date=D(2024, 1, 1), milestone_id="b", window_name="d0")  # 0 of 2
    assert interval(nobody, "completion_rate") == (ZERO, approx(0.65761977249334, rel=1e-9))
    empty = one(rows, cohort_date=D(2024, 1, 1), milestone_id="a", window_name="d30")  # 0 of 0
    assert interval(empty, "completion_rate") == (None, None)

    funnel = funnel_rows()
    s1 = one(funnel, cohort_date=D(2024, 1, 1), breakdown_dimension="all", step_number=1)
    # drop-off 1 of 4 (the mirror of 3 of 4), conversion from start 3 of 4
    assert interval(s1, "drop_off_rate") == (approx(0.04558726080970, rel=1e-9),
                                             approx(0.69935815741759, rel=1e-9))
    assert interval(s1, "conversion_from_start") == (approx(0.30064184258240, rel=1e-9),
                                                     approx(0.95441273919029, rel=1e-9))
    s2 = one(funnel, cohort_date=D(2024, 1, 1), breakdown_dimension="all", step_number=2)  # 1 of 3 entered
    assert interval(s2, "drop_off_rate") == (approx(0.06149194472039, rel=1e-9),
                                             approx(0.79234039919795, rel=1e-9))
    none3 = one(funnel, breakdown_dimension="install_source", breakdown_value="(none)", step_number=3)
    assert interval(none3, "drop_off_rate") == (None, None)  # nobody entered
    assert interval(none3, "conversion_from_start") == (ZERO, approx(0.65761977249334, rel=1e-9))  # 0 of 2

    retention = run(RETENTION_USERS, RETENTION_EVENTS, RETENTION_MILESTONES,
                    activation_as_of="2024-02-01 00:00:00")["retention"]
    w7 = one(retention, activation_cohort_date=D(2024, 1, 1), window_days=7)  # 2 of 4
    assert interval(w7, "retention_rate") == (approx(0.15003898915214, rel=1e-9),
                                              approx(0.84996101084785, rel=1e-9))
    late30 = one(retention, activation_cohort_date=D(2024, 1, 22), window_days=30)  # 0 of 0
    assert interval(late30, "retention_rate") == (None, None)

    conversion = run(CONV_USERS, CONV_EVENTS, CONV_MILESTONES, activation_as_of="2024-02-01")[
        "conversion_by_milestone"]
    level2 = one(conversion, highest_level_reached=2)  # converted 1 of 1, 1 of the 5 users
    assert interval(level2, "conversion_rate") == (approx(0.20654931437723, rel=1e-9), ONE)
    assert interval(level2, "share_of_users") == (approx(0.03622410863243, rel=1e-9),
                                                  approx(0.62446537023747, rel=1e-9))
    for row in rows + funnel + retention + conversion:
        for rate in ("completion_rate", "drop_off_rate", "conversion_from_start", "retention_rate",
                     "conversion_rate", "share_of_users"):
            if rate in row:
                assert (row[rate] is None) == (interval(row, rate) == (None, None)), (rate, row)


def test_kpi_value_interval_only_for_rates():
    table, rows = kpi_table()
    activation = table[(W1, "activation_rate")]  # 2 of 4
    assert (activation["value_ci_lower"], activation["value_ci_upper"]) == (
        approx(0.15003898915214, rel=1e-9), approx(0.84996101084785, rel=1e-9))
    pql = table[(W2, "pql_conversion_rate")]  # 0 of 2
    assert (pql["value_ci_lower"], pql["value_ci_upper"]) == (ZERO, approx(0.65761977249334, rel=1e-9))
    for row in rows:
        key = (row["period_start"], row["kpi_name"])
        if row["kpi_name"] in RATE_KPI_NAMES and row["denominator"]:
            lower, upper = wilson_by_hand(row["numerator"], row["denominator"])
            assert (row["value_ci_lower"], row["value_ci_upper"]) == (
                approx(lower, rel=1e-9, abs=1e-12), approx(upper, rel=1e-9, abs=1e-12)), key
        else:  # not a rate (e.g. viral_coefficient, 1 of 4 users) or a denominator of 0
            assert (row["value_ci_lower"], row["value_ci_upper"]) == (None, None), key
    assert table[(W1, "viral_coefficient")]["denominator"] == 4
    assert table[(W1, "retention_d30")]["denominator"] == 0


# ------------------------------------------------------------- multiple testing


def q_of(p_values):
    """``bh_q_values`` on one row per p-value: the q-values in the same order."""
    return [row["q"] for row in bh_q_values([{"p": p} for p in p_values], ["p"], ["q"])]


def test_bh_q_values_by_the_step_up_rule():
    # m = 6 p-values: sorted 0.005, 0.03, 0.04, 0.04, 0.5, 0.9; m p / j = 0.03, 0.09, 0.08, 0.06, 0.6, 0.9;
    # the least over j >= i: 0.03, 0.06, 0.06, 0.06, 0.6, 0.9 (the tied 0.04 share theirs)
    p_values = [0.04, 0.5, 0.005, None, 0.04, 0.9, 0.03]
    expected = [approx(0.06, rel=1e-12), approx(0.6, rel=1e-12), approx(0.03, rel=1e-12), None,
                approx(0.06, rel=1e-12), approx(0.9, rel=1e-12), approx(0.06, rel=1e-12)]
    assert q_of(p_values) == expected
    assert bh_by_hand(p_values) == expected
    # m p / j = 2.4 and 1.5 for the two smallest: capped at 1
    assert q_of([1.0, 0.8, 1.0]) == bh_by_hand([1.0, 0.8, 1.0]) == [1.0, 1.0, 1.0]
    assert q_of([0.37]) == bh_by_hand([0.37]) == [0.37]  # a family of one: q = p
    assert q_of([None, None]) == bh_by_hand([None, None]) == [None, None]
    assert q_of([]) == bh_by_hand([]) == []


def test_bh_q_values_one_family_over_several_columns():
    rows = [{"a": 0.01, "b": None}, {"a": 0.04, "b": 0.03}, {"a": None, "b": None}]
    alone = bh_q_values([dict(row) for row in rows], ["a"], ["q_a"])
    assert bh_q_values(rows, ["a", "b"], ["q_a", "q_b"]) is rows
    # m = 3: 0.01, 0.03, 0.04; 3 p / j = 0.03, 0.045, 0.04; the least over j >= i: 0.03, 0.04, 0.04
    assert [(row["q_a"], row["q_b"]) for row in rows] == [
        (approx(0.03, rel=1e-12), None), (approx(0.04, rel=1e-12), approx(0.04, rel=1e-12)), (None, None)]
    # column a as a family of its own (m = 2): 0.02, 0.04
    assert [row["q_a"] for row in alone] == [approx(0.02, rel=1e-12), approx(0.04, rel=1e-12), None]


def test_bh_q_values_equal_statsmodels_on_random_families():
    from statsmodels.stats.multitest import multipletests

    draw = random.Random(1995)
    for case in range(400):
        pool = [draw.choice([0.0, 1.0, draw.random(), draw.random() ** 4]) for _ in range(draw.randint(1, 5))]
        p_values = [None if draw.random() < 0.2 else draw.choice(pool) if draw.random() < 0.4 else draw.random()
                    for _ in range(draw.randint(1, 40))]
        present = [p for p in p_values if p is not None]
        adjusted = iter(multipletests(present, method="fdr_bh")[1] if present else [])
        q_values, by_hand = q_of(p_values), bh_by_hand(p_values)
        for p, q, hand in zip(p_values, q_values, by_hand):
            if p is None:
                assert q is None and hand is None, case
                continue
            wanted = float(next(adjusted))
            assert q == approx(wanted, rel=1e-12, abs=1e-15) and hand == approx(wanted, rel=1e-12, abs=1e-15), case
            assert p <= q <= 1.0, case
        pairs = sorted((p, q) for p, q in zip(p_values, q_values) if p is not None)
        for (p1, q1), (p2, q2) in zip(pairs, pairs[1:]):
            assert q1 == q2 if p1 == p2 else q1 <= q2, case


# ----------------------------------------------------------------- shape of output


def test_every_mart_has_exactly_the_contract_columns():
    results = [
        run(KPI_USERS, KPI_EVENTS, KPI_MILESTONES, activation_as_of=KPI_AS_OF),
        run(NUDGE_USERS, NUDGE_EVENTS, NUDGE_MILESTONES, activation_as_of="2024-01-10 00:00:00"),
    ]
    for mart, columns in COLUMNS.items():
        rows = [row for result in results for row in result[mart]]
        assert rows, mart
        for row in rows:
            assert list(row) == columns, mart
    assert set(results[0]) == set(COLUMNS)
