"""Effect sizes of the statistics reference (reference/stats_reference.py), pure Python.

Cramér's V and the smallest expected count beside each chi-square test, the risk
ratio with its Katz interval in the impact mart, DeLong's interval of the ROC AUC and
the ``activation_calibration_min_conversions`` rule, each against values worked out
here by hand (formulas written out, not the libraries the reference calls), DeLong
also against an O(m n) brute force on random cases. Only the reference runs: no dbt.
"""

import math

import numpy as np
import pytest
from harness import event, milestone, user
from reference.stats_reference import (
    STATISTIC_COLUMNS,
    STATS_DEFAULT_VARS,
    Z_95,
    _resolve_stats_vars,
    compute_stats,
    delong_interval,
    effect_size,
    risk_ratio,
    values_agree,
)
from sklearn.metrics import roc_auc_score

Z = 1.959963984540054


def close(actual, expected, rel=1e-12):
    return actual is not None and math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)


def cramer_by_hand(table):
    """(V, min expected, min expected < 5): E = row total * column total / n,
    chi2 = sum (O - E)^2 / E, V = sqrt(chi2 / (n * (min(rows, columns) - 1)))."""
    rows = [sum(r) for r in table]
    columns = [sum(c) for c in zip(*table)]
    n = sum(rows)
    expected = [[r * c / n for c in columns] for r in rows]
    chi2 = sum((o - e) ** 2 / e for orow, erow in zip(table, expected) for o, e in zip(orow, erow))
    smallest = min(min(erow) for erow in expected)
    return math.sqrt(chi2 / (n * (min(len(rows), len(columns)) - 1))), smallest, smallest < 5


def katz_by_hand(a, n1, c, n0):
    rr = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return rr, rr * math.exp(-Z * se), rr * math.exp(Z * se)


def delong_brute_force(positives, negatives):
    """Structural components with an explicit double loop."""
    def psi(x, y):
        return 1.0 if x > y else 0.5 if x == y else 0.0

    m, n = len(positives), len(negatives)
    v10 = [sum(psi(x, y) for y in negatives) / n for x in positives]
    v01 = [sum(psi(x, y) for x in positives) / m for y in negatives]
    auc = sum(v10) / m
    if m < 2 or n < 2:
        return auc, None, None
    s10 = sum((v - auc) ** 2 for v in v10) / (m - 1)
    mean01 = sum(v01) / n
    s01 = sum((v - mean01) ** 2 for v in v01) / (n - 1)
    half = Z * math.sqrt(s10 / m + s01 / n)
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def test_z_is_the_95_percent_quantile():
    assert Z_95 == Z


# ------------------------------------------------------------------------ Cramér's V


def test_cramers_v_two_by_two_by_hand():
    table = [[3, 7], [1, 9]]
    # n = 20, E = [[2, 8], [2, 8]], chi2 = 1/2 + 1/8 + 1/2 + 1/8 = 1.25, V = sqrt(1.25 / 20) = 0.25
    v, smallest, below = cramer_by_hand(table)
    assert close(v, 0.25) and smallest == 2.0 and below is True
    ref = effect_size(table)
    assert close(ref[0], 0.25) and close(ref[1], 2.0) and ref[2] is True


def test_cramers_v_three_by_two_by_hand():
    table = [[10, 10], [5, 15], [15, 5]]
    # n = 60, every E = 10, chi2 = 0 + 2 * 2.5 + 2 * 2.5 = 10, V = sqrt(10 / 60)
    v, smallest, below = cramer_by_hand(table)
    assert close(v, math.sqrt(1 / 6)) and smallest == 10.0 and below is False
    ref = effect_size(table)
    assert close(ref[0], math.sqrt(1 / 6)) and close(ref[1], 10.0) and ref[2] is False


def test_cramers_v_uneven_three_by_two():
    table = [[4, 1], [2, 6], [7, 3]]
    v, smallest, below = cramer_by_hand(table)
    ref = effect_size(table)
    assert close(ref[0], v) and close(ref[1], smallest) and ref[2] is below
    # smallest E: row of 5 users, column "no" of 10 of 23
    assert close(smallest, 5 * 10 / 23)


# ------------------------------------------------------------------------ risk ratio


def test_risk_ratio_three_in_ten_against_one_in_ten():
    # RR = 0.3 / 0.1 = 3; se = sqrt(1/3 - 1/10 + 1/1 - 1/10) = sqrt(17/15)
    se = math.sqrt(17 / 15)
    expected = (3.0, 3.0 * math.exp(-Z * se), 3.0 * math.exp(Z * se))
    assert all(close(a, b) for a, b in zip(katz_by_hand(3, 10, 1, 10), expected))
    ratio, lower, upper = risk_ratio(3, 10, 1, 10)
    assert close(ratio, 3.0) and close(lower, expected[1]) and close(upper, expected[2])
    assert close(lower, 0.3723471325, rel=1e-9) and close(upper, 24.170993177, rel=1e-9)


def test_risk_ratio_uneven_groups():
    ratio, lower, upper = risk_ratio(5, 7, 2, 9)
    rr, lo, hi = katz_by_hand(5, 7, 2, 9)
    assert close(ratio, rr) and close(lower, lo) and close(upper, hi)


@pytest.mark.parametrize(("counts", "expected"), [
    ((0, 10, 1, 10), (0.0, None, None)),     # nobody reached has the outcome: RR 0, no interval
    ((3, 10, 0, 10), (None, None, None)),    # not-reached rate 0: RR infinite -> null
    ((0, 10, 0, 10), (None, None, None)),    # 0 / 0
    ((0, 0, 1, 10), (None, None, None)),     # no reached user
    ((3, 10, 0, 0), (None, None, None)),     # no not-reached user
    ((10, 10, 4, 4), (1.0, 1.0, 1.0)),       # everyone has the outcome: se = 0
])
def test_risk_ratio_zero_cases(counts, expected):
    assert risk_ratio(*counts) == expected


# --------------------------------------------------------------------------- DeLong


def test_delong_tiny_case_by_hand():
    positives, negatives = [3, 2], [1, 2, 0]
    # V10: 3 beats 1, 2, 0 -> 1; 2 beats 1 and 0, ties 2 -> 2.5 / 3
    v10 = [1.0, 2.5 / 3]
    # V01: 1 is below 3 and 2 -> 1; 2 below 3, tied with 2 -> 0.75; 0 -> 1
    v01 = [1.0, 0.75, 1.0]
    auc = sum(v10) / 2
    assert close(auc, 11 / 12)
    s10 = sum((v - auc) ** 2 for v in v10) / 1           # (1/12)^2 + (1/12)^2 = 1/72
    s01 = sum((v - 11 / 12) ** 2 for v in v01) / 2      # (1/144 + 4/144 + 1/144) / 2 = 1/48
    assert close(s10, 1 / 72) and close(s01, 1 / 48)
    variance = s10 / 2 + s01 / 3
    assert close(variance, 1 / 72)
    lower, upper = 11 / 12 - Z * math.sqrt(1 / 72), min(1.0, 11 / 12 + Z * math.sqrt(1 / 72))
    assert upper == 1.0  # clamped
    ref = delong_interval([True, True, False, False, False], positives + negatives)
    assert close(ref[0], 11 / 12) and close(ref[1], lower) and ref[2] == 1.0
    assert close(ref[1], 0.6856827, rel=1e-6)


def test_delong_small_case_clamped_above_by_hand():
    # positives [s, s, 0], negatives [s, 0, 0]: V10 = [5/6, 5/6, 1/3], V01 = [1/3, 5/6, 5/6],
    # AUC 2/3, S10 = S01 = (1/36 + 1/36 + 4/36) / 2 = 1/12, var = 1/36 + 1/36 = 1/18;
    # 2/3 + z sqrt(1/18) = 1.13 -> 1
    ref = delong_interval([1, 1, 1, 0, 0, 0], [100.0, 100.0, 0.0, 100.0, 0.0, 0.0])
    half = Z * math.sqrt(1 / 18)
    assert close(ref[0], 2 / 3) and close(ref[1], 2 / 3 - half) and ref[2] == 1.0


def test_delong_unclamped_case_by_hand():
    # four times the case above: m = n = 12, V10 = 8 x 5/6 and 4 x 1/3, AUC 2/3,
    # S10 = (8/36 + 4/9) / 11 = 2/33 = S01, var = 2 * (2/33) / 12 = 1/99
    ref = delong_interval([1, 1, 1, 0, 0, 0] * 4, [100.0, 100.0, 0.0, 100.0, 0.0, 0.0] * 4)
    half = Z * math.sqrt(1 / 99)
    assert close(ref[0], 2 / 3) and close(ref[1], 2 / 3 - half) and close(ref[2], 2 / 3 + half)
    assert 0 < ref[1] and ref[2] < 1


def test_delong_fewer_than_two_of_a_class_has_no_interval():
    assert delong_interval([1, 0, 0], [2.0, 1.0, 3.0]) == (0.5, None, None)
    assert delong_interval([1, 1, 0], [2.0, 1.0, 3.0]) == (0.0, None, None)
    assert delong_interval([0, 0], [2.0, 1.0]) == (None, None, None)


def test_delong_perfect_separation_has_zero_width():
    assert delong_interval([1, 1, 0, 0], [5, 4, 1, 0]) == (1.0, 1.0, 1.0)
    assert delong_interval([1, 1, 0, 0], [0, 1, 4, 5]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("seed", range(200))
def test_delong_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 25)), int(rng.integers(1, 25))
    if seed % 3 == 0:  # many ties
        scores = rng.integers(0, 4, size=m + n).astype(float)
    elif seed % 3 == 1:  # some signal
        scores = np.concatenate([rng.normal(1.0, 1.0, m), rng.normal(0.0, 1.0, n)]).round(1)
    else:
        scores = rng.random(m + n)
    labels = [True] * m + [False] * n
    order = rng.permutation(m + n)
    labels = [labels[i] for i in order]
    scores = [float(scores[i]) for i in order]
    positives = [s for c, s in zip(labels, scores) if c]
    negatives = [s for c, s in zip(labels, scores) if not c]
    expected = delong_brute_force(positives, negatives)
    actual = delong_interval(labels, scores)
    assert close(actual[0], float(roc_auc_score([int(c) for c in labels], scores)))
    assert close(actual[0], expected[0])
    for a, b in zip(actual[1:], expected[1:]):
        assert (a is None and b is None) or close(a, b, rel=1e-10)
    if m >= 2 and n >= 2:
        assert 0.0 <= actual[1] <= actual[0] <= actual[2] <= 1.0


# ------------------------------------------------------------------------- the vars


def test_min_conversions_var():
    assert STATS_DEFAULT_VARS["activation_calibration_min_conversions"] == 10
    assert _resolve_stats_vars({})["activation_calibration_min_conversions"] == 10
    assert _resolve_stats_vars({"activation_calibration_min_conversions": "3"})[
        "activation_calibration_min_conversions"] == 3
    assert _resolve_stats_vars({"activation_calibration_min_conversions": None})[
        "activation_calibration_min_conversions"] == 10


def test_new_statistic_columns_compare_to_1e6():
    new = {"cramers_v", "min_expected_count", "roc_auc_ci_lower", "roc_auc_ci_upper"}
    for p in ("conversion", "retention"):
        new |= {f"{p}_cramers_v", f"{p}_min_expected_count", f"{p}_risk_ratio", f"{p}_risk_ratio_ci_lower",
                f"{p}_risk_ratio_ci_upper"}
    assert new <= STATISTIC_COLUMNS
    assert values_agree("conversion_risk_ratio", 3.0 * (1 + 5e-7), 3.0)
    assert not values_agree("conversion_risk_ratio", 3.0 * (1 + 5e-6), 3.0)
    assert values_agree("is_expected_below_5", True, True) and not values_agree("is_expected_below_5", 1, True)


# ---------------------------------------------------------------- compute_stats rows

SIGNUP = "2025-01-06 00:00:00"
AS_OF = "2025-03-15 00:00:00"  # scoring date 2025-02-13 with 30 calibration days


def _dataset():
    # u1-u3 web / pro (converted), u4-u6 ads / free. m1 reached by u1, u2 (pro) and u4 (free).
    # Everyone is active on 2025-02-20, inside the D30 retention window (Feb 5, Mar 7].
    people = [("u1", "web", "pro"), ("u2", "web", "pro"), ("u3", "web", "pro"),
              ("u4", "ads", "free"), ("u5", "ads", "free"), ("u6", "ads", "free")]
    users = [user(uid, SIGNUP, install_source=source, plan_tier=tier) for uid, source, tier in people]
    events = [event(uid, "a", "2025-01-07 00:00:00") for uid in ("u1", "u2", "u4")]
    events += [event(uid, "noise", "2025-02-20 00:00:00") for uid, _, _ in people]
    return users, events, [milestone("m1", 1, triggered_by_event="a")], []


def _stats(**vars):
    users, events, milestones, requirements = _dataset()
    return compute_stats(users, events, milestones, requirements,
                         dict({"activation_as_of": AS_OF, "activation_stats_min_group_size": 2}, **vars))


def _one(rows, **where):
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, where
    return found[0]


def test_segment_tests_rows_have_effect_sizes():
    tests = _stats()["segment_tests"]
    # install_source: ads [1 completed, 2 not], web [2, 1]; plan_tier free / pro the same table.
    # E = 1.5 everywhere, chi2 = 4 * 0.25 / 1.5 = 2/3, V = sqrt((2/3) / 6) = 1/3
    for dimension in ("install_source", "plan_tier"):
        row = _one(tests, milestone_id="m1", segment_dimension=dimension)
        assert close(row["chi_square"], 2 / 3)
        assert close(row["cramers_v"], 1 / 3) and close(row["min_expected_count"], 1.5)
        assert row["is_expected_below_5"] is True
    # signup_type: one group '(none)' -> no test, no effect size
    row = _one(tests, milestone_id="m1", segment_dimension="signup_type")
    assert row["null_reason"] == "fewer_than_two_groups"
    assert (row["cramers_v"], row["min_expected_count"], row["is_expected_below_5"]) == (None, None, None)


def test_milestone_impact_rows_have_effect_sizes():
    row = _one(_stats()["milestone_impact"], milestone_id="m1")
    # conversion: reached 2 of 3, not reached 1 of 3 -> table [[2, 1], [1, 2]]
    assert close(row["conversion_cramers_v"], 1 / 3) and close(row["conversion_min_expected_count"], 1.5)
    assert row["is_conversion_expected_below_5"] is True
    rr, lower, upper = katz_by_hand(2, 3, 1, 3)
    assert close(rr, 2.0)
    assert close(row["conversion_risk_ratio"], 2.0)
    assert close(row["conversion_risk_ratio_ci_lower"], 2 * math.exp(-Z * math.sqrt(5 / 6)))
    assert close(row["conversion_risk_ratio_ci_upper"], upper) and close(lower, row["conversion_risk_ratio_ci_lower"])
    # retention: everyone retained -> no_variation, no chi-square, yet RR 1 with interval [1, 1]
    assert row["retention_null_reason"] == "no_variation" and row["retention_chi_square"] is None
    assert (row["retention_cramers_v"], row["retention_min_expected_count"],
            row["is_retention_expected_below_5"]) == (None, None, None)
    assert (row["retention_risk_ratio"], row["retention_risk_ratio_ci_lower"],
            row["retention_risk_ratio_ci_upper"]) == (1.0, 1.0, 1.0)


def test_milestone_impact_without_comparison_group():
    users, events, milestones, requirements = _dataset()
    events = [e for e in events if e["event_name"] != "a"]  # nobody reaches m1
    row = _one(compute_stats(users, events, milestones, requirements,
                             {"activation_as_of": AS_OF})["milestone_impact"], milestone_id="m1")
    for p in ("conversion", "retention"):
        assert row[f"{p}_null_reason"] == "no_comparison_group"
        for column in (f"{p}_cramers_v", f"{p}_min_expected_count", f"is_{p}_expected_below_5", f"{p}_risk_ratio",
                       f"{p}_risk_ratio_ci_lower", f"{p}_risk_ratio_ci_upper"):
            assert row[column] is None, column


def test_calibration_too_few_conversions_by_default():
    # 3 converted of 6 scored users, fewer than the default 10
    for row in _stats()["pql_calibration"]:
        assert (row["scored_users"], row["converted_users"]) == (6, 3)
        assert row["null_reason"] == "too_few_conversions"
        assert (row["roc_auc"], row["roc_auc_ci_lower"], row["roc_auc_ci_upper"]) == (None, None, None)


@pytest.mark.parametrize("minimum", [0, 1, 3])
def test_calibration_auc_and_delong_interval_at_or_above_minimum(minimum):
    calibration = _stats(activation_calibration_min_conversions=minimum)["pql_calibration"]
    row = _one(calibration, score_name="activation_score")
    # activation score (pct): converted [100, 100, 0], others [100, 0, 0] -> AUC 2/3, var 1/18,
    # upper bound 2/3 + z sqrt(1/18) clamped to 1
    half = Z * math.sqrt(1 / 18)
    assert row["null_reason"] is None
    assert close(row["roc_auc"], 2 / 3) and close(row["roc_auc_ci_lower"], 2 / 3 - half)
    assert row["roc_auc_ci_upper"] == 1.0
    pql = _one(calibration, score_name="pql_score")
    assert pql["null_reason"] is None and pql["roc_auc"] is not None
    assert pql["roc_auc_ci_lower"] <= pql["roc_auc"] <= pql["roc_auc_ci_upper"]


def test_calibration_one_below_minimum():
    for row in _stats(activation_calibration_min_conversions=4)["pql_calibration"]:
        assert row["null_reason"] == "too_few_conversions" and row["roc_auc_ci_lower"] is None


def test_calibration_earlier_reasons_come_first():
    users, events, milestones, requirements = _dataset()
    users = [dict(u, plan_tier="free") for u in users]  # nobody converted
    for row in compute_stats(users, events, milestones, requirements,
                             {"activation_as_of": AS_OF})["pql_calibration"]:
        assert row["null_reason"] == "no_conversions" and row["roc_auc_ci_upper"] is None
    users = [dict(u, plan_tier="pro") for u in users]  # everybody converted, fewer than 10
    for row in compute_stats(users, events, milestones, requirements,
                             {"activation_as_of": AS_OF})["pql_calibration"]:
        assert row["null_reason"] == "all_converted"
    for row in compute_stats(users, events, milestones, requirements,
                             {"activation_as_of": "2025-01-20 00:00:00"})["pql_calibration"]:
        assert row["null_reason"] == "no_scored_users"
