"""SPEC §6: the funnel is censored like every rate. Its counts, rates and hours cover
the users whose longest step window has closed (created_at + the greatest timeframe of
all steps <= as_of, inclusive); users still inside it are counted apart
(`in_progress_users`), never as drop-offs. The KPI `milestone_completion_rate` (the
first funnel step) follows the same rule. Every expected value below is worked out by
hand from that contract."""

import datetime as dt

import pytest
from harness import Dataset, event, milestone, user

D = dt.date
AS_OF = "2025-03-31 00:00:00"

# Timeframes differ and the longest (10 days) is the middle step's, not the last one's:
# a rule using the last step's window (7 days) would count b2 and c1 as eligible.
MILESTONES = [
    milestone("s1_login", 1, timeframe="48h", triggered_by_event="login"),
    milestone("s2_core", 2, timeframe="10d", triggered_by_event="core"),
    milestone("s3_paid", 3, timeframe="7d", triggered_by_event="paid"),
]

USERS = [
    # cohort 2025-03-03, long closed
    user("a1", "2025-03-03 00:00:00"),
    user("a2", "2025-03-03 00:00:00"),
    user("a3", "2025-03-04 00:00:00"),
    user("a4", "2025-03-05 00:00:00"),
    # cohort 2025-03-17
    user("b1", "2025-03-21 00:00:00"),  # + 10 days == as_of exactly: eligible
    user("b2", "2025-03-21 00:00:01", install_source="ads"),  # one second short: in progress
    user("b3", "2025-03-17 00:00:00"),
    # cohort 2025-03-24: nobody's longest window has closed
    user("c1", "2025-03-24 00:00:00"),
]

EVENTS = [
    # a1: all three steps in order (1 h, then 23 h, then 24 h)
    event("a1", "login", "2025-03-03 01:00:00", "a1-1"),
    event("a1", "core", "2025-03-04 00:00:00", "a1-2"),
    event("a1", "paid", "2025-03-05 00:00:00", "a1-3"),
    # a2: step 1 after 2 h, never step 2: a drop-off at step 2
    event("a2", "login", "2025-03-03 02:00:00", "a2-1"),
    # a3: login after 72 h, outside the 48 h timeframe: a drop-off at step 1
    event("a3", "login", "2025-03-07 00:00:00", "a3-1"),
    # a4: core before login: step 1 after 2 h, step 2 out of time order: a drop-off at step 2
    event("a4", "core", "2025-03-05 01:00:00", "a4-1"),
    event("a4", "login", "2025-03-05 02:00:00", "a4-2"),
    # b1: all three (6 h, 18 h, 120 h; paid 6 days after signup, inside 7d)
    event("b1", "login", "2025-03-21 06:00:00", "b1-1"),
    event("b1", "core", "2025-03-22 00:00:00", "b1-2"),
    event("b1", "paid", "2025-03-27 00:00:00", "b1-3"),
    # b2: step 1 only; still inside its 10-day window, so in progress, not a drop-off
    event("b2", "login", "2025-03-21 01:00:00", "b2-1"),
    # b3: steps 1 and 2 (12 h, 12 h), no paid: a drop-off at step 3
    event("b3", "login", "2025-03-17 12:00:00", "b3-1"),
    event("b3", "core", "2025-03-18 00:00:00", "b3-2"),
    # c1: steps 1 and 2 while young: in progress
    event("c1", "login", "2025-03-24 01:00:00", "c1-1"),
    event("c1", "core", "2025-03-25 00:00:00", "c1-2"),
]

FUNNEL_COLUMNS = ("cohort_users", "eligible_users", "in_progress_users", "entered_users", "completed_users",
                  "drop_off_rate", "conversion_from_start", "median_hours_from_previous_step",
                  "mean_hours_from_previous_step")

# (cohort_date, breakdown_dimension, breakdown_value, step) -> the columns above
EXPECTED_FUNNEL = {
    # a1..a4 all eligible. Step 1: a1 (1 h), a2 (2 h), a4 (2 h); a3 late. Step 2: a1
    # only (a4 reached it before step 1).
    (D(2025, 3, 3), "all", "all", 1): (4, 4, 0, 4, 3, 1 / 4, 3 / 4, 2.0, 5 / 3),
    (D(2025, 3, 3), "all", "all", 2): (4, 4, 0, 3, 1, 2 / 3, 1 / 4, 23.0, 23.0),
    (D(2025, 3, 3), "all", "all", 3): (4, 4, 0, 1, 1, 0.0, 1 / 4, 24.0, 24.0),
    # b1 (at the boundary) and b3 eligible; b2 in progress.
    (D(2025, 3, 17), "all", "all", 1): (3, 2, 1, 2, 2, 0.0, 1.0, 9.0, 9.0),
    (D(2025, 3, 17), "all", "all", 2): (3, 2, 1, 2, 2, 0.0, 1.0, 15.0, 15.0),
    (D(2025, 3, 17), "all", "all", 3): (3, 2, 1, 2, 1, 1 / 2, 1 / 2, 120.0, 120.0),
    # b2 alone in its channel: the group's rows exist, with nobody eligible yet.
    (D(2025, 3, 17), "install_source", "ads", 1): (1, 0, 1, 0, 0, None, None, None, None),
    (D(2025, 3, 17), "install_source", "ads", 2): (1, 0, 1, 0, 0, None, None, None, None),
    (D(2025, 3, 17), "install_source", "ads", 3): (1, 0, 1, 0, 0, None, None, None, None),
    (D(2025, 3, 17), "install_source", "web_direct", 3): (2, 2, 0, 2, 1, 1 / 2, 1 / 2, 120.0, 120.0),
    # c1: young cohort, nothing counted yet, no drop-off.
    (D(2025, 3, 24), "all", "all", 1): (1, 0, 1, 0, 0, None, None, None, None),
    (D(2025, 3, 24), "all", "all", 2): (1, 0, 1, 0, 0, None, None, None, None),
    (D(2025, 3, 24), "all", "all", 3): (1, 0, 1, 0, 0, None, None, None, None),
}

# milestone_completion_rate per signup week: (numerator, denominator, value). Eligible
# users of the week who completed step 1 / eligible users of the week.
EXPECTED_COMPLETION_KPI = {
    D(2025, 3, 3): (3, 4, 3 / 4),
    D(2025, 3, 10): (0, 0, None),
    # b2's and c1's first-step windows (48 h) have closed, but not their longest
    # windows: neither counts (censoring by the first step's timeframe gave 3/3 and 1/1).
    D(2025, 3, 17): (2, 2, 1.0),
    D(2025, 3, 24): (0, 0, None),
}


@pytest.fixture(scope="module")
def marts(dbt_builder):
    dbt_builder.build(Dataset(USERS, EVENTS, MILESTONES, []), vars={"activation_as_of": AS_OF})
    return dbt_builder.read_bi_marts()


def _close(actual, expected):
    if expected is None or actual is None:
        return actual is None and expected is None
    return abs(float(actual) - float(expected)) < 1e-9


def _funnel_row(marts, key):
    cohort_date, dimension, value, step = key
    found = [r for r in marts["funnel"] if (r["cohort_date"], r["breakdown_dimension"], r["breakdown_value"],
                                           r["step_number"]) == (cohort_date, dimension, value, step)]
    assert len(found) == 1, f"{key}: {len(found)} rows"
    return found[0]


@pytest.mark.parametrize("key", sorted(EXPECTED_FUNNEL, key=str), ids=str)
def test_funnel_counts_only_users_whose_longest_window_closed(marts, key):
    row = _funnel_row(marts, key)
    actual = tuple(row[column] for column in FUNNEL_COLUMNS)
    assert all(_close(a, e) for a, e in zip(actual, EXPECTED_FUNNEL[key])), (
        f"{key}: {dict(zip(FUNNEL_COLUMNS, actual))}, expected {dict(zip(FUNNEL_COLUMNS, EXPECTED_FUNNEL[key]))}")


def test_every_group_has_every_step(marts):
    groups = {(r["cohort_date"], r["breakdown_dimension"], r["breakdown_value"]) for r in marts["funnel"]}
    # 3 cohorts x (all + install_source + plan_tier + signup_type + company_size), one value
    # each except install_source in cohort 2025-03-17 (ads, web_direct)
    assert len(groups) == 3 * 5 + 1
    assert len(marts["funnel"]) == 3 * len(groups)
    for row in marts["funnel"]:
        assert row["in_progress_users"] == row["cohort_users"] - row["eligible_users"]


def test_completion_kpi_follows_the_funnel(marts):
    for period, (numerator, denominator, value) in EXPECTED_COMPLETION_KPI.items():
        (row,) = [r for r in marts["kpis"]
                  if r["period_start"] == period and r["kpi_name"] == "milestone_completion_rate"]
        assert (row["numerator"], row["denominator"]) == (numerator, denominator), (period, row)
        assert _close(row["value"], value), (period, row)
