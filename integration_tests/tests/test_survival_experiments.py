"""Time to milestone (Kaplan–Meier, log-rank) and experiment marts (SPEC §7, statistics
contract sections B and E), and the `sample_size_per_variant` macro.

Checked four ways: hand-written edge cases against values worked out here by hand;
randomised data sets against the Python reference (reference/survival_reference.py,
statistics from lifelines, statsmodels and scipy), every column; the survival data
sets lifelines ships (Waltons, Rossi) turned into users and events, against lifelines
run directly on the data set's own columns; the macro against statsmodels' power
calculation. Statistics agree to 1e-6 relative, p-values and their Benjamini–Hochberg
q-values to 1e-4 absolute, counts exactly.
"""

import datetime as dt
import json
import math
import os
from fractions import Fraction

import pytest
from harness import (
    BASE_VARS,
    MART_SCHEMA,
    PER_USER_MARTS_SELECTION,
    Dataset,
    assert_marts_match_reference,
    bh_by_hand,
    event,
    milestone,
    user,
    wilson_by_hand,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.activation_reference import compute
from reference.survival_reference import compute_statistics, kaplan_meier, logrank, logrank_variance

AS_OF = dt.datetime(2025, 3, 1)
Z95 = 1.959963984540054

SURVIVAL_MARTS = ("time_to_milestone", "time_to_milestone_summary", "time_to_milestone_tests")
EXPERIMENT_MARTS = ("experiment_results", "experiments")
MART_KEYS = {
    "time_to_milestone": ("milestone_id", "segment_dimension", "segment_value", "day"),
    "time_to_milestone_summary": ("milestone_id", "segment_dimension", "segment_value"),
    "time_to_milestone_tests": ("milestone_id", "segment_dimension"),
    "experiment_results": ("experiment_id", "variant", "metric"),
    "experiments": ("experiment_id",),
}
MART_COLUMNS = {
    "time_to_milestone": [
        "milestone_id", "segment_dimension", "segment_value", "day", "at_risk", "events", "censored",
        "survival", "survival_ci_lower", "survival_ci_upper"],
    "time_to_milestone_summary": [
        "milestone_id", "segment_dimension", "segment_value", "users", "reached_users", "censored_users",
        "users_created_after_as_of", "median_days", "median_null_reason", "median_days_ci_lower",
        "median_days_ci_upper", "rmst_days", "rmst_horizon_days", "logrank_observed", "logrank_expected",
        "logrank_observed_expected_ratio", "is_included"],
    "time_to_milestone_tests": [
        "milestone_id", "segment_dimension", "groups_total", "groups_included", "users_included",
        "events_included", "chi_square", "degrees_of_freedom", "p_value", "null_reason", "q_value"],
    "experiment_results": [
        "experiment_id", "variant", "metric", "is_control", "users", "converted_users", "conversion_rate",
        "conversion_rate_ci_lower", "conversion_rate_ci_upper", "control_users", "control_converted_users",
        "control_conversion_rate", "control_conversion_rate_ci_lower", "control_conversion_rate_ci_upper",
        "uplift_abs", "uplift_abs_ci_lower", "uplift_abs_ci_upper", "uplift_rel", "uplift_rel_ci_lower",
        "uplift_rel_ci_upper", "z_statistic", "p_value", "null_reason", "q_value"],
    "experiments": [
        "experiment_id", "variants", "exposed_users", "users_multiple_variants", "has_control",
        "srm_chi_square", "srm_degrees_of_freedom", "srm_p_value", "srm_null_reason", "srm_q_value"],
}
P_VALUE_COLUMNS = {"p_value", "srm_p_value", "q_value", "srm_q_value"}


def ts(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def days_before(days, hours=0, minutes=0, seconds=0):
    return AS_OF - dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def with_passthrough(vars):
    return dict(vars, activation_user_passthrough_columns=["company_size"])


def build_stats(dbt_builder, dataset, vars, marts):
    """Build the given statistics marts (and the per-user marts the harness reads) and
    return {mart name without prefix: rows}; the per-user marts are checked against the
    per-user reference on the way."""
    select = " ".join(f"+activation_{name}" for name in marts) + " " + PER_USER_MARTS_SELECTION
    per_user = dbt_builder.build(dataset, vars=vars, select=select)
    assert_marts_match_reference(per_user, compute(dataset.users, dataset.events, dataset.milestones,
                                                   dataset.requirements, with_passthrough(vars)))
    return {name: dbt_builder.query(f"select * from {MART_SCHEMA}.activation_{name}") for name in marts}


def reference(dataset, vars):
    return compute_statistics(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                              with_passthrough(vars))


def same_value(column, actual, expected):
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, int):
        return not isinstance(actual, bool) and float(actual) == expected
    if isinstance(expected, float):
        if column in P_VALUE_COLUMNS:
            return abs(float(actual) - expected) <= 1e-4
        return math.isclose(float(actual), expected, rel_tol=1e-6, abs_tol=1e-9)
    return actual == expected


def assert_stat_rows(actual_rows, expected_rows, name, label=None):
    """The mart's rows are exactly the expected rows (by key), every expected column equal:
    counts exactly, statistics to 1e-6 relative, p-values to 1e-4 absolute."""
    label = label or f"activation_{name}"
    key = MART_KEYS[name]
    if actual_rows:
        assert sorted(actual_rows[0]) == sorted(MART_COLUMNS[name]), f"{label}: columns {sorted(actual_rows[0])}"

    def key_of(row):
        return tuple(int(row[k]) if k == "day" and row[k] is not None else row[k] for k in key)

    actual = {key_of(r): r for r in actual_rows}
    expected = {key_of(r): r for r in expected_rows}
    assert len(actual) == len(actual_rows), f"{label}: duplicate keys"
    missing = sorted(set(expected) - set(actual), key=str)
    extra = sorted(set(actual) - set(expected), key=str)
    assert not missing and not extra, f"{label}: missing keys {missing[:5]}, unexpected keys {extra[:5]}"
    problems = []
    for k, exp in expected.items():
        for column, value in exp.items():
            if not same_value(column, actual[k].get(column), value):
                problems.append(f"{label} {k}: {column} = {actual[k].get(column)!r}, expected {value!r}")
    assert not problems, "\n".join(problems[:20])


def assert_all_match(marts, ref):
    for name, rows in marts.items():
        assert_stat_rows(rows, ref[name], name)


def pick(rows, **where):
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def with_q_values(rows, p_column, q_column):
    """The expected rows with ``q_column`` set by the step-up rule written out
    (harness.bh_by_hand) over their ``p_column``: the rows must hold the mart's whole family."""
    for row, q_value in zip(rows, bh_by_hand([row[p_column] for row in rows])):
        row[q_column] = q_value
    return rows


def assert_family_is(rows, p_column, expected_rows, key):
    """The mart's rows with a non-null ``p_column`` are those of ``expected_rows`` (by key)."""
    def keys(found):
        return sorted(tuple(r[k] for k in key) for r in found if r[p_column] is not None)

    assert keys(rows) == keys(expected_rows)


def greenwood_bounds(survival, variance):
    """lifelines' exponential Greenwood 95 % interval (lower < upper), 1 and 0 at the ends."""
    if survival == 1:
        return 1.0, 1.0
    if survival == 0:
        return 0.0, 0.0
    log_s = math.log(survival)
    spread = Z95 * math.sqrt(variance) / log_s
    return (math.exp(-math.exp(math.log(-log_s) - spread)), math.exp(-math.exp(math.log(-log_s) + spread)))


def curve_rows(milestone_id, dimension, value, points):
    """Expected curve rows from (day, at_risk, events, censored, survival, greenwood sum)."""
    rows = []
    for day, at_risk, events, censored, survival, variance in points:
        lower, upper = greenwood_bounds(float(survival), float(variance))
        rows.append({"milestone_id": milestone_id, "segment_dimension": dimension, "segment_value": value,
                     "day": day, "at_risk": at_risk, "events": events, "censored": censored,
                     "survival": float(survival), "survival_ci_lower": lower, "survival_ci_upper": upper})
    return rows


def close(actual, expected, rel=1e-9):
    return actual is not None and math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)


def chi_square_sf(statistic, df):
    """Upper tail of chi-square for df 1 and 2 in closed form."""
    if df == 1:
        return math.erfc(math.sqrt(statistic / 2))
    assert df == 2
    return math.exp(-statistic / 2)


# ------------------------------------------------------------- hand-written: survival

KM_VARS = {"activation_as_of": ts(AS_OF), "activation_stats_min_group_size": 2, "activation_stats_max_groups": 3}


def km_dataset():
    """install_source groups: `cens` all censored (two on one day), `oneday` all events on
    day 2 plus a user created after as_of, `ties` two events and one censoring on day 1,
    `solo` one user (below the minimum group size of 2). company_size makes four
    included groups (more than the maximum of 3). m1 is reached by `go`, m2 by nobody,
    m3 by every user on day 0 (the log-rank variance is 0), m4 by t1 on day 0 and t2
    on day 1, so that `ties` falls to exactly 3/4 * 2/3 = 1/2 on day 1."""
    created = {
        "c1": days_before(3), "c2": days_before(5), "c3": days_before(5, hours=23, minutes=59),
        "o1": days_before(10), "o2": days_before(10), "o3": days_before(10), "o4": AS_OF + dt.timedelta(hours=1),
        "t1": days_before(10), "t2": days_before(10), "t3": days_before(1, hours=2), "t4": days_before(10),
        "s1": days_before(4),
    }
    source = {"c": "cens", "o": "oneday", "t": "ties", "s": "solo"}
    size = {"c1": "A", "o1": "A", "t1": "A", "o4": "A", "c2": "B", "o2": "B", "t2": "B",
            "c3": "C", "o3": "C", "t3": "C", "t4": "D", "s1": "D"}
    users = [user(uid, ts(at), install_source=source[uid[0]], company_size=size[uid],
                  plan_tier="pro" if uid == "s1" else "free") for uid, at in created.items()]
    go_after = {"o1": dt.timedelta(days=2), "o2": dt.timedelta(days=2, hours=5),
                "o3": dt.timedelta(days=2, hours=23, minutes=59, seconds=59),
                "t1": dt.timedelta(days=1, hours=3), "t2": dt.timedelta(days=1),
                "t4": dt.timedelta(days=3, hours=12), "s1": dt.timedelta(hours=6)}
    events = [event(uid, "go", ts(created[uid] + offset), f"go-{uid}") for uid, offset in go_after.items()]
    events += [event(uid, "zero", ts(at + dt.timedelta(hours=1)), f"zero-{uid}")
               for uid, at in created.items() if at <= AS_OF]
    events += [event("t1", "half", ts(created["t1"] + dt.timedelta(hours=6)), "half-t1"),
               event("t2", "half", ts(created["t2"] + dt.timedelta(days=1, hours=1)), "half-t2")]
    return Dataset(users=users, events=events, milestones=[
        milestone("m1", 1, triggered_by_event="go"),
        milestone("m2", 2, triggered_by_event="never"),
        milestone("m3", 3, triggered_by_event="zero"),
        milestone("m4", 4, triggered_by_event="half"),
    ])


@pytest.fixture(scope="module")
def km_mart(dbt_builder):
    return build_stats(dbt_builder, km_dataset(), KM_VARS, SURVIVAL_MARTS)


@pytest.fixture(scope="module")
def km_reference():
    return reference(km_dataset(), KM_VARS)


def outputs(request, case, source):
    """The marts (`mart`) or the reference rows (`reference`) of a hand-written case."""
    return request.getfixturevalue(f"{case}_{source}")


def test_km_case_matches_reference(km_mart, km_reference):
    assert_all_match(km_mart, km_reference)


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_km_curves_by_hand(request, source):
    curve = outputs(request, "km", source)["time_to_milestone"]
    one = Fraction(1)
    expected = {
        # all censored, two of them on the same day: survival stays 1, interval (1, 1)
        "cens": [(3, 3, 0, 1, one, 0), (5, 2, 0, 2, one, 0)],
        # every event on one day: survival 0 and interval (0, 0); o4 is after as_of
        "oneday": [(2, 3, 3, 0, Fraction(0), 0)],
        # two events and one censoring on day 1: censored users count as at risk that day
        "ties": [(1, 4, 2, 1, Fraction(1, 2), Fraction(2, 4 * 2)), (3, 1, 1, 0, Fraction(0), 0)],
        "solo": [(0, 1, 1, 0, Fraction(0), 0)],
    }
    for value, points in expected.items():
        assert_stat_rows(pick(curve, milestone_id="m1", segment_dimension="install_source", segment_value=value),
                         curve_rows("m1", "install_source", value, points), "time_to_milestone", f"{source} {value}")
    v0, v1, v2, v3 = Fraction(1, 110), Fraction(2, 80), Fraction(3, 28), Fraction(1, 12)
    s0 = Fraction(10, 11)
    s1 = s0 * Fraction(8, 10)
    s2 = s1 * Fraction(4, 7)
    s3 = s2 * Fraction(3, 4)
    all_points = [(0, 11, 1, 0, s0, v0), (1, 10, 2, 1, s1, v0 + v1), (2, 7, 3, 0, s2, v0 + v1 + v2),
                  (3, 4, 1, 1, s3, v0 + v1 + v2 + v3), (5, 2, 0, 2, s3, v0 + v1 + v2 + v3)]
    assert_stat_rows(pick(curve, milestone_id="m1", segment_dimension="all"),
                     curve_rows("m1", "all", "all", all_points), "time_to_milestone", f"{source} all")
    # m2 nobody reaches: every group is censored only, survival 1 everywhere
    assert all(r["survival"] == 1 and r["events"] == 0 for r in pick(curve, milestone_id="m2"))
    assert all(r["survival"] == 0 and r["day"] == 0 for r in pick(curve, milestone_id="m3"))
    for row in curve:
        assert row["survival_ci_lower"] <= row["survival"] + 1e-12 <= row["survival_ci_upper"] + 2e-12, row


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_km_summary_by_hand(request, source):
    summary = outputs(request, "km", source)["time_to_milestone_summary"]
    expected = [
        ("install_source", "cens", 3, 0, 0, None, True),
        ("install_source", "oneday", 3, 3, 1, 2, True),
        ("install_source", "ties", 4, 3, 0, 1, True),
        ("install_source", "solo", 1, 1, 0, 0, False),
        ("plan_tier", "free", 10, 6, 1, 2, True),
        ("plan_tier", "pro", 1, 1, 0, 0, False),
        ("signup_type", "direct", 11, 7, 1, 2, True),
        ("company_size", "A", 3, 2, 1, 2, True),
        ("company_size", "D", 2, 2, 0, 0, True),
        ("all", "all", 11, 7, 1, 2, True),
    ]
    rows = [{"milestone_id": "m1", "segment_dimension": d, "segment_value": v, "users": n, "reached_users": r,
             "censored_users": n - r, "users_created_after_as_of": after, "median_days": median,
             "median_null_reason": "survival_above_half" if median is None else None, "is_included": included}
            for d, v, n, r, after, median, included in expected]
    for row in rows:
        actual = pick(summary, milestone_id="m1", segment_dimension=row["segment_dimension"],
                      segment_value=row["segment_value"])
        assert_stat_rows(actual, [row], "time_to_milestone_summary", f"{source} {row['segment_value']}")
    assert len(pick(summary, milestone_id="m1", segment_dimension="company_size")) == 4
    # survival exactly 1/2 after two factors (3/4 * 2/3): the median is that day
    half = pick(summary, milestone_id="m4", segment_dimension="install_source", segment_value="ties")
    assert_stat_rows(half, [{"milestone_id": "m4", "segment_dimension": "install_source", "segment_value": "ties",
                             "users": 4, "reached_users": 2, "censored_users": 2, "users_created_after_as_of": 0,
                             "median_days": 1, "median_null_reason": None, "is_included": True}],
                     "time_to_milestone_summary", f"{source} m4 ties")


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_km_median_interval_rmst_and_observed_expected_by_hand(request, source):
    summary = outputs(request, "km", source)["time_to_milestone_summary"]

    def group(dimension, value, milestone_id="m1"):
        return pick(summary, milestone_id=milestone_id, segment_dimension=dimension, segment_value=value)[0]

    # ties: survival 1/2 on day 1 (Greenwood sum 2 / (4 * 2)), 0 on day 3; the lower bound is
    # at most 1/2 on day 1, the upper one only on day 3. RMST to the 7-day timeframe:
    # 1 (days 0-1) + 1/2 * 2 (days 1-3) + 0 = 2
    lower, upper = greenwood_bounds(0.5, 0.25)
    assert lower <= 0.5 < upper
    ties = group("install_source", "ties")
    assert (ties["median_days_ci_lower"], ties["median_days_ci_upper"]) == (1, 3)
    assert close(ties["rmst_days"], 2.0) and ties["rmst_horizon_days"] == 7.0
    # cens never falls (no median, no bounds; RMST the whole horizon); oneday all on day 2
    cens, oneday = group("install_source", "cens"), group("install_source", "oneday")
    assert (cens["median_days_ci_lower"], cens["median_days_ci_upper"]) == (None, None)
    assert close(cens["rmst_days"], 7.0) and close(oneday["rmst_days"], 2.0)
    assert (oneday["median_days_ci_lower"], oneday["median_days_ci_upper"]) == (2, 2)
    # log-rank expected events of m1's install_source test from M1_LOGRANK_TABLE: per day
    # d_t n_gt / n_t, day 1: 2 * (3, 3, 4) / 10; day 2: 3 * (3, 3, 1) / 7; day 3: 1 * (3, 0, 1) / 4
    expected = {"cens": (0, 0.6 + 9 / 7 + 0.75), "oneday": (3, 0.6 + 9 / 7), "ties": (3, 0.8 + 3 / 7 + 0.25)}
    assert close(sum(e for _, e in expected.values()), 6.0)
    for value, (observed, wanted) in expected.items():
        row = group("install_source", value)
        assert row["logrank_observed"] == observed and close(row["logrank_expected"], wanted, rel=1e-9)
        assert close(row["logrank_observed_expected_ratio"], observed / wanted, rel=1e-9)
    # solo is excluded, plan_tier has one included group, `all` is no test
    for row in (group("install_source", "solo"), group("plan_tier", "free"), group("all", "all")):
        assert (row["logrank_observed"], row["logrank_expected"], row["logrank_observed_expected_ratio"]) == (
            None, None, None)
    # m3: every user on day 0, the test has a singular variance but its groups are tested;
    # m2: no events, no test
    assert group("install_source", "ties", "m3")["logrank_observed"] == 4
    assert group("install_source", "ties", "m2")["logrank_observed"] is None


# Per event day: (at risk cens, oneday, ties), (events cens, oneday, ties).
M1_LOGRANK_TABLE = [((3, 3, 4), (0, 0, 2)), ((3, 3, 1), (0, 3, 0)), ((3, 0, 1), (0, 0, 1))]
# m4: t1 reaches it on day 0 and t2 on day 1, t3 is censored on day 1.
M4_LOGRANK_TABLE = [((3, 3, 4), (0, 0, 1)), ((3, 3, 3), (0, 0, 1))]


def logrank_by_hand(table=M1_LOGRANK_TABLE):
    """Three-group log-rank statistic by install_source (cens, oneday, ties) from an
    at-risk and event table written out by hand (m1's unless told)."""
    u = [Fraction(0)] * 3
    v = [[Fraction(0)] * 3 for _ in range(3)]
    for at_risk, events in table:
        n, d = sum(at_risk), sum(events)
        for g in range(3):
            u[g] += events[g] - Fraction(d * at_risk[g], n)
            for h in range(3):
                v[g][h] += (Fraction(d * (n - d), n - 1) * Fraction(at_risk[g], n)
                            * ((1 if g == h else 0) - Fraction(at_risk[h], n)))
    det = v[0][0] * v[1][1] - v[0][1] * v[1][0]
    inverse = [[v[1][1] / det, -v[0][1] / det], [-v[1][0] / det, v[0][0] / det]]
    return float(sum(u[i] * inverse[i][j] * u[j] for i in range(2) for j in range(2)))


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_km_logrank_by_hand(request, source):
    tests = outputs(request, "km", source)["time_to_milestone_tests"]
    statistic, m4_statistic = logrank_by_hand(), logrank_by_hand(M4_LOGRANK_TABLE)
    none = dict(chi_square=None, degrees_of_freedom=None, p_value=None)
    expected = [
        # three included groups (solo is below the minimum size): the k-group test
        dict(milestone_id="m1", segment_dimension="install_source", groups_total=4, groups_included=3,
             users_included=10, events_included=6, chi_square=statistic, degrees_of_freedom=2,
             p_value=chi_square_sf(statistic, 2), null_reason=None),
        dict(milestone_id="m4", segment_dimension="install_source", groups_total=4, groups_included=3,
             users_included=10, events_included=2, chi_square=m4_statistic, degrees_of_freedom=2,
             p_value=chi_square_sf(m4_statistic, 2), null_reason=None),
        # pro has one user only: one included group
        dict(milestone_id="m1", segment_dimension="plan_tier", groups_total=2, groups_included=1,
             users_included=10, events_included=6, null_reason="fewer_than_two_groups", **none),
        dict(milestone_id="m1", segment_dimension="signup_type", groups_total=1, groups_included=1,
             users_included=11, events_included=7, null_reason="fewer_than_two_groups", **none),
        dict(milestone_id="m1", segment_dimension="company_size", groups_total=4, groups_included=4,
             users_included=11, events_included=7, null_reason="too_many_groups", **none),
        dict(milestone_id="m2", segment_dimension="install_source", groups_total=4, groups_included=3,
             users_included=10, events_included=0, null_reason="no_events", **none),
        dict(milestone_id="m3", segment_dimension="install_source", groups_total=4, groups_included=3,
             users_included=10, events_included=10, null_reason="singular_variance", **none),
    ]
    # the two p-values of the mart are one family: q_m1 = min(2 p_m1 / 1, p_m4), q_m4 = p_m4
    assert_family_is(tests, "p_value", expected, MART_KEYS["time_to_milestone_tests"])
    for row in with_q_values(expected, "p_value", "q_value"):
        actual = pick(tests, milestone_id=row["milestone_id"], segment_dimension=row["segment_dimension"])
        assert_stat_rows(actual, [row], "time_to_milestone_tests", f"{source} {row['milestone_id']}")
    assert not pick(tests, segment_dimension="all")


def test_km_logrank_by_hand_equals_lifelines():
    from lifelines.statistics import multivariate_logrank_test

    durations = [3, 5, 5, 2, 2, 2, 1, 1, 1, 3]
    events = [0, 0, 0, 1, 1, 1, 1, 1, 0, 1]
    groups = ["cens"] * 3 + ["oneday"] * 3 + ["ties"] * 4
    result = multivariate_logrank_test(durations, groups, events)
    assert math.isclose(result.test_statistic, logrank_by_hand(), rel_tol=1e-12)
    assert math.isclose(result.p_value, chi_square_sf(logrank_by_hand(), 2), rel_tol=1e-9)
    m4_durations = [3, 5, 5, 10, 10, 10, 0, 1, 1, 10]
    m4_events = [0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    result = multivariate_logrank_test(m4_durations, groups, m4_events)
    assert math.isclose(result.test_statistic, logrank_by_hand(M4_LOGRANK_TABLE), rel_tol=1e-12)
    assert math.isclose(result.p_value, chi_square_sf(logrank_by_hand(M4_LOGRANK_TABLE), 2), rel_tol=1e-9)


# ----------------------------------------------------------- hand-written: experiments

EXPERIMENT_MILESTONES = [milestone("act", 1, timeframe="30d", triggered_by_event="activate", is_activation=True)]
EXPERIMENT_VARS = {"activation_as_of": ts(AS_OF)}
SIGNUP = days_before(20)
EXPOSED = SIGNUP + dt.timedelta(days=5)


def exposure(user_id, properties, at=EXPOSED, name="experiment_exposure", index=0):
    text = properties if properties is None or isinstance(properties, str) else json.dumps(properties)
    return event(user_id, name, ts(at), f"x-{user_id}-{index}", text)


def experiment_dataset():
    after, before = SIGNUP + dt.timedelta(days=10), SIGNUP + dt.timedelta(days=2)
    plan = {"k1": "pro", "v1": "pro", "v2": "pro", "v4": "pro", "x1": "pro", "q1": "pro", "f1": "pro", "f2": "pro"}
    activated = {"k1": after, "k2": before, "k4": EXPOSED + dt.timedelta(days=1), "v1": after, "v2": after,
                 "v3": after, "x1": after, "p1": after, "z1": after, "q1": after, "f1": after, "f2": after}
    exposures = [
        # checkout: control k1-k4 (k3 spelled " control ", k4 exposed twice), treatment v1-v5,
        # x1 saw both variants
        exposure("k1", {"experiment": "checkout", "variant": "control"}),
        exposure("k2", {"experiment": "checkout", "variant": "control"}),
        exposure("k3", {"experiment": "checkout", "variant": " control "}),
        exposure("k4", {"experiment": "checkout", "variant": "control"}),
        exposure("k4", {"experiment": "checkout", "variant": "control"}, at=EXPOSED + dt.timedelta(days=3), index=1),
        *[exposure(uid, {"experiment": "checkout", "variant": "treatment"}) for uid in ("v1", "v2", "v3", "v4")],
        exposure("v5", {"experiment": "checkout", "variant": "treatment"}, name="Experiment Exposure"),
        exposure("x1", {"experiment": "checkout", "variant": "control"}),
        exposure("x1", {"experiment": "checkout", "variant": "treatment"}, index=1),
        # pricing: no control variant
        exposure("p1", {"experiment": "pricing", "variant": "a"}),
        exposure("p2", {"experiment": "pricing", "variant": "a"}),
        exposure("p3", {"experiment": "pricing", "variant": "b"}),
        # banner: the control only
        exposure("z1", {"experiment": "banner", "variant": "control"}),
        exposure("z2", {"experiment": "banner", "variant": "control"}),
        # zero: the treatment converts nobody
        exposure("q1", {"experiment": "zero", "variant": "control"}),
        exposure("q2", {"experiment": "zero", "variant": "control"}),
        exposure("q3", {"experiment": "zero", "variant": "treatment"}),
        exposure("q4", {"experiment": "zero", "variant": "treatment"}),
        # flat: nobody converts; full: everybody converts
        exposure("r1", {"experiment": "flat", "variant": "control"}),
        exposure("r2", {"experiment": "flat", "variant": "treatment"}),
        exposure("f1", {"experiment": "full", "variant": "control"}),
        exposure("f2", {"experiment": "full", "variant": "treatment"}),
        # missing properties
        exposure("m1", None),
        exposure("m2", {"experiment": "nov"}),
        exposure("m3", {"experiment": "nov", "variant": "   "}),
        exposure("m4", {"variant": "control"}),
        exposure("m5", {"experiment": "nov", "variant": None}),
        exposure("m6", '{"experiment": 7, "variant": "control"}'),
        # both: its only user saw two variants
        exposure("w1", {"experiment": "both", "variant": "control"}),
        exposure("w1", {"experiment": "both", "variant": "treatment"}, index=1),
    ]
    user_ids = sorted({e["user_id"] for e in exposures})
    users = [user(uid, ts(SIGNUP), plan_tier=plan.get(uid, "free")) for uid in user_ids]
    events = exposures + [event(uid, "activate", ts(at), f"a-{uid}") for uid, at in activated.items()]
    return Dataset(users=users, events=events, milestones=EXPERIMENT_MILESTONES)


@pytest.fixture(scope="module")
def experiment_mart(dbt_builder):
    return build_stats(dbt_builder, experiment_dataset(), EXPERIMENT_VARS, EXPERIMENT_MARTS)


@pytest.fixture(scope="module")
def experiment_reference():
    return reference(experiment_dataset(), EXPERIMENT_VARS)


def test_experiment_case_matches_reference(experiment_mart, experiment_reference):
    assert_all_match(experiment_mart, experiment_reference)


def result_row(experiment_id, variant, metric, c1, n1, control=None, **comparison):
    lower, upper = wilson_by_hand(c1, n1)
    row = {"experiment_id": experiment_id, "variant": variant, "metric": metric, "is_control": variant == "control",
           "users": n1, "converted_users": c1, "conversion_rate": c1 / n1,
           "conversion_rate_ci_lower": lower, "conversion_rate_ci_upper": upper,
           "control_users": None, "control_converted_users": None, "control_conversion_rate": None,
           "control_conversion_rate_ci_lower": None, "control_conversion_rate_ci_upper": None}
    if control is not None:
        c0, n0 = control
        lower, upper = wilson_by_hand(c0, n0)
        row.update(control_users=n0, control_converted_users=c0, control_conversion_rate=c0 / n0,
                   control_conversion_rate_ci_lower=lower, control_conversion_rate_ci_upper=upper)
    row.update(dict.fromkeys(["uplift_abs", "uplift_abs_ci_lower", "uplift_abs_ci_upper", "uplift_rel",
                              "uplift_rel_ci_lower", "uplift_rel_ci_upper", "z_statistic", "p_value", "q_value"]))
    row.update(comparison)
    return row


def by_hand(c1, n1, c0, n0, reason=None):
    """Comparison columns written out from the contract's formulas."""
    p1, p0 = c1 / n1, c0 / n0
    wald = Z95 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    out = {"uplift_abs": p1 - p0, "uplift_abs_ci_lower": p1 - p0 - wald, "uplift_abs_ci_upper": p1 - p0 + wald,
           "uplift_rel": None if p0 == 0 else p1 / p0 - 1, "null_reason": reason}
    if c1 and c0:
        spread = Z95 * math.sqrt(1 / c1 - 1 / n1 + 1 / c0 - 1 / n0)
        out["uplift_rel_ci_lower"] = math.exp(math.log(p1 / p0) - spread) - 1
        out["uplift_rel_ci_upper"] = math.exp(math.log(p1 / p0) + spread) - 1
    pooled = (c1 + c0) / (n1 + n0)
    if 0 < pooled < 1:
        z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
        out["z_statistic"], out["p_value"] = z, math.erfc(abs(z) / math.sqrt(2))
    return out


# The p-values of checkout's and zero's treatments are the mart's whole family (zero's two tied).
EXPERIMENT_RESULTS_BY_HAND = with_q_values([
    # checkout activation: control k1, k4 of 4 (k2 activated before exposure, x1 left out)
    result_row("checkout", "control", "activation", 2, 4, (2, 4), null_reason="control"),
    result_row("checkout", "treatment", "activation", 3, 5, (2, 4), **by_hand(3, 5, 2, 4)),
    # checkout paid (plan tier): control k1, treatment v1, v2, v4
    result_row("checkout", "control", "paid", 1, 4, (1, 4), null_reason="control"),
    result_row("checkout", "treatment", "paid", 3, 5, (1, 4), **by_hand(3, 5, 1, 4)),
    result_row("pricing", "a", "activation", 1, 2, null_reason="no_control"),
    result_row("pricing", "b", "activation", 0, 1, null_reason="no_control"),
    result_row("pricing", "a", "paid", 0, 2, null_reason="no_control"),
    result_row("pricing", "b", "paid", 0, 1, null_reason="no_control"),
    result_row("banner", "control", "activation", 1, 2, (1, 2), null_reason="control"),
    result_row("banner", "control", "paid", 0, 2, (0, 2), null_reason="control"),
    result_row("zero", "treatment", "activation", 0, 2, (1, 2), **by_hand(0, 2, 1, 2, "zero_conversions")),
    result_row("zero", "treatment", "paid", 0, 2, (1, 2), **by_hand(0, 2, 1, 2, "zero_conversions")),
    result_row("flat", "treatment", "activation", 0, 1, (0, 1), **by_hand(0, 1, 0, 1, "no_variation")),
    result_row("full", "treatment", "activation", 1, 1, (1, 1), **by_hand(1, 1, 1, 1, "no_variation")),
    result_row("(missing)", "(missing)", "activation", 0, 1, (0, 1), **by_hand(0, 1, 0, 1, "no_variation")),
    result_row("(missing)", "control", "activation", 0, 1, (0, 1), null_reason="control"),
    result_row("nov", "(missing)", "activation", 0, 3, null_reason="no_control"),
    result_row("7", "control", "paid", 0, 1, (0, 1), null_reason="control"),
], "p_value", "q_value")


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_experiment_results_by_hand(request, source):
    results = outputs(request, "experiment", source)["experiment_results"]
    assert_family_is(results, "p_value", EXPERIMENT_RESULTS_BY_HAND, MART_KEYS["experiment_results"])
    for row in EXPERIMENT_RESULTS_BY_HAND:
        actual = pick(results, experiment_id=row["experiment_id"], variant=row["variant"], metric=row["metric"])
        assert_stat_rows(actual, [row], "experiment_results", f"{source} {row['experiment_id']}")
    assert len(pick(results, experiment_id="checkout")) == 4
    assert not pick(results, experiment_id="both")
    assert not pick(results, variant=" control ")
    # treatment 3 of 5 against control 2 of 4: the numbers written out
    treatment = pick(results, experiment_id="checkout", variant="treatment", metric="activation")[0]
    assert math.isclose(treatment["uplift_abs"], 0.1, rel_tol=1e-6)
    assert math.isclose(treatment["uplift_rel"], 0.2, rel_tol=1e-6)
    assert math.isclose(treatment["z_statistic"], 0.1 / math.sqrt(5 / 9 * 4 / 9 * (1 / 5 + 1 / 4)), rel_tol=1e-6)
    # Wilson intervals: 3 of 5 beside the control's 2 of 4, the bounds written out
    assert math.isclose(treatment["conversion_rate_ci_lower"], 0.23072428127601, rel_tol=1e-9)
    assert math.isclose(treatment["conversion_rate_ci_upper"], 0.88237922576735, rel_tol=1e-9)
    assert math.isclose(treatment["control_conversion_rate_ci_lower"], 0.15003898915214, rel_tol=1e-9)
    assert math.isclose(treatment["control_conversion_rate_ci_upper"], 0.84996101084785, rel_tol=1e-9)
    # 0 of 2 and 1 of 1: the bounds at 0 and 1
    zero = pick(results, experiment_id="zero", variant="treatment", metric="activation")[0]
    assert abs(zero["conversion_rate_ci_lower"]) <= 1e-12
    assert math.isclose(zero["conversion_rate_ci_upper"], 0.65761977249334, rel_tol=1e-9)
    full = pick(results, experiment_id="full", variant="treatment", metric="activation")[0]
    assert math.isclose(full["conversion_rate_ci_lower"], 0.20654931437723, rel_tol=1e-9)
    assert math.isclose(full["control_conversion_rate_ci_upper"], 1.0, rel_tol=1e-12)
    pricing = pick(results, experiment_id="pricing", variant="a", metric="activation")[0]
    assert (pricing["control_conversion_rate_ci_lower"], pricing["control_conversion_rate_ci_upper"]) == (None, None)


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_experiments_by_hand(request, source):
    experiments = outputs(request, "experiment", source)["experiments"]

    def row(experiment_id, counts, multiple, has_control):
        out = {"experiment_id": experiment_id, "variants": len(counts), "exposed_users": sum(counts),
               "users_multiple_variants": multiple, "has_control": has_control,
               "srm_chi_square": None, "srm_degrees_of_freedom": None, "srm_p_value": None,
               "srm_null_reason": "single_variant", "srm_q_value": None}
        if len(counts) > 1:
            mean = sum(counts) / len(counts)
            statistic = sum((c - mean) ** 2 / mean for c in counts)
            out.update(srm_chi_square=statistic, srm_degrees_of_freedom=len(counts) - 1,
                       srm_p_value=chi_square_sf(statistic, len(counts) - 1), srm_null_reason=None)
        return out

    expected = [row("checkout", [4, 5], 1, True), row("pricing", [2, 1], 0, False), row("banner", [2], 0, True),
                row("zero", [2, 2], 0, True), row("flat", [1, 1], 0, True), row("full", [1, 1], 0, True),
                row("(missing)", [1, 1], 0, True), row("nov", [3], 0, False), row("7", [1], 0, True),
                row("both", [], 1, False)]
    # six p-values: checkout 4 v 5 (0.739), pricing 2 v 1 (0.564) and four of 1 (equal
    # counts), so m p / j >= 1 for every j: every q is 1
    with_q_values(expected, "srm_p_value", "srm_q_value")
    assert [r["srm_q_value"] for r in expected if r["srm_p_value"] is not None] == [1.0] * 6
    assert_stat_rows(experiments, expected, "experiments", source)


CONVERSION_VARS = {"activation_as_of": ts(AS_OF), "activation_conversion_event": "purchase"}


def conversion_dataset():
    at = EXPOSED + dt.timedelta(hours=12)
    exposures = [exposure("y1", {"experiment": "ce", "variant": "control"}, at=at),
                 exposure("y2", {"experiment": "ce", "variant": "control"}, at=at),
                 *[exposure(uid, {"experiment": "ce", "variant": "treatment"}, at=at) for uid in ("y3", "y4", "y5")]]
    purchases = [
        event("y1", "purchase", ts(EXPOSED + dt.timedelta(hours=8)), "p1"),  # same date, earlier time: counts
        event("y2", "purchase", ts(EXPOSED - dt.timedelta(days=1)), "p2"),  # first conversion before exposure
        event("y2", "purchase", ts(EXPOSED + dt.timedelta(days=6)), "p3"),
        event("y3", "purchase", ts(SIGNUP - dt.timedelta(days=1)), "p4"),  # before signup: not a conversion
        event("y4", "purchase", ts(EXPOSED + dt.timedelta(days=6)), "p5"),
    ]
    users = [user(uid, ts(SIGNUP), plan_tier="pro" if uid == "y5" else "free") for uid in ("y1", "y2", "y3", "y4", "y5")]
    return Dataset(users=users, events=exposures + purchases, milestones=EXPERIMENT_MILESTONES)


@pytest.fixture(scope="module")
def conversion_mart(dbt_builder):
    return build_stats(dbt_builder, conversion_dataset(), CONVERSION_VARS, EXPERIMENT_MARTS)


@pytest.fixture(scope="module")
def conversion_reference():
    return reference(conversion_dataset(), CONVERSION_VARS)


@pytest.mark.parametrize("source", ["mart", "reference"])
def test_paid_metric_on_conversion_event_by_date(request, source):
    results = outputs(request, "conversion", source)["experiment_results"]
    expected = [result_row("ce", "control", "paid", 1, 2, (1, 2), null_reason="control"),
                result_row("ce", "treatment", "paid", 1, 3, (1, 2), **by_hand(1, 3, 1, 2)),
                result_row("ce", "treatment", "activation", 0, 3, (0, 2), **by_hand(0, 3, 0, 2, "no_variation"))]
    # one p-value in the mart: a family of one, q = p
    assert_family_is(results, "p_value", expected, MART_KEYS["experiment_results"])
    for row in with_q_values(expected, "p_value", "q_value"):
        actual = pick(results, experiment_id="ce", variant=row["variant"], metric=row["metric"])
        assert_stat_rows(actual, [row], "experiment_results", f"{source} {row['variant']}")


def test_conversion_case_matches_reference(conversion_mart, conversion_reference):
    assert_all_match(conversion_mart, conversion_reference)


# ------------------------------------------------------------------- randomised data

STATS_EXAMPLES = int(os.environ.get("ACTIVATION_HYPOTHESIS_STATS_EXAMPLES", "8"))
SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
DEFAULT_KEYS = {"exposure": "experiment_exposure", "id": "experiment", "variant": "variant"}
VAR_PROFILES = [
    ({"activation_stats_min_group_size": 2, "activation_stats_max_groups": 3}, DEFAULT_KEYS),
    ({"activation_stats_min_group_size": 1, "activation_stats_max_groups": 2, "activation_conversion_event": "buy"},
     DEFAULT_KEYS),
    ({"activation_stats_min_group_size": 3, "activation_experiment_exposure_event": "Seen It",
      "activation_experiment_id_property": "exp", "activation_experiment_variant_property": "arm",
      "activation_experiment_control_variant": "treat"},
     {"exposure": "seen it", "id": "exp", "variant": "arm"}),
]
DAY = 86400


@st.composite
def stats_datasets(draw):
    profile, keys = draw(st.sampled_from(VAR_PROFILES))
    milestones = [milestone("m0", 1, timeframe=draw(st.sampled_from(["1d", "3d", "7d"])), triggered_by_event="a",
                            is_activation=draw(st.booleans()))]
    if draw(st.booleans()):
        milestones.append(milestone("m1", 2, timeframe=draw(st.sampled_from(["2d", "7d"])), triggered_by_event="b",
                                    is_activation=True, requires_milestone_id=draw(st.sampled_from([None, "m0"]))))
    offsets = st.one_of(st.integers(-3600, 20 * DAY),
                        st.sampled_from([0, DAY - 1, DAY, DAY + 1, 2 * DAY, 3 * DAY - 1, 7 * DAY]))
    users, events, created = [], [], {}
    for index in range(draw(st.integers(2, 24))):
        uid = f"u{index:02d}"
        shape = draw(st.integers(0, 7))
        if shape == 0:  # created after as_of
            back = draw(st.integers(-DAY, -1))
        elif shape == 1:
            back = draw(st.sampled_from([0, DAY, 2 * DAY, 5 * DAY]))
        else:
            back = draw(st.integers(0, 20 * DAY))
        created[uid] = AS_OF - dt.timedelta(seconds=back)
        users.append(user(uid, ts(created[uid]),
                          install_source=draw(st.sampled_from(["web", "ads", "seo"])),
                          plan_tier=draw(st.sampled_from(["free", "pro", None])),
                          inviter_user_id=draw(st.sampled_from([None, "u00"])),
                          company_size=draw(st.sampled_from(["s", "m", None]))))
        for name in draw(st.lists(st.sampled_from(["a", "a", "b", "buy", "noise"]), max_size=4)):
            events.append(event(uid, name, ts(created[uid] + dt.timedelta(seconds=draw(offsets)))))
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
            properties = {}
            if draw(st.integers(0, 7)):
                properties[keys["id"]] = draw(st.sampled_from(["e1", "e1", "e2"]))
            if draw(st.integers(0, 7)):
                properties[keys["variant"]] = draw(st.sampled_from(["control", "control", "treat", "treat", "alt", " treat "]))
            text = json.dumps(properties) if draw(st.integers(0, 7)) else None
            name = keys["exposure"] if draw(st.integers(0, 7)) else "experiment_exposure"
            moment = created[uid] + dt.timedelta(seconds=draw(offsets))
            events.append(event(uid, name, ts(moment), None, text))
    vars = dict(profile, activation_as_of=ts(AS_OF))
    return Dataset(users=users, events=events, milestones=milestones), vars


@settings(max_examples=STATS_EXAMPLES, **SETTINGS)
@given(case=stats_datasets())
def test_statistics_marts_equal_reference_on_random_data(dbt_builder, case):
    dataset, vars = case
    marts = build_stats(dbt_builder, dataset, vars, SURVIVAL_MARTS + EXPERIMENT_MARTS)
    assert_all_match(marts, reference(dataset, vars))


@settings(max_examples=200, deadline=None, database=None)
@given(groups=st.dictionaries(st.sampled_from("abcde"),
                              st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=1, max_size=8),
                              min_size=2, max_size=5))
def test_reference_logrank_equals_contract_formula(groups):
    """The reference's log-rank (lifelines) equals u'V^-1 u by the contract's formula,
    solved by LDL' elimination; degenerate cases are caught before lifelines."""
    chi_square, df, p_value, reason, own = logrank(groups, max_groups=10)
    if reason is None:
        assert df == len(groups) - 1
        assert math.isclose(chi_square, own, rel_tol=1e-7, abs_tol=1e-9)
        import numpy as np

        _, u, v = logrank_variance(groups)
        k = len(u)
        assert math.isclose(own, float(np.array(u[:k - 1]) @ np.linalg.solve(np.array(v)[:k - 1, :k - 1],
                                                                              np.array(u[:k - 1]))),
                            rel_tol=1e-7, abs_tol=1e-9)
    else:
        assert chi_square is None and p_value is None


@settings(max_examples=200, deadline=None, database=None)
@given(members=st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=1, max_size=15))
def test_reference_curve_equals_product_limit(members):
    """The reference's curve (lifelines) equals the product-limit estimate and the
    exponential Greenwood interval written out here."""
    from lifelines import KaplanMeierFitter

    rows, median = kaplan_meier([d for d, _ in members], [e for _, e in members])
    lifelines_median = KaplanMeierFitter().fit([d for d, _ in members], [e for _, e in members]).median_survival_time_
    survival, variance, expected_median, exact = 1.0, 0.0, None, Fraction(1)
    days = sorted({d for d, _ in members})
    assert [r["day"] for r in rows] == days
    for row, day in zip(rows, days):
        at_risk = sum(1 for d, _ in members if d >= day)
        events = sum(1 for d, e in members if d == day and e)
        survival *= 1 - events / at_risk
        exact *= 1 - Fraction(events, at_risk)
        if events and at_risk > events:
            variance += events / (at_risk * (at_risk - events))
        if expected_median is None and exact <= Fraction(1, 2):
            expected_median = day
            exactly_half = exact == Fraction(1, 2)
        lower, upper = greenwood_bounds(survival, variance)
        assert (row["at_risk"], row["events"], row["censored"]) == (
            at_risk, events, sum(1 for d, e in members if d == day and not e))
        assert math.isclose(row["survival"], survival, rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(row["survival_ci_lower"], lower, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(row["survival_ci_upper"], upper, rel_tol=1e-9, abs_tol=1e-12)
    assert median == expected_median
    if median is not None and not exactly_half:
        assert lifelines_median == median
    elif median is None:
        assert math.isinf(lifelines_median)


# --------------------------------------------------------- lifelines' real data sets


def survival_dataset(frame, duration, observed, segments):
    """Users and events from a survival data frame: a censored subject signs up exactly
    `duration` days before as_of; a subject with the event signs up earlier and reaches
    the milestone exactly `duration` days after signup. `segments` maps a users column
    to a function of the row giving its value."""
    users, events = [], []
    longest = int(frame[duration].max())
    for index, row in enumerate(frame.itertuples(index=False)):
        uid = f"s{index:04d}"
        days = int(getattr(row, duration))
        columns = {column: value(row) for column, value in segments.items()}
        if getattr(row, observed):
            created = days_before(longest + 1 + index % 7)
            events.append(event(uid, "reach", ts(created + dt.timedelta(days=days)), f"r{index}"))
        else:
            created = days_before(days)
        users.append(user(uid, ts(created), **columns))
    # a 30-day timeframe cuts both curves (Waltons 6 to 75 days, Rossi 1 to 52): the RMST horizon
    return Dataset(users=users, events=events,
                   milestones=[milestone("m", 1, timeframe="30d", triggered_by_event="reach")])


REAL_VARS = {"activation_as_of": ts(AS_OF), "activation_stats_min_group_size": 2}


def assert_curve_equals_lifelines(marts, dimension, value, durations, observed):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times, restricted_mean_survival_time

    kmf = KaplanMeierFitter().fit(durations, observed)
    rows = {int(r["day"]): r for r in pick(marts["time_to_milestone"], segment_dimension=dimension,
                                            segment_value=value)}
    table = kmf.event_table[kmf.event_table["removed"] > 0]
    assert sorted(rows) == [int(t) for t in table.index], f"{dimension}={value}: days"
    lower, upper = kmf.confidence_interval_.iloc[:, 0], kmf.confidence_interval_.iloc[:, 1]
    for time, entry in table.iterrows():
        row = rows[int(time)]
        assert (row["at_risk"], row["events"], row["censored"]) == (
            entry["at_risk"], entry["observed"], entry["censored"]), f"{dimension}={value} day {time}"
        for column, value_ in (("survival", kmf.survival_function_.iloc[:, 0].loc[time]),
                               ("survival_ci_lower", lower.loc[time]), ("survival_ci_upper", upper.loc[time])):
            assert same_value(column, row[column], float(value_)), f"{dimension}={value} day {time} {column}"
    summary = pick(marts["time_to_milestone_summary"], segment_dimension=dimension, segment_value=value)
    assert len(summary) == 1
    median = kmf.median_survival_time_
    assert summary[0]["median_days"] == (None if math.isinf(median) else int(median)), f"{dimension}={value} median"
    bounds = median_survival_times(kmf.confidence_interval_)
    for column, bound in zip(("median_days_ci_lower", "median_days_ci_upper"), bounds.iloc[0]):
        assert summary[0][column] == (None if math.isinf(bound) else int(bound)), f"{dimension}={value} {column}"
    horizon = summary[0]["rmst_horizon_days"]
    assert horizon == 30.0
    assert same_value("rmst_days", summary[0]["rmst_days"], float(restricted_mean_survival_time(kmf, t=horizon)))
    assert summary[0]["users"] == len(durations) and summary[0]["reached_users"] == int(sum(observed))


def assert_test_equals(marts, dimension, result, df):
    rows = pick(marts["time_to_milestone_tests"], segment_dimension=dimension)
    assert len(rows) == 1 and rows[0]["null_reason"] is None, rows
    assert same_value("chi_square", rows[0]["chi_square"], float(result.test_statistic)), (rows, result.test_statistic)
    assert same_value("p_value", rows[0]["p_value"], float(result.p_value)), (rows, result.p_value)
    assert rows[0]["degrees_of_freedom"] == df


@pytest.fixture(scope="module")
def waltons(dbt_builder):
    from lifelines.datasets import load_waltons

    frame = load_waltons()
    dataset = survival_dataset(frame, "T", "E", {"install_source": lambda row: row.group})
    return frame, build_stats(dbt_builder, dataset, REAL_VARS, SURVIVAL_MARTS), reference(dataset, REAL_VARS)


def test_waltons_equals_lifelines(waltons):
    from lifelines.statistics import logrank_test

    frame, marts, ref = waltons
    assert_curve_equals_lifelines(marts, "all", "all", frame["T"], frame["E"])
    for group, part in frame.groupby("group"):
        assert_curve_equals_lifelines(marts, "install_source", group, part["T"], part["E"])
    control, treated = frame[frame.group == "control"], frame[frame.group == "miR-137"]
    result = logrank_test(control["T"], treated["T"], control["E"], treated["E"])
    assert_test_equals(marts, "install_source", result, 1)
    # the mart's only p-value: a family of one, q = p
    tests = marts["time_to_milestone_tests"]
    assert [r["segment_dimension"] for r in tests if r["p_value"] is not None] == ["install_source"]
    assert same_value("q_value", pick(tests, segment_dimension="install_source")[0]["q_value"], float(result.p_value))
    assert_all_match(marts, ref)


@pytest.fixture(scope="module")
def rossi(dbt_builder):
    from lifelines.datasets import load_rossi

    frame = load_rossi()
    frame["prio_band"] = frame["prio"].clip(upper=4).map(lambda p: f"prio_{p}")
    dataset = survival_dataset(frame, "week", "arrest", {
        "install_source": lambda row: f"fin_{row.fin}",
        "plan_tier": lambda row: f"race_{row.race}",
        "company_size": lambda row: row.prio_band,
    })
    return frame, build_stats(dbt_builder, dataset, REAL_VARS, SURVIVAL_MARTS), reference(dataset, REAL_VARS)


def test_rossi_equals_lifelines(rossi):
    from lifelines.statistics import logrank_test, multivariate_logrank_test
    from statsmodels.stats.multitest import multipletests

    frame, marts, ref = rossi
    family = {}
    assert_curve_equals_lifelines(marts, "all", "all", frame["week"], frame["arrest"])
    for column, dimension, prefix in (("fin", "install_source", "fin_"), ("race", "plan_tier", "race_")):
        for value, part in frame.groupby(column):
            assert_curve_equals_lifelines(marts, dimension, f"{prefix}{value}", part["week"], part["arrest"])
        zero, one = frame[frame[column] == 0], frame[frame[column] == 1]
        family[dimension] = logrank_test(zero["week"], one["week"], zero["arrest"], one["arrest"])
        assert_test_equals(marts, dimension, family[dimension], 1)
    for band, part in frame.groupby("prio_band"):
        assert_curve_equals_lifelines(marts, "company_size", band, part["week"], part["arrest"])
    family["company_size"] = multivariate_logrank_test(frame["week"], frame["prio_band"], frame["arrest"])
    assert_test_equals(marts, "company_size", family["company_size"], 4)
    # the three tests are the mart's family (signup_type has one group): statsmodels on lifelines' p-values
    tests = marts["time_to_milestone_tests"]
    assert sorted(r["segment_dimension"] for r in tests if r["p_value"] is not None) == sorted(family)
    q_values = multipletests([float(result.p_value) for result in family.values()], method="fdr_bh")[1]
    for dimension, q_value in zip(family, q_values):
        assert same_value("q_value", pick(tests, segment_dimension=dimension)[0]["q_value"], float(q_value)), dimension
    assert_all_match(marts, ref)


# ------------------------------------------------------------------- sample size macro

SAMPLE_SIZE_GRID = [(b, m, a, p) for b in (0.01, 0.05, 0.2, 0.5) for m in (0.05, 0.15, 0.5, -0.2)
                    for a in (0.01, 0.05, 0.1) for p in (0.8, 0.9)]
SAMPLE_SIZE_INVALID = [(0.0, 0.1, 0.05, 0.8), (0.05, 0.0, 0.05, 0.8), (0.5, 1.0, 0.05, 0.8), (0.05, 0.1, 0.0, 0.8),
                       (0.05, 0.1, 0.05, 1.0), (1.0, 0.1, 0.05, 0.8)]


@pytest.fixture(scope="module")
def sample_sizes(dbt_builder):
    """The macro compiled by dbt for every grid point in one query: {(b, m, a, p): n}."""
    dbt_builder.deps()
    grid = SAMPLE_SIZE_GRID + SAMPLE_SIZE_INVALID
    selects = [f"select {i} as point, {{{{ milestone_activation.sample_size_per_variant("
               f"'{b!r}', '{m!r}', '{a!r}', '{p!r}') }}}} as n" for i, (b, m, a, p) in enumerate(grid)]
    vars_json = json.dumps(dict(BASE_VARS, **KM_VARS), sort_keys=True)
    result = dbt_builder.run_dbt(["compile", "--vars", vars_json, "--quiet", "--inline", "\nunion all\n".join(selects)])
    rows = dbt_builder.query(result.result.results[0].node.compiled_code)
    return {grid[int(r["point"])]: r["n"] for r in rows}


def test_sample_size_of_the_readme_example(sample_sizes):
    assert sample_sizes[(0.05, 0.15, 0.05, 0.8)] == 14178


def test_sample_size_is_the_smallest_n_reaching_the_power(sample_sizes):
    """statsmodels' power of the two-sided test without its opposite tail (the one-sided
    test at alpha/2 in the direction of the effect) reaches the target at n and not at
    n - 1; statsmodels' solve_power (which adds the opposite tail) needs at most that n
    and fewer by less than one user plus 1e-4 of n."""
    from scipy.stats import norm
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    power_of = NormalIndPower()
    for (b, m, a, p) in SAMPLE_SIZE_GRID:
        n = sample_sizes[(b, m, a, p)]
        effect = proportion_effectsize(b * (1 + m), b)
        formula = 2 * (norm.ppf(1 - a / 2) + norm.ppf(p)) ** 2 / effect ** 2
        assert n == math.ceil(formula), (b, m, a, p, n, formula)
        side = "larger" if effect > 0 else "smaller"
        assert power_of.power(effect, nobs1=n, alpha=a / 2, ratio=1, alternative=side) >= p, (b, m, a, p, n)
        assert power_of.power(effect, nobs1=n - 1, alpha=a / 2, ratio=1, alternative=side) < p, (b, m, a, p, n)
        solved = power_of.solve_power(effect_size=effect, alpha=a, power=p, ratio=1)
        assert 0 <= n - solved < 1 + 1e-4 * n, (b, m, a, p, n, solved)


def test_sample_size_null_outside_its_range(sample_sizes):
    for point in SAMPLE_SIZE_INVALID:
        assert sample_sizes[point] is None, point
