"""The reference's extra summary columns of activation_time_to_milestone_summary
(reference/survival_reference.py): the 95% interval of the median, the restricted mean
survival time to the milestone's timeframe and the log-rank observed and expected
counts per group. Pure Python (no dbt): hand-worked cases with the numbers written
out, lifelines run directly, and the reference's summary rows on a tiny data set.
"""

import datetime as dt
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from harness import Dataset, event, milestone, user
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from reference.survival_reference import (
    compute_statistics,
    kaplan_meier,
    logrank,
    logrank_observed_expected,
    logrank_variance,
    median_interval,
    rmst,
)

AS_OF = dt.datetime(2025, 3, 1)
Z95 = 1.959963984540054
NEW_COLUMNS = ["median_days_ci_lower", "median_days_ci_upper", "rmst_days", "rmst_horizon_days",
               "logrank_observed", "logrank_expected", "logrank_observed_expected_ratio"]


def fit(durations, events):
    return KaplanMeierFitter().fit([float(d) for d in durations], [bool(e) for e in events])


def close(actual, expected):
    return math.isclose(actual, float(expected), rel_tol=1e-12, abs_tol=1e-12)


def greenwood(survival, variance):
    """lifelines' exponential Greenwood 95% bounds (lower, upper); (0, 0) at survival 0."""
    if survival == 0:
        return 0.0, 0.0
    log_s = math.log(survival)
    spread = Z95 * math.sqrt(variance) / log_s
    return (math.exp(-math.exp(math.log(-log_s) - spread)), math.exp(-math.exp(math.log(-log_s) + spread)))


# ----------------------------------------------------------------------------- RMST

# durations [1, 2, 2, 4, 5], events [1, 1, 0, 1, 0]:
#   day 1: 5 at risk, 1 event            S = 4/5
#   day 2: 4 at risk, 1 event, 1 censored S = 4/5 * 3/4 = 3/5
#   day 4: 2 at risk, 1 event            S = 3/5 * 1/2 = 3/10
#   day 5: 1 censored                    S = 3/10
SMALL = ([1, 2, 2, 4, 5], [1, 1, 0, 1, 0])


@pytest.mark.parametrize("horizon, expected", [
    # [0,1) at 1 + [1,2) at 4/5 + [2,3) at 3/5
    (3, 1 + Fraction(4, 5) + Fraction(3, 5)),
    # ... + [2,4) at 3/5 + [4,10) at 3/10 (flat after the last, censored, day)
    (10, 1 + Fraction(4, 5) + 2 * Fraction(3, 5) + 6 * Fraction(3, 10)),
    # '36h': [0,1) at 1 + [1,1.5) at 4/5
    (1.5, 1 + Fraction(1, 2) * Fraction(4, 5)),
    # horizon on an event day: the step at day 4 adds nothing up to 4
    (4, 1 + Fraction(4, 5) + 2 * Fraction(3, 5)),
])
def test_rmst_small_curve_by_hand(horizon, expected):
    assert expected in (Fraction(12, 5), Fraction(24, 5), Fraction(7, 5), Fraction(3))
    kmf = fit(*SMALL)
    assert close(rmst(kmf, horizon), expected)
    assert close(restricted_mean_survival_time(kmf, t=horizon), expected)


def test_rmst_event_on_day_zero():
    # durations [0, 0, 1, 3], events [1, 0, 1, 0]: day 0 has 4 at risk, 1 event,
    # 1 censored: S = 3/4 from day 0 on (the curve is right-continuous, so [0,1) counts
    # 3/4, not 1); day 1: 2 at risk, 1 event, S = 3/8; day 3 censored.
    kmf = fit([0, 0, 1, 3], [1, 0, 1, 0])
    assert close(rmst(kmf, 2.0), Fraction(3, 4) + Fraction(3, 8))
    assert close(rmst(kmf, 7.0), Fraction(3, 4) + 6 * Fraction(3, 8))
    # every user reaching it on day 0: survival 0 from day 0, RMST 0
    assert rmst(fit([0, 0], [1, 1]), 7.0) == 0.0


def test_rmst_horizon_before_first_event():
    # first event on day 3: the curve is 1 up to any horizon <= 3
    kmf = fit([3, 4, 4], [1, 1, 0])
    assert close(rmst(kmf, 2.0), 2)
    assert close(rmst(kmf, 1.5), Fraction(3, 2))
    assert close(rmst(kmf, 3.0), 3)
    # only censored users: survival 1 to the horizon
    assert close(rmst(fit([1, 9], [0, 0]), 7.0), 7)


def test_rmst_empty_group_is_null():
    assert rmst(None, 7.0) is None
    assert median_interval(None) == (None, None)


# ------------------------------------------------------------------- median interval


def test_median_interval_by_hand_and_lifelines():
    # durations 1..5, all events: S = 4/5, 3/5, 2/5, 1/5, 0; Greenwood sums
    # 1/20, +1/12, +1/6, +1/2 (= 4/5 at day 4); at day 5 survival 0, bounds 0.
    durations, events = [1, 2, 3, 4, 5], [1, 1, 1, 1, 1]
    survival = [Fraction(4, 5), Fraction(3, 5), Fraction(2, 5), Fraction(1, 5)]
    variance = [Fraction(1, 20), Fraction(1, 20) + Fraction(1, 12), Fraction(1, 20) + Fraction(1, 12) + Fraction(1, 6),
                Fraction(4, 5)]
    bounds = [greenwood(float(s), float(v)) for s, v in zip(survival, variance)]
    # lower bound 0.2038 on day 1 already <= 1/2; upper 0.9692, 0.8818, 0.7528, 0.5819
    # stays above 1/2 through day 4 and is 0 on day 5 (survival 0)
    assert bounds[0][0] <= 0.5
    assert all(upper > 0.5 for _, upper in bounds)
    assert abs(bounds[3][1] - 0.581853) < 1e-6
    kmf = fit(durations, events)
    assert median_interval(kmf) == (1, 5)
    lifelines_bounds = median_survival_times(kmf.confidence_interval_)
    assert lifelines_bounds.values.tolist() == [[1.0, 5.0]]
    rows, median = kaplan_meier(durations, events)
    assert median == 3
    for row, (lower, upper) in zip(rows, bounds):
        assert math.isclose(row["survival_ci_lower"], lower, rel_tol=1e-9)
        assert math.isclose(row["survival_ci_upper"], upper, rel_tol=1e-9)
    assert (rows[-1]["survival_ci_lower"], rows[-1]["survival_ci_upper"]) == (0.0, 0.0)


def test_median_interval_upper_never_half_is_null():
    # the last user censored on day 5: survival stays 1/5 and the upper bound 0.5819 > 1/2
    kmf = fit([1, 2, 3, 4, 5], [1, 1, 1, 1, 0])
    assert median_interval(kmf) == (1, None)
    assert math.isinf(median_survival_times(kmf.confidence_interval_).iloc[0, 1])
    # survival never below 1: both bounds null
    assert median_interval(fit([2, 5], [0, 0])) == (None, None)
    # every event on one day: survival 0 there, bounds (0, 0) from lifelines, no NaN
    kmf = fit([2, 2, 2], [1, 1, 1])
    assert kmf.confidence_interval_.values.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert median_interval(kmf) == (2, 2)
    assert median_interval(fit([0], [1])) == (0, 0)


def first_day_at_or_below_half(rows, column):
    return next((row["day"] for row in rows if row[column] <= 0.5), None)


def test_median_interval_is_first_curve_day_at_or_below_half_random():
    """lifelines' interval has no NaN (survival-0 days give bounds 0.0, survival-1 days'
    NaN are filled with 1.0), and its median of each column is the first curve day whose
    bound is <= 1/2 (bounds 0 once survival is 0)."""
    rng = random.Random(20250301)
    for _ in range(150):
        n = rng.randint(1, 30)
        durations = [rng.randint(0, rng.choice([1, 4, 12])) for _ in range(n)]
        rate = rng.random()
        events = [rng.random() < rate for _ in range(n)]
        kmf = fit(durations, events)
        assert not np.isnan(kmf.confidence_interval_.values).any()
        rows, _ = kaplan_meier(durations, events)
        for row in rows:
            if row["survival"] == 0:
                assert row["survival_ci_lower"] == row["survival_ci_upper"] == 0.0
        expected = (first_day_at_or_below_half(rows, "survival_ci_lower"),
                    first_day_at_or_below_half(rows, "survival_ci_upper"))
        assert median_interval(kmf) == expected, (durations, events)
        lower, upper = expected
        assert lower is None or upper is None or lower <= upper


# ------------------------------------------------------------------- observed / expected

# Two groups. A: (1 event), (2 event), (3 censored), (4 event); B: (2 event),
# (2 censored), (3 event), (5 censored). Pooled event days:
#   t  n_A n_B n_t  d_A d_B d_t   E_A = d_t n_A / n_t   E_B = d_t n_B / n_t
#   1   4   4   8    1   0   1        4/8 = 1/2              1/2
#   2   3   4   7    1   1   2        6/7                    8/7
#   3   2   2   4    0   1   1        2/4 = 1/2              1/2
#   4   1   1   2    1   0   1        1/2                    1/2
# E_A = 3/2 + 6/7 = 33/14, E_B = 3/2 + 8/7 = 37/14; E_A + E_B = 5 = O_A + O_B (3 + 2).
GROUP_A = [(1, True), (2, True), (3, False), (4, True)]
GROUP_B = [(2, True), (2, False), (3, True), (5, False)]


def test_observed_expected_two_groups_by_hand():
    out = logrank_observed_expected({"A": GROUP_A, "B": GROUP_B})
    assert out["A"][0] == 3 and out["B"][0] == 2
    assert close(out["A"][1], Fraction(33, 14))
    assert close(out["B"][1], Fraction(37, 14))
    assert close(out["A"][0] / out["A"][1], Fraction(14, 11))
    assert close(out["B"][0] / out["B"][1], Fraction(28, 37))
    names, u, _ = logrank_variance({"A": GROUP_A, "B": GROUP_B})
    assert names == ["A", "B"]
    assert close(u[0], 3 - Fraction(33, 14)) and close(u[1], 2 - Fraction(37, 14))


def test_observed_expected_matches_logrank_u_random():
    rng = random.Random(7)
    for _ in range(300):
        k = rng.randint(2, 5)
        groups = {}
        for g in range(k):
            groups[f"g{g}"] = [(rng.randint(0, 8), rng.random() < 0.5) for _ in range(rng.randint(1, 12))]
        out = logrank_observed_expected(groups)
        observed_total = sum(o for o, _ in out.values())
        assert observed_total == sum(1 for members in groups.values() for _, e in members if e)
        assert abs(sum(e for _, e in out.values()) - observed_total) <= 1e-9
        names, u, _ = logrank_variance(groups)
        for name, u_g in zip(names, u):
            observed, expected = out[name]
            assert abs((observed - expected) - u_g) <= 1e-9


# ---------------------------------------------------------------- summary rows (reference)

VARS = {"activation_as_of": AS_OF.strftime("%Y-%m-%d %H:%M:%S"), "activation_stats_min_group_size": 2,
        "activation_stats_max_groups": 3, "activation_user_passthrough_columns": ["company_size"]}


def ts(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def before(days, hours=0):
    return AS_OF - dt.timedelta(days=days, hours=hours)


def extras_dataset():
    """install_source a and b are GROUP_A and GROUP_B on m1 (`go`), c one user reaching
    m1 on day 0 (below the minimum size of 2); a5 is created after as_of and alone in
    plan_tier `trial` (a group with no users in the curve). company_size makes four
    included groups (more than the maximum of 3). m1 '36h', m2 '7d' and m4 '48h' (nobody
    reaches m2 or m4), m3 timeframe_days 2 and reached by every user on day 0 (log-rank
    variance 0: singular, still tested)."""
    created = {"a1": before(10), "a2": before(10), "a3": before(3, 4), "a4": before(10),
               "a5": AS_OF + dt.timedelta(hours=1),
               "b1": before(10), "b2": before(2, 5), "b3": before(10), "b4": before(5), "c1": before(4)}
    size = {"a1": "W", "b1": "W", "a2": "X", "b2": "X", "a3": "Y", "b3": "Y", "a4": "Z", "b4": "Z", "c1": "Z",
            "a5": "Z"}
    tier = {"c1": "pro", "a5": "trial"}
    users = [user(uid, ts(at), install_source=uid[0], company_size=size[uid], plan_tier=tier.get(uid, "free"))
             for uid, at in created.items()]
    go_after = {"a1": dt.timedelta(days=1, hours=3), "a2": dt.timedelta(days=2),
                "a4": dt.timedelta(days=4, hours=23), "b1": dt.timedelta(days=2, hours=1),
                "b3": dt.timedelta(days=3), "c1": dt.timedelta(hours=6)}
    events = [event(uid, "go", ts(created[uid] + offset), f"go-{uid}") for uid, offset in go_after.items()]
    events += [event(uid, "zero", ts(at + dt.timedelta(hours=1)), f"zero-{uid}")
               for uid, at in created.items() if at <= AS_OF]
    return Dataset(users=users, events=events, milestones=[
        milestone("m1", 1, timeframe="36h", triggered_by_event="go"),
        milestone("m2", 2, timeframe="7d", triggered_by_event="never"),
        milestone("m3", 3, timeframe=None, timeframe_days=2, triggered_by_event="zero"),
        milestone("m4", 4, timeframe="48h", triggered_by_event="never"),
    ])


@pytest.fixture(scope="module")
def extras_marts():
    dataset = extras_dataset()
    return compute_statistics(dataset.users, dataset.events, dataset.milestones, dataset.requirements, VARS)


def summary_row(marts, mid, dimension, value):
    rows = [r for r in marts["time_to_milestone_summary"]
            if (r["milestone_id"], r["segment_dimension"], r["segment_value"]) == (mid, dimension, value)]
    assert len(rows) == 1, (mid, dimension, value)
    return rows[0]


def test_summary_has_new_columns_with_types(extras_marts):
    for row in extras_marts["time_to_milestone_summary"]:
        assert list(row)[-len(NEW_COLUMNS):] == NEW_COLUMNS
        for column in ("median_days_ci_lower", "median_days_ci_upper", "logrank_observed"):
            assert row[column] is None or type(row[column]) is int, (column, row)
        for column in ("rmst_days", "logrank_expected", "logrank_observed_expected_ratio"):
            assert row[column] is None or type(row[column]) is float, (column, row)
        assert type(row["rmst_horizon_days"]) is float
        expected_horizon = {"m1": 1.5, "m2": 7.0, "m3": 2.0, "m4": 2.0}[row["milestone_id"]]
        assert row["rmst_horizon_days"] == expected_horizon


def test_summary_m1_by_hand(extras_marts):
    a = summary_row(extras_marts, "m1", "install_source", "a")
    # a: day 1 S = 3/4 (Greenwood 1/12): lower 0.128 <= 1/2, upper 0.960; day 2 S = 1/2
    # (Greenwood 1/12 + 1/6 = 1/4): upper 0.845; day 3 censored; day 4 S = 0, bounds 0
    assert greenwood(0.75, 1 / 12)[0] <= 0.5 < greenwood(0.5, 1 / 4)[1]
    assert (a["users"], a["reached_users"], a["users_created_after_as_of"]) == (4, 3, 1)
    assert (a["median_days_ci_lower"], a["median_days_ci_upper"]) == (1, 4)
    assert close(a["rmst_days"], 1 + Fraction(1, 2) * Fraction(3, 4))  # '36h': [0,1) 1, [1,1.5) 3/4
    assert a["logrank_observed"] == 3
    assert close(a["logrank_expected"], Fraction(33, 14))
    assert close(a["logrank_observed_expected_ratio"], Fraction(14, 11))
    b = summary_row(extras_marts, "m1", "install_source", "b")
    # b: day 2 S = 3/4, day 3 S = 3/8, day 5 censored: no event before 1.5
    assert close(b["rmst_days"], Fraction(3, 2))
    assert b["logrank_observed"] == 2
    assert close(b["logrank_expected"], Fraction(37, 14))
    assert close(b["logrank_observed_expected_ratio"], Fraction(28, 37))
    # c: below the minimum size, not in the test; its one user reaches on day 0
    c = summary_row(extras_marts, "m1", "install_source", "c")
    assert c["is_included"] is False
    assert (c["median_days_ci_lower"], c["median_days_ci_upper"], c["rmst_days"]) == (0, 0, 0.0)
    assert c["logrank_observed"] is c["logrank_expected"] is c["logrank_observed_expected_ratio"] is None
    # all: 9 users, day 0 S = 8/9, day 1 S = 7/9: 8/9 + 1/2 * 7/9
    everyone = summary_row(extras_marts, "m1", "all", "all")
    assert close(everyone["rmst_days"], Fraction(8, 9) + Fraction(7, 18))
    assert everyone["logrank_observed"] is everyone["logrank_expected"] is None
    assert everyone["logrank_observed_expected_ratio"] is None
    # company_size W (a1 day 1, b1 day 2): S = 1/2, 0; too many groups: no observed/expected
    w = summary_row(extras_marts, "m1", "company_size", "W")
    assert close(w["rmst_days"], 1 + Fraction(1, 2) * Fraction(1, 2))
    assert w["is_included"] and w["logrank_observed"] is None and w["logrank_expected"] is None
    # plan_tier: free alone is included (fewer than two groups); trial has no users in the curve
    free = summary_row(extras_marts, "m1", "plan_tier", "free")
    assert free["is_included"] and free["logrank_observed"] is None
    trial = summary_row(extras_marts, "m1", "plan_tier", "trial")
    assert (trial["users"], trial["users_created_after_as_of"]) == (0, 1)
    assert trial["median_days_ci_lower"] is trial["median_days_ci_upper"] is trial["rmst_days"] is None
    assert trial["rmst_horizon_days"] == 1.5
    assert trial["logrank_observed"] is None


def test_summary_no_events_and_singular(extras_marts):
    tests = {(r["milestone_id"], r["segment_dimension"]): r for r in extras_marts["time_to_milestone_tests"]}
    # m2: nobody reaches it; survival 1 to the '7d' horizon, no test (no_events)
    assert tests[("m2", "install_source")]["null_reason"] == "no_events"
    for value in ("a", "b"):
        row = summary_row(extras_marts, "m2", "install_source", value)
        assert (row["median_days_ci_lower"], row["median_days_ci_upper"]) == (None, None)
        assert row["rmst_days"] == 7.0 and row["rmst_horizon_days"] == 7.0
        assert row["logrank_observed"] is row["logrank_expected"] is None
    assert summary_row(extras_marts, "m4", "install_source", "a")["rmst_days"] == 2.0
    # m3: everyone on day 0: variance 0 (singular) but tested: expected = n_g, ratio 1
    assert tests[("m3", "install_source")]["null_reason"] == "singular_variance"
    for value in ("a", "b"):
        row = summary_row(extras_marts, "m3", "install_source", value)
        assert (row["median_days_ci_lower"], row["median_days_ci_upper"], row["rmst_days"]) == (0, 0, 0.0)
        assert row["logrank_observed"] == 4 and row["logrank_expected"] == 4.0
        assert row["logrank_observed_expected_ratio"] == 1.0
    assert tests[("m3", "company_size")]["null_reason"] == "too_many_groups"
    assert summary_row(extras_marts, "m3", "company_size", "Z")["logrank_observed"] is None


def random_dataset(rng):
    sources, sizes = ["s1", "s2", "s3", "s4"], ["A", "B", "C", "D", "E"]
    users, events = [], []
    for i in range(rng.randint(3, 40)):
        uid = f"u{i}"
        created = before(rng.randint(0, 12), rng.randint(0, 23)) if rng.random() < 0.95 else AS_OF + dt.timedelta(
            hours=2)
        users.append(user(uid, ts(created), install_source=rng.choice(sources[:rng.randint(1, 4)]),
                          company_size=rng.choice(sizes), plan_tier=rng.choice(["free", "pro"])))
        for name in ("go", "zero"):
            if rng.random() < 0.6:
                events.append(event(uid, name, ts(created + dt.timedelta(hours=rng.randint(0, 200))), f"{name}-{uid}"))
    return Dataset(users=users, events=events, milestones=[
        milestone("m1", 1, timeframe=rng.choice(["36h", "7d", "48h"]), triggered_by_event="go"),
        milestone("m2", 2, timeframe="3d", triggered_by_event="zero"),
    ])


def test_summary_rules_hold_on_random_data():
    """On random data sets, every summary row's new columns against lifelines fitted
    directly on the curve rows' data, the first-curve-day rule, and the null rules."""
    rng = random.Random(11)
    for _ in range(10):
        dataset = random_dataset(rng)
        min_size, max_groups = rng.choice([1, 2, 3]), rng.choice([2, 3, 4])
        vars = dict(VARS, activation_stats_min_group_size=min_size, activation_stats_max_groups=max_groups)
        marts = compute_statistics(dataset.users, dataset.events, dataset.milestones, dataset.requirements, vars)
        horizons = {m["milestone_id"]: {"36h": 1.5, "7d": 7.0, "48h": 2.0, "3d": 3.0}[m["timeframe"]]
                    for m in dataset.milestones}
        tests = {(r["milestone_id"], r["segment_dimension"]): r for r in marts["time_to_milestone_tests"]}
        curves = {}
        for row in marts["time_to_milestone"]:
            curves.setdefault((row["milestone_id"], row["segment_dimension"], row["segment_value"]), []).append(row)
        for row in marts["time_to_milestone_summary"]:
            key = (row["milestone_id"], row["segment_dimension"], row["segment_value"])
            assert row["rmst_horizon_days"] == horizons[row["milestone_id"]]
            curve = sorted(curves.get(key, []), key=lambda r: r["day"])
            if row["users"] == 0:
                assert not curve
                assert row["median_days_ci_lower"] is row["median_days_ci_upper"] is row["rmst_days"] is None
            else:
                durations = [r["day"] for r in curve for _ in range(r["events"] + r["censored"])]
                flags = [f for r in curve for f in [True] * r["events"] + [False] * r["censored"]]
                kmf = fit(durations, flags)
                assert math.isclose(row["rmst_days"], restricted_mean_survival_time(kmf, t=row["rmst_horizon_days"]),
                                    rel_tol=1e-12, abs_tol=1e-12)
                assert (row["median_days_ci_lower"], row["median_days_ci_upper"]) == (
                    first_day_at_or_below_half(curve, "survival_ci_lower"),
                    first_day_at_or_below_half(curve, "survival_ci_upper"))
            test = tests.get(key[:2])
            tested = (row["segment_dimension"] != "all" and row["is_included"]
                      and test["null_reason"] in (None, "singular_variance"))
            if not tested:
                assert row["logrank_observed"] is row["logrank_expected"] is None
                assert row["logrank_observed_expected_ratio"] is None
                continue
            assert row["logrank_observed"] == row["reached_users"]
            if row["logrank_expected"] == 0:
                assert row["logrank_observed_expected_ratio"] is None
            else:
                assert math.isclose(row["logrank_observed_expected_ratio"],
                                    row["logrank_observed"] / row["logrank_expected"])
        # per tested (milestone, dimension): expected sums to observed, and O - E is u
        for (mid, dimension), test in tests.items():
            rows = [r for r in marts["time_to_milestone_summary"] if (r["milestone_id"], r["segment_dimension"]) == (
                mid, dimension) and r["logrank_observed"] is not None]
            if test["null_reason"] not in (None, "singular_variance"):
                assert not rows
                continue
            assert len(rows) == test["groups_included"]
            assert sum(r["logrank_observed"] for r in rows) == test["events_included"]
            assert abs(sum(r["logrank_expected"] for r in rows) - test["events_included"]) <= 1e-9
            groups = {r["segment_value"]: [(c["day"], f) for c in curves[(mid, dimension, r["segment_value"])]
                                           for f in [True] * c["events"] + [False] * c["censored"]] for r in rows}
            assert logrank(groups, max_groups)[3] == test["null_reason"]
            names, u, _ = logrank_variance(groups)
            by_value = {r["segment_value"]: r for r in rows}
            for name, u_g in zip(names, u):
                assert abs(by_value[name]["logrank_observed"] - by_value[name]["logrank_expected"] - u_g) <= 1e-9
