"""Statistics marts for segment comparison, PQL calibration and milestone impact (SPEC §7).

Every column of the five marts is compared with the Python reference
(reference/stats_reference.py: per-user tables from the per-user and BI references,
statistics from scipy and scikit-learn, Wilson intervals and Benjamini–Hochberg
q-values from statsmodels): counts exactly, statistics to 1e-6 relative, p- and
q-values to 1e-4 absolute. Hand-written data sets check each rule against values
computed here by hand, on the reference and on the marts alike; hypothesis draws
random data sets; the Rossi recidivism data shipped with lifelines is loaded through
the package's raw inputs and checked against chi2_contingency on the same table.
"""

import datetime as dt
import math
import os

import pandas as pd
import pytest
from harness import (
    PER_USER_MARTS_SELECTION,
    Dataset,
    assert_marts_match_reference,
    bh_by_hand,
    event,
    milestone,
    requirement,
    user,
    wilson_by_hand,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.activation_reference import compute
from reference.stats_reference import STATS_MART_KEYS, compute_stats, values_agree
from scipy.stats import chi2, chi2_contingency
from scipy.stats.contingency import association, expected_freq, relative_risk
from statsmodels.stats.multitest import multipletests

STATS_MARTS = tuple(STATS_MART_KEYS)
SELECT = " ".join(f"+activation_{name}" for name in STATS_MARTS) + " " + PER_USER_MARTS_SELECTION
SOURCES = ("reference", "marts")
# The rates given a 95% Wilson interval (`<rate>_ci_lower`, `<rate>_ci_upper`), per mart.
INTERVAL_RATES = {
    "segment_comparison": ("completion_rate",),
    "segment_tests": (),
    "milestone_impact": ("reached_conversion_rate", "not_reached_conversion_rate", "reached_retention_rate",
                         "not_reached_retention_rate"),
    "pql_calibration": ("conversion_rate",),
    "pql_calibration_groups": ("conversion_rate", "share_of_users", "share_of_conversions", "precision_at_threshold",
                               "recall_at_threshold"),
}
# Intervals that are not Wilson intervals of a rate: risk ratios (log interval) and the AUC (DeLong).
OTHER_INTERVALS = {
    "milestone_impact": ("conversion_risk_ratio", "retention_risk_ratio"),
    "pql_calibration": ("roc_auc",),
}
# The p-value columns and their Benjamini–Hochberg q-value columns, per mart: one family per mart.
Q_VALUE_COLUMNS = {
    "segment_comparison": {},
    "segment_tests": {"p_value": "q_value"},
    "milestone_impact": {"conversion_p_value": "conversion_q_value", "retention_p_value": "retention_q_value"},
    "pql_calibration": {},
    "pql_calibration_groups": {},
}


def with_passthrough(vars):
    return dict(vars, activation_user_passthrough_columns=["company_size"])


def assert_stats_match(actual, expected):
    """Same keys, same columns and equal values in each of the five marts."""
    problems = []
    for name, key in STATS_MART_KEYS.items():
        label = f"activation_{name}"
        rows = {tuple(r[k] for k in key): r for r in actual[name]}
        assert len(rows) == len(actual[name]), f"{label}: duplicate keys"
        wanted = {tuple(r[k] for k in key): r for r in expected[name]}
        missing = sorted(set(wanted) - set(rows), key=str)
        extra = sorted(set(rows) - set(wanted), key=str)
        assert not missing and not extra, f"{label}: missing keys {missing[:5]}, unexpected keys {extra[:5]}"
        if expected[name] and actual[name]:
            assert set(actual[name][0]) == set(expected[name][0]), (
                f"{label}: columns {sorted(actual[name][0])}, contract {sorted(expected[name][0])}")
        for k, exp in wanted.items():
            for column, value in exp.items():
                if not values_agree(column, rows[k][column], value):
                    problems.append(f"{label} {k}: {column} = {rows[k][column]!r}, reference {value!r}")
    assert not problems, "\n".join(problems[:20])


def build_stats(dbt_builder, dataset, vars):
    """Build the statistics marts (and the per-user marts, checked on the way), read them back."""
    marts = dbt_builder.build(dataset, vars=vars, select=SELECT)
    assert_marts_match_reference(marts, compute(dataset.users, dataset.events, dataset.milestones,
                                                dataset.requirements, with_passthrough(vars)))
    return {name: dbt_builder.query(f"select * from main_activation.activation_{name}") for name in STATS_MARTS}


def reference_of(dataset, vars):
    return compute_stats(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                         with_passthrough(vars))


class Built:
    """A hand-written data set: its reference marts now, its built marts on first use."""

    def __init__(self, dbt_builder, dataset, vars):
        self.builder, self.dataset, self.vars = dbt_builder, dataset, vars
        self.reference = reference_of(dataset, vars)
        self._marts = self._error = None

    @property
    def marts(self):
        if self._error is not None:
            raise self._error
        if self._marts is None:
            try:
                self._marts = build_stats(self.builder, self.dataset, self.vars)
            except Exception as error:  # one failed build fails every test of the data set
                self._error = error
                raise
        return self._marts

    def source(self, name):
        return self.reference if name == "reference" else self.marts


def rows(tables, name, **where):
    return [r for r in tables[name] if all(r[k] == v for k, v in where.items())]


def one(tables, name, **where):
    found = rows(tables, name, **where)
    assert len(found) == 1, f"{name} {where}: {len(found)} rows"
    return found[0]


def close(actual, expected, rel=1e-9):
    return actual is not None and math.isclose(actual, expected, rel_tol=rel, abs_tol=1e-12)


def p_close(actual, expected):
    return actual is not None and abs(actual - expected) <= 1e-4


def assert_q_values(tables, name, expected=None):
    """Every q-value of the mart equals the step-up rule written out (harness.bh_by_hand)
    on the mart's own p-values and, unless ``expected`` is None, ``expected``
    {(key, q column): q} (null when not listed); to 1e-4 absolute, like a p-value."""
    cells = [(tuple(row[k] for k in STATS_MART_KEYS[name]), row, p, q)
             for row in tables[name] for p, q in Q_VALUE_COLUMNS[name].items()]
    assert set(expected or {}) <= {(key, q) for key, _, _, q in cells}, (name, sorted(expected, key=str))
    for (key, row, _, q), hand in zip(cells, bh_by_hand([row[p] for _, row, p, _ in cells])):
        assert values_agree(q, row[q], hand), (name, key, q, row[q], hand)
        if expected is not None:
            assert values_agree(q, row[q], expected.get((key, q))), (name, key, q, row[q], expected.get((key, q)))


def interval_close(row, rate, expected):
    """The row's ``<rate>_ci_lower`` / ``<rate>_ci_upper`` equal ``expected`` (lower, upper),
    or are both null when ``expected`` is None."""
    bounds = (row[f"{rate}_ci_lower"], row[f"{rate}_ci_upper"])
    if expected is None:
        return bounds == (None, None)
    return all(close(actual, wanted) for actual, wanted in zip(bounds, expected))


# ----------------------------------------------------------------- segments and impact

SIGNUP = "2025-01-06 00:00:00"


def _segments_dataset():
    # install_source: web 3/4 reach m1 within 7 days, ads 1/4, app 1/1 (below the minimum
    # group size of 2), late: signed up too recently for any timeframe to have closed.
    # company_size: three groups of three with activation_stats_max_groups = 2.
    # plan_tier pro = converted: among m1 reachers 4 of 5, among the others 1 of 4.
    people = [
        ("w1", "web", "pro", "small"), ("w2", "web", "pro", "small"), ("w3", "web", "pro", "mid"),
        ("w4", "web", "free", "mid"), ("a1", "ads", "free", "small"), ("a2", "ads", "pro", "mid"),
        ("a3", "ads", "free", "large"), ("a4", "ads", "free", "large"), ("p1", "app", "pro", "large"),
    ]
    users = [user(uid, SIGNUP, install_source=source, plan_tier=tier, company_size=size)
             for uid, source, tier, size in people]
    users.append(user("l1", "2025-03-10 00:00:00", install_source="late"))
    events = [event(uid, "signup", "2025-01-06 01:00:00") for uid, *_ in people]
    events.append(event("l1", "signup", "2025-03-10 01:00:00"))
    events += [event(uid, "a", "2025-01-07 00:00:00") for uid in ("w1", "w2", "w3", "a1", "p1")]
    events.append(event("w4", "a", "2025-01-14 00:00:01"))  # one second after its deadline: late
    # D30 retention window (2025-02-05 00:00, 2025-03-07 00:00]: w2 on the open end, w3 on the closed one
    events += [event("w1", "noise", "2025-02-20 00:00:00"), event("w2", "noise", "2025-02-05 00:00:00"),
               event("w3", "noise", "2025-03-07 00:00:00"), event("a2", "noise", "2025-02-20 00:00:00"),
               event("a3", "noise", "2025-02-20 00:00:00")]
    milestones = [milestone("m1", 1, triggered_by_event="a"), milestone("m2", 2, triggered_by_event="b"),
                  milestone("m3", 3, triggered_by_event="signup")]
    vars = {"activation_as_of": "2025-03-15 00:00:00", "activation_stats_min_group_size": 2,
            "activation_stats_max_groups": 2, "activation_calibration_days": 100}
    return Dataset(users, events, milestones, []), vars


@pytest.fixture(scope="module")
def segments(dbt_builder):
    return Built(dbt_builder, *_segments_dataset())


def test_segments_marts_equal_reference(segments):
    assert_stats_match(segments.marts, segments.reference)


@pytest.mark.parametrize("source", SOURCES)
def test_two_by_two_chi_square_by_hand(segments, source):
    tables = segments.source(source)
    test = one(tables, "segment_tests", milestone_id="m1", segment_dimension="install_source")
    # [[3, 1], [1, 3]]: 8 (3*3 - 1*1)^2 / (4*4*4*4) = 2; p = erfc(1)
    assert close(test["chi_square"], 2.0) and test["degrees_of_freedom"] == 1
    assert p_close(test["p_value"], math.erfc(1.0)) and test["null_reason"] is None
    assert (test["groups_total"], test["groups_included"], test["groups_excluded"]) == (3, 2, 1)
    assert (test["eligible_users_included"], test["completed_users_included"]) == (8, 4)


@pytest.mark.parametrize("source", SOURCES)
def test_group_below_min_size_is_shown_but_excluded(segments, source):
    tables = segments.source(source)
    web = one(tables, "segment_comparison", milestone_id="m1", segment_dimension="install_source", segment_value="web")
    app = one(tables, "segment_comparison", milestone_id="m1", segment_dimension="install_source", segment_value="app")
    assert (web["eligible_users"], web["completed_users"], web["not_completed_users"]) == (4, 3, 1)
    assert web["is_included"] and close(web["completion_rate"], 0.75) and close(web["expected_completed_users"], 2.0)
    assert (app["eligible_users"], app["completed_users"]) == (1, 1) and not app["is_included"]
    assert app["expected_completed_users"] is None
    # no eligible user: no row
    assert not rows(tables, "segment_comparison", segment_value="late")


@pytest.mark.parametrize("source", SOURCES)
def test_segment_null_reasons(segments, source):
    tables = segments.source(source)

    def reason(mid, dimension):
        test = one(tables, "segment_tests", milestone_id=mid, segment_dimension=dimension)
        if test["null_reason"] is not None:
            assert test["chi_square"] is None and test["degrees_of_freedom"] is None and test["p_value"] is None
            assert all(r["expected_completed_users"] is None for r in rows(
                tables, "segment_comparison", milestone_id=mid, segment_dimension=dimension))
        return test["null_reason"]

    assert reason("m1", "signup_type") == "fewer_than_two_groups"  # one group only
    assert reason("m1", "company_size") == "too_many_groups"  # 3 included groups, at most 2
    assert reason("m2", "install_source") == "no_variation"  # nobody completed
    assert reason("m3", "install_source") == "no_variation"  # everybody completed
    assert reason("m2", "company_size") == "too_many_groups"  # checked before no_variation
    assert reason("m1", "plan_tier") is None


@pytest.mark.parametrize("source", SOURCES)
def test_impact_conversion_and_retention_by_hand(segments, source):
    impact = one(segments.source(source), "milestone_impact", milestone_id="m1")
    assert (impact["eligible_users"], impact["reached_users"], impact["not_reached_users"]) == (9, 5, 4)
    assert (impact["reached_converted_users"], impact["not_reached_converted_users"]) == (4, 1)
    assert close(impact["reached_conversion_rate"], 0.8) and close(impact["not_reached_conversion_rate"], 0.25)
    assert close(impact["conversion_lift_abs"], 0.55) and close(impact["conversion_lift_rel"], 2.2)
    # [[4, 1], [1, 3]]: 9 (4*3 - 1*1)^2 / (5*4*5*4) = 2.7225
    assert close(impact["conversion_chi_square"], 2.7225, rel=1e-6)
    assert p_close(impact["conversion_p_value"], math.erfc(math.sqrt(2.7225 / 2)))
    # retained: w1, w3 (window end inclusive) of the reachers, a2, a3 of the others; w2 on the open start
    assert impact["retention_users"] == 9
    assert (impact["reached_retention_users"], impact["reached_retained_users"]) == (5, 2)
    assert (impact["not_reached_retention_users"], impact["not_reached_retained_users"]) == (4, 2)
    assert close(impact["retention_lift_abs"], -0.1) and close(impact["retention_lift_rel"], -0.2)
    # [[2, 3], [2, 2]]: 9 (2*2 - 3*2)^2 / (5*4*4*5) = 0.09
    assert close(impact["retention_chi_square"], 0.09, rel=1e-6)
    assert p_close(impact["retention_p_value"], math.erfc(math.sqrt(0.09 / 2)))
    assert impact["impact_rank"] == 1 and close(impact["suggested_weight"], 100.0)


Z95 = 1.959963984540054


@pytest.mark.parametrize("source", SOURCES)
def test_effect_sizes_by_hand(segments, source):
    tables = segments.source(source)
    # segment test [[3, 1], [1, 3]]: chi-square 2 over 8 users, V = sqrt(2 / 8); every expected cell 2
    test = one(tables, "segment_tests", milestone_id="m1", segment_dimension="install_source")
    assert close(test["cramers_v"], 0.5, rel=1e-6) and close(test["min_expected_count"], 2.0, rel=1e-6)
    assert test["is_expected_below_5"] is True
    untested = one(tables, "segment_tests", milestone_id="m1", segment_dimension="signup_type")
    assert (untested["cramers_v"], untested["min_expected_count"], untested["is_expected_below_5"]) == (None,) * 3
    impact = one(tables, "milestone_impact", milestone_id="m1")
    # conversion [[4, 1], [1, 3]]: V = sqrt(2.7225 / 9) = 0.55; smallest expected 4 * 4 / 9;
    # RR = 0.8 / 0.25 = 3.2, log interval 3.2 exp(-+ z sqrt(1/4 - 1/5 + 1/1 - 1/4))
    assert close(impact["conversion_cramers_v"], 0.55, rel=1e-6)
    assert close(impact["conversion_min_expected_count"], 16 / 9, rel=1e-6)
    assert impact["is_conversion_expected_below_5"] is True
    assert close(impact["conversion_risk_ratio"], 3.2, rel=1e-6)
    margin = Z95 * math.sqrt(0.8)
    assert close(impact["conversion_risk_ratio_ci_lower"], 3.2 * math.exp(-margin), rel=1e-6)
    assert close(impact["conversion_risk_ratio_ci_upper"], 3.2 * math.exp(margin), rel=1e-6)
    # retention [[2, 3], [2, 2]]: V = sqrt(0.09 / 9) = 0.1; RR = 0.4 / 0.5 = 0.8, se sqrt(1/2 - 1/5 + 1/2 - 1/4)
    assert close(impact["retention_cramers_v"], 0.1, rel=1e-6)
    assert close(impact["retention_min_expected_count"], 16 / 9, rel=1e-6)
    assert close(impact["retention_risk_ratio"], 0.8, rel=1e-6)
    margin = Z95 * math.sqrt(0.55)
    assert close(impact["retention_risk_ratio_ci_lower"], 0.8 * math.exp(-margin), rel=1e-6)
    assert close(impact["retention_risk_ratio_ci_upper"], 0.8 * math.exp(margin), rel=1e-6)
    # m3 (everybody reached it): no comparison group, no ratio
    everybody = one(tables, "milestone_impact", milestone_id="m3")
    assert everybody["conversion_risk_ratio"] is None and everybody["conversion_cramers_v"] is None
    assert everybody["conversion_risk_ratio_ci_lower"] is None and everybody["is_conversion_expected_below_5"] is None


@pytest.mark.parametrize("source", SOURCES)
def test_impact_without_comparison_group(segments, source):
    tables = segments.source(source)
    nobody = one(tables, "milestone_impact", milestone_id="m2")
    everybody = one(tables, "milestone_impact", milestone_id="m3")
    for row, reached in ((nobody, 0), (everybody, 9)):
        assert row["reached_users"] == reached and row["eligible_users"] == 9
        assert row["conversion_null_reason"] == "no_comparison_group"
        assert row["retention_null_reason"] == "no_comparison_group"
        assert row["conversion_chi_square"] is None and row["conversion_p_value"] is None
        assert row["conversion_lift_abs"] is None and row["conversion_lift_rel"] is None
        assert row["suggested_weight"] is None
    assert (nobody["impact_rank"], everybody["impact_rank"]) == (2, 3)


@pytest.mark.parametrize("source", SOURCES)
def test_calibration_without_scored_users(segments, source):
    tables = segments.source(source)
    # scoring date 2025-03-15 - 100 days, before every signup
    for score_name, bands in (("activation_score", 3), ("pql_score", 3)):
        calibration = one(tables, "pql_calibration", score_name=score_name)
        assert calibration["scoring_date"] == dt.date(2024, 12, 5)
        assert (calibration["scored_users"], calibration["converted_users"]) == (0, 0)
        assert calibration["conversion_rate"] is None and calibration["roc_auc"] is None
        assert calibration["null_reason"] == "no_scored_users"
        groups = rows(tables, "pql_calibration_groups", score_name=score_name)
        assert [g["grouping"] for g in groups] == ["band"] * bands
        assert all(g["users"] == 0 and g["min_score"] is None and g["share_of_users"] is None for g in groups)


@pytest.mark.parametrize("source", SOURCES)
def test_segment_and_impact_rate_intervals_by_hand(segments, source):
    tables = segments.source(source)
    web = one(tables, "segment_comparison", milestone_id="m1", segment_dimension="install_source", segment_value="web")
    app = one(tables, "segment_comparison", milestone_id="m1", segment_dimension="install_source", segment_value="app")
    assert interval_close(web, "completion_rate", (0.30064184258240, 0.95441273919029))  # 3 of 4
    assert interval_close(app, "completion_rate", (0.20654931437723, 1.0))  # 1 of 1
    impact = one(tables, "milestone_impact", milestone_id="m1")
    assert interval_close(impact, "reached_conversion_rate", (0.37553462976252, 0.96377589136756))  # 4 of 5
    assert interval_close(impact, "not_reached_conversion_rate", (0.04558726080970, 0.69935815741759))  # 1 of 4
    assert interval_close(impact, "reached_retention_rate", (0.11762077423264, 0.76927571872398))  # 2 of 5
    assert interval_close(impact, "not_reached_retention_rate", (0.15003898915214, 0.84996101084785))  # 2 of 4
    for mid, empty_side in (("m2", "reached"), ("m3", "not_reached")):  # nobody / everybody reached
        row = one(tables, "milestone_impact", milestone_id=mid)
        assert interval_close(row, f"{empty_side}_conversion_rate", None)
        assert interval_close(row, f"{empty_side}_retention_rate", None)
    for row in rows(tables, "segment_comparison"):
        assert interval_close(row, "completion_rate", wilson_by_hand(row["completed_users"], row["eligible_users"]))
    for row in rows(tables, "milestone_impact"):
        for side in ("reached", "not_reached"):
            assert interval_close(row, f"{side}_conversion_rate", wilson_by_hand(
                row[f"{side}_converted_users"], row[f"{side}_users"])), (row["milestone_id"], side)
            assert interval_close(row, f"{side}_retention_rate", wilson_by_hand(
                row[f"{side}_retained_users"], row[f"{side}_retention_users"])), (row["milestone_id"], side)
    for calibration in rows(tables, "pql_calibration"):  # nobody scored: 0 of 0 everywhere
        assert interval_close(calibration, "conversion_rate", None)
    for group in rows(tables, "pql_calibration_groups"):
        for rate in ("conversion_rate", "share_of_users", "share_of_conversions"):
            assert interval_close(group, rate, None)


@pytest.mark.parametrize("source", SOURCES)
def test_segment_and_impact_q_values_by_hand(segments, source):
    tables = segments.source(source)
    # segment_tests: m1's two tests are the family (the rest have no p-value). install_source
    # p = erfc(1); plan_tier pro 4 of 5 and free 1 of 4 reached m1, [[4, 1], [1, 3]] as in the
    # conversion test. Sorted: 2 p_plan / 1 > erfc(1) = p_install, so both q are erfc(1).
    install, plan = math.erfc(1.0), math.erfc(math.sqrt(2.7225 / 2))
    assert p_close(one(tables, "segment_tests", milestone_id="m1", segment_dimension="plan_tier")["p_value"], plan)
    assert_q_values(tables, "segment_tests", {(("m1", "install_source"), "q_value"): install,
                                              (("m1", "plan_tier"), "q_value"): install})
    # milestone_impact: m1's conversion and retention p-values are one family of two
    # (m2, m3 have none): q_conversion = 2 p_conversion / 1 < p_retention = q_retention
    retention = math.erfc(math.sqrt(0.09 / 2))
    assert_q_values(tables, "milestone_impact", {(("m1",), "conversion_q_value"): 2 * plan,
                                                 (("m1",), "retention_q_value"): retention})


# ------------------------------------------------------------------------ calibration


def _calibration_dataset():
    created = "2025-02-01 00:00:00"
    users = [user(f"u{i}", created) for i in (1, 2, 3, 4, 5, 6, 7, 9, 10)]
    users.append(user("u8", "2025-03-05 00:00:00"))
    events = [
        event("u1", "a", "2025-02-02 10:00:00"), event("u1", "b", "2025-02-03 10:00:00"),
        event("u1", "paid", "2025-03-10 10:00:00"),
        event("u2", "a", "2025-02-25 10:00:00"), event("u2", "b", "2025-02-27 10:00:00"),
        event("u3", "b", "2025-02-10 10:00:00"), event("u3", "paid", "2025-03-20 10:00:00"),
        event("u4", "a", "2025-02-10 10:00:00"),
        event("u5", "a", "2025-02-28 10:00:00"), event("u5", "paid", "2025-03-05 10:00:00"),
        event("u6", "paid", "2025-01-31 10:00:00"),  # before signup: no conversion
        event("u7", "paid", "2025-02-20 10:00:00"),  # converted before scoring: not scored
        event("u8", "a", "2025-03-06 10:00:00"), event("u8", "paid", "2025-03-07 10:00:00"),
        event("u9", "a", "2025-02-20 10:00:00"),
        event("u9", "paid", "2025-04-01 01:00:00"),  # after as_of (kept by the 24 h tolerance)
        event("u10", "a", "2025-03-02 10:00:00"),  # within timeframe but after the scoring date
    ]
    milestones = [milestone("m1", 1, weight=1, timeframe="30d", triggered_by_event="a"),
                  milestone("m2", 2, weight=3, timeframe="30d", triggered_by_event="b")]
    vars = {"activation_as_of": "2025-03-31 12:00:00", "activation_conversion_event": "paid",
            "activation_stats_min_group_size": 2, "activation_status_score_basis": "score",
            "activation_calibration_min_conversions": 3,
            "activation_status_bands": [{"status": "cold", "min_score": 1, "action": "wait"},
                                        {"status": "warm", "min_score": 3, "action": "email"},
                                        {"status": "hot", "min_score": 4, "action": "call"}]}
    return Dataset(users, events, milestones, []), vars


@pytest.fixture(scope="module")
def calibration(dbt_builder):
    return Built(dbt_builder, *_calibration_dataset())


def test_calibration_marts_equal_reference(calibration):
    assert_stats_match(calibration.marts, calibration.reference)


@pytest.mark.parametrize("source", SOURCES)
def test_calibration_population_and_tied_auc(calibration, source):
    tables = calibration.source(source)
    activation = one(tables, "pql_calibration", score_name="activation_score")
    assert activation["conversion_basis"] == "conversion_event"
    assert (activation["scoring_date"], activation["outcome_end_date"]) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    # scored: everyone but u7 (converted before scoring) and u8 (signed up after it);
    # converted: u1, u3, u5 (u9 converts after as_of)
    assert (activation["scored_users"], activation["converted_users"]) == (8, 3)
    assert close(activation["conversion_rate"], 0.375) and activation["null_reason"] is None
    # scores at scoring: converted 4, 3, 1; others 4 (u2), 1, 1, 0, 0.
    # Pairs won: 4 -> 4 + tie, 3 -> 4, 1 -> 2 + two ties = 11.5 of 15
    assert close(activation["roc_auc"], 11.5 / 15, rel=1e-6)
    # rolling PQL score on 2025-03-01 (recency 7 days, decay 0.5): converted 2, 1.5, 1; others 4, .5, .5, 0, 0
    pql = one(tables, "pql_calibration", score_name="pql_score")
    assert close(pql["roc_auc"], 12 / 15, rel=1e-6)
    # DeLong, activation score: V10 (converted) 4.5/5, 4/5, 3/5; V01 (others) 0.5/3, 2.5/3 (x2), 1 (x2);
    # S10 = 7/300, S01 = 43/360, var = S10 / 3 + S01 / 5 = 57/1800; the upper bound clamps at 1
    assert close(activation["roc_auc_ci_lower"], 11.5 / 15 - Z95 * math.sqrt(57 / 1800), rel=1e-6)
    assert activation["roc_auc_ci_upper"] == 1.0
    # pql score: V10 all 4/5 (S10 = 0); V01 0, 1, 1, 1, 1 (S01 = 0.2), var = 0.2 / 5
    assert close(pql["roc_auc_ci_lower"], 0.8 - Z95 * 0.2, rel=1e-6) and pql["roc_auc_ci_upper"] == 1.0


@pytest.mark.parametrize("source", SOURCES)
def test_calibration_bands_precision_recall(calibration, source):
    tables = calibration.source(source)
    bands = sorted(rows(tables, "pql_calibration_groups", score_name="activation_score", grouping="band"),
                   key=lambda g: g["group_rank"])
    assert [(g["group_label"], g["threshold_score"], g["users"], g["converted_users"]) for g in bands] == [
        ("hot", 4, 2, 1), ("warm", 3, 1, 1), ("cold", 1, 3, 1), ("(below bands)", None, 2, 0)]
    assert [(g["cumulative_users"], g["cumulative_converted_users"]) for g in bands] == [(2, 1), (3, 2), (6, 3), (8, 3)]
    expected = [(1 / 2, 1 / 3), (2 / 3, 2 / 3), (1 / 2, 1.0), (3 / 8, 1.0)]
    for group, (precision, recall) in zip(bands, expected):
        assert close(group["precision_at_threshold"], precision) and close(group["recall_at_threshold"], recall)
    for group, (users, converted) in zip(bands, [(2, 1), (3, 2), (6, 3), (8, 3)]):
        assert interval_close(group, "precision_at_threshold", wilson_by_hand(converted, users))
        assert interval_close(group, "recall_at_threshold", wilson_by_hand(converted, 3))
    assert close(bands[0]["lift"], 0.5 / 0.375) and close(bands[2]["share_of_users"], 3 / 8)
    assert (bands[2]["min_score"], bands[2]["max_score"]) == (1, 1)
    assert bands[3]["lift"] == 0 and close(bands[3]["share_of_conversions"], 0.0)


@pytest.mark.parametrize("source", SOURCES)
def test_calibration_empty_bands_and_deciles(calibration, source):
    tables = calibration.source(source)
    bands = sorted(rows(tables, "pql_calibration_groups", score_name="pql_score", grouping="band"),
                   key=lambda g: g["group_rank"])
    assert [(g["group_label"], g["users"]) for g in bands] == [("ae_handoff", 0), ("sdr_outreach", 0), ("nurture", 8)]
    empty = bands[0]
    assert empty["min_score"] is None and empty["max_score"] is None and empty["conversion_rate"] is None
    assert empty["lift"] is None and empty["precision_at_threshold"] is None
    assert empty["share_of_users"] == 0 and empty["recall_at_threshold"] == 0
    assert interval_close(empty, "precision_at_threshold", None)  # 0 of 0 cumulative users
    assert interval_close(empty, "recall_at_threshold", wilson_by_hand(0, 3))
    deciles = sorted(rows(tables, "pql_calibration_groups", score_name="activation_score", grouping="decile"),
                     key=lambda g: g["group_rank"])
    # 8 users, one per decile; ties on score ordered by user_id as text (u10 before u6)
    assert [(g["group_label"], g["threshold_score"], g["converted_users"]) for g in deciles] == [
        ("decile_1", 4, 1), ("decile_2", 4, 0), ("decile_3", 3, 1), ("decile_4", 1, 0),
        ("decile_5", 1, 1), ("decile_6", 1, 0), ("decile_7", 0, 0), ("decile_8", 0, 0)]


@pytest.mark.parametrize("source", SOURCES)
def test_interval_columns_are_those_of_the_contract(calibration, source):
    tables = calibration.source(source)
    for name, rates in INTERVAL_RATES.items():
        assert tables[name], name
        columns = set(tables[name][0])
        others = OTHER_INTERVALS.get(name, ())
        assert set(rates) | set(others) <= columns, name
        assert {c for c in columns if c.endswith(("_ci_lower", "_ci_upper"))} == {
            f"{rate}_ci_{bound}" for rate in rates + others for bound in ("lower", "upper")}, name


@pytest.mark.parametrize("source", SOURCES)
def test_q_value_columns_are_those_of_the_contract(calibration, source):
    tables = calibration.source(source)
    for name, q_columns in Q_VALUE_COLUMNS.items():
        assert tables[name], name
        columns = set(tables[name][0])
        assert {c for c in columns if c.endswith("p_value")} == set(q_columns), name
        assert {c for c in columns if c.endswith("q_value")} == set(q_columns.values()), name


@pytest.mark.parametrize("source", SOURCES)
def test_tied_p_values_share_their_q_value(calibration, source):
    tables = calibration.source(source)
    # m1: 3 of 6 reachers and 2 of 3 others converted, m2 the other way round: [[3, 3], [2, 1]]
    # and [[2, 1], [3, 3]], chi-square 9 (3*1 - 3*2)^2 / (6*3*5*4) = 0.225 both. Nobody is 60
    # days past signup on as_of: no retention p-value. Two equal p: q = 2 p / 2 = p for both.
    p_value = math.erfc(math.sqrt(0.225 / 2))
    for mid in ("m1", "m2"):
        assert p_close(one(tables, "milestone_impact", milestone_id=mid)["conversion_p_value"], p_value)
    assert_q_values(tables, "milestone_impact", {(("m1",), "conversion_q_value"): p_value,
                                                 (("m2",), "conversion_q_value"): p_value})
    assert_q_values(tables, "segment_tests", {})  # every group below the minimum size: no p-value


@pytest.mark.parametrize("source", SOURCES)
def test_calibration_rate_intervals_by_hand(calibration, source):
    tables = calibration.source(source)
    activation = one(tables, "pql_calibration", score_name="activation_score")
    assert interval_close(activation, "conversion_rate", (0.13684428582359, 0.69425760539737))  # 3 of 8
    bands = sorted(rows(tables, "pql_calibration_groups", score_name="activation_score", grouping="band"),
                   key=lambda g: g["group_rank"])
    hot, below = bands[0], bands[3]
    assert interval_close(hot, "conversion_rate", (0.09453120573423, 0.90546879426576))  # 1 of 2
    assert interval_close(hot, "share_of_users", (0.07147921275210, 0.59072456968983))  # 2 of 8
    assert interval_close(hot, "share_of_conversions", (0.06149194472039, 0.79234039919795))  # 1 of 3
    assert interval_close(hot, "precision_at_threshold", (0.09453120573423, 0.90546879426576))  # 1 of 2
    assert interval_close(hot, "recall_at_threshold", (0.06149194472039, 0.79234039919795))  # 1 of 3
    assert interval_close(below, "conversion_rate", (0.0, 0.65761977249334))  # 0 of 2
    assert interval_close(below, "share_of_conversions", (0.0, 0.56149703175504))  # 0 of 3
    assert interval_close(below, "precision_at_threshold", (0.13684428582359, 0.69425760539737))  # 3 of 8
    assert interval_close(below, "recall_at_threshold", (0.43850296824495, 1.0))  # 3 of 3
    empty = one(tables, "pql_calibration_groups", score_name="pql_score", grouping="band", group_label="ae_handoff")
    assert interval_close(empty, "conversion_rate", None)  # 0 of 0
    assert interval_close(empty, "share_of_users", (0.0, 0.32440756488388))  # 0 of 8
    assert interval_close(empty, "precision_at_threshold", None)  # 0 of 0
    assert interval_close(empty, "recall_at_threshold", (0.0, 0.56149703175504))  # 0 of 3
    totals = {r["score_name"]: r for r in rows(tables, "pql_calibration")}
    for row in totals.values():
        assert interval_close(row, "conversion_rate", wilson_by_hand(row["converted_users"], row["scored_users"]))
    for group in rows(tables, "pql_calibration_groups"):
        total = totals[group["score_name"]]
        key = (group["score_name"], group["grouping"], group["group_rank"])
        assert interval_close(group, "conversion_rate", wilson_by_hand(group["converted_users"], group["users"])), key
        assert interval_close(group, "share_of_users", wilson_by_hand(group["users"], total["scored_users"])), key
        assert interval_close(group, "share_of_conversions", wilson_by_hand(
            group["converted_users"], total["converted_users"])), key
        assert interval_close(group, "precision_at_threshold", wilson_by_hand(
            group["cumulative_converted_users"], group["cumulative_users"])), key
        assert interval_close(group, "recall_at_threshold", wilson_by_hand(
            group["cumulative_converted_users"], total["converted_users"])), key


# ------------------------------------------------------------------------- degenerate


def _degenerate_dataset():
    users = [user(uid, SIGNUP, install_source="web", plan_tier="free") for uid in ("d1", "d2", "d3")]
    events = [event("d1", "a", "2025-01-06 02:00:00"), event("d2", "a", "2025-01-07 02:00:00"),
              event("d3", "noise", "2025-01-07 02:00:00")]
    # m2's 90-day timeframe has closed for nobody on 2025-03-15
    milestones = [milestone("m1", 1, triggered_by_event="a"), milestone("m2", 2, timeframe="90d", triggered_by_event="a")]
    return Dataset(users, events, milestones, []), {"activation_as_of": "2025-03-15 00:00:00"}


@pytest.fixture(scope="module")
def degenerate(dbt_builder):
    return Built(dbt_builder, *_degenerate_dataset())


def test_degenerate_marts_equal_reference(degenerate):
    assert_stats_match(degenerate.marts, degenerate.reference)


@pytest.mark.parametrize("source", SOURCES)
def test_no_conversions_and_groups_below_default_size(degenerate, source):
    tables = degenerate.source(source)
    test = one(tables, "segment_tests", milestone_id="m1", segment_dimension="install_source")
    assert (test["groups_total"], test["groups_included"], test["groups_excluded"]) == (1, 0, 1)
    assert (test["eligible_users_included"], test["completed_users_included"]) == (0, 0)
    assert test["null_reason"] == "fewer_than_two_groups" and test["chi_square"] is None
    impact = one(tables, "milestone_impact", milestone_id="m1")
    assert (impact["reached_users"], impact["not_reached_users"]) == (2, 1)
    assert impact["conversion_null_reason"] == "no_variation" and impact["conversion_chi_square"] is None
    assert impact["conversion_lift_abs"] == 0 and impact["conversion_lift_rel"] is None
    assert impact["suggested_weight"] is None
    for score_name in ("activation_score", "pql_score"):
        calibration = one(tables, "pql_calibration", score_name=score_name)
        assert calibration["scored_users"] == 3 and calibration["converted_users"] == 0
        assert calibration["null_reason"] == "no_conversions" and calibration["roc_auc"] is None
        assert interval_close(calibration, "conversion_rate", (0.0, 0.56149703175504))  # 0 of 3
        for group in rows(tables, "pql_calibration_groups", score_name=score_name):
            assert interval_close(group, "share_of_conversions", None)  # of no conversions


@pytest.mark.parametrize("source", SOURCES)
def test_milestone_nobody_is_eligible_for(degenerate, source):
    tables = degenerate.source(source)
    assert not rows(tables, "segment_comparison", milestone_id="m2")
    assert not rows(tables, "segment_tests", milestone_id="m2")
    impact = one(tables, "milestone_impact", milestone_id="m2")
    assert (impact["eligible_users"], impact["reached_users"], impact["retention_users"]) == (0, 0, 0)
    assert impact["reached_conversion_rate"] is None and impact["not_reached_conversion_rate"] is None
    for rate in ("reached_conversion_rate", "not_reached_conversion_rate", "reached_retention_rate",
                 "not_reached_retention_rate"):
        assert interval_close(impact, rate, None)
    assert impact["conversion_null_reason"] == impact["retention_null_reason"] == "no_comparison_group"
    assert impact["impact_rank"] == 2 and impact["suggested_weight"] is None


@pytest.mark.parametrize("source", SOURCES)
def test_no_p_value_no_q_value(degenerate, source):
    tables = degenerate.source(source)
    for name in ("segment_tests", "milestone_impact"):
        assert tables[name], name
        assert_q_values(tables, name, {})


# -------------------------------------------------------------------------- real data


def _rossi():
    from lifelines.datasets import load_rossi

    rossi = load_rossi()
    rossi["prio_group"] = rossi["prio"].map(lambda p: "prio_4+" if p >= 4 else f"prio_{p}")
    # a milestone reached within 26 weeks = arrested within 26 weeks (182 days)
    rossi["completed"] = (rossi["arrest"] == 1) & (rossi["week"] * 7 <= 182)
    users, events = [], []
    for index, row in rossi.iterrows():
        user_id = f"r{index:03d}"
        users.append(user(user_id, SIGNUP, install_source=f"fin_{row.fin}", plan_tier=f"race_{row.race}",
                          company_size=row.prio_group))
        if row.arrest == 1:
            at = dt.datetime(2025, 1, 6) + dt.timedelta(days=7 * int(row.week))
            events.append(event(user_id, "arrest", at.strftime("%Y-%m-%d %H:%M:%S")))
    dataset = Dataset(users, events, [milestone("arrest", 1, timeframe="182d", triggered_by_event="arrest")], [])
    vars = {"activation_as_of": "2026-01-01 00:00:00", "activation_free_plan_tiers": ["race_0"]}
    return rossi, dataset, vars


def _scipy_on(table):
    statistic, p_value, dof, _ = chi2_contingency(table.to_numpy(), correction=False)
    return statistic, dof, p_value


def test_rossi_recidivism_against_scipy(dbt_builder):
    rossi, dataset, vars = _rossi()
    marts = build_stats(dbt_builder, dataset, vars)
    assert_stats_match(marts, reference_of(dataset, vars))

    fin = one(marts, "segment_tests", milestone_id="arrest", segment_dimension="install_source")
    statistic, dof, p_value = _scipy_on(pd.crosstab(rossi["fin"], rossi["completed"]))
    assert close(fin["chi_square"], statistic, rel=1e-6) and fin["degrees_of_freedom"] == dof == 1
    assert p_close(fin["p_value"], p_value)
    table = pd.crosstab(rossi["fin"], rossi["completed"]).to_numpy()
    assert close(fin["cramers_v"], association(table, method="cramer", correction=False), rel=1e-6)
    assert close(fin["min_expected_count"], expected_freq(table).min(), rel=1e-6)
    assert fin["is_expected_below_5"] is False
    family = {"install_source": p_value}

    # prio 0 has 38 people, under the default minimum group size of 50
    prio = one(marts, "segment_tests", milestone_id="arrest", segment_dimension="company_size")
    included = rossi[rossi["prio"] > 0]
    statistic, dof, p_value = _scipy_on(pd.crosstab(included["prio_group"], included["completed"]))
    assert (prio["groups_total"], prio["groups_included"], prio["groups_excluded"]) == (5, 4, 1)
    assert close(prio["chi_square"], statistic, rel=1e-6) and prio["degrees_of_freedom"] == dof == 3
    assert p_close(prio["p_value"], p_value) and p_close(prio["p_value"], chi2.sf(statistic, 3))
    family["company_size"] = p_value
    excluded = one(marts, "segment_comparison", milestone_id="arrest", segment_dimension="company_size",
                   segment_value="prio_0")
    assert excluded["eligible_users"] == 38 and not excluded["is_included"]

    impact = one(marts, "milestone_impact", milestone_id="arrest")
    statistic, dof, p_value = _scipy_on(pd.crosstab(rossi["completed"], rossi["race"]))
    assert impact["eligible_users"] == 432 and impact["reached_users"] == int(rossi["completed"].sum())
    assert close(impact["conversion_chi_square"], statistic, rel=1e-6) and p_close(impact["conversion_p_value"], p_value)
    table = pd.crosstab(rossi["completed"], rossi["race"]).to_numpy()
    assert close(impact["conversion_cramers_v"], association(table, method="cramer", correction=False), rel=1e-6)
    reached, not_reached = rossi[rossi["completed"]], rossi[~rossi["completed"]]
    ratio = relative_risk(int(reached["race"].sum()), len(reached), int(not_reached["race"].sum()), len(not_reached))
    interval = ratio.confidence_interval(confidence_level=0.95)
    assert close(impact["conversion_risk_ratio"], ratio.relative_risk, rel=1e-6)
    assert close(impact["conversion_risk_ratio_ci_lower"], interval.low, rel=1e-6)
    assert close(impact["conversion_risk_ratio_ci_upper"], interval.high, rel=1e-6)
    # one family of two with a retention p-value far below it: the conversion q is its p
    assert impact["retention_p_value"] < p_value / 2 and p_close(impact["conversion_q_value"], p_value)
    assert_q_values(marts, "milestone_impact")

    # the three tests with two included groups or more (signup_type has one): q from statsmodels
    race = one(marts, "segment_tests", milestone_id="arrest", segment_dimension="plan_tier")
    _, _, family["plan_tier"] = _scipy_on(pd.crosstab(rossi["race"], rossi["completed"]))
    assert p_close(race["p_value"], family["plan_tier"])
    q_values = multipletests(list(family.values()), method="fdr_bh")[1]
    assert_q_values(marts, "segment_tests", {(("arrest", dimension), "q_value"): float(q)
                                             for dimension, q in zip(family, q_values)})


# -------------------------------------------------------------------------- randomised

BASE = dt.datetime(2025, 1, 1)
AS_OF = "2025-04-15 12:00:00"
TIMEFRAMES = [("1d", None, 86400), ("7d", None, 604800), ("14d", None, 1209600), (None, 10, 864000),
              ("30d", None, 2592000)]
VAR_PROFILES = [
    {"activation_stats_min_group_size": 2, "activation_calibration_min_conversions": 1},
    {"activation_stats_min_group_size": 3, "activation_stats_max_groups": 2,
     "activation_calibration_min_conversions": 2,
     "activation_conversion_event": "paid", "activation_calibration_days": 20,
     "activation_status_score_basis": "score",
     "activation_status_bands": [{"status": "cold", "min_score": 1, "action": "wait"},
                                 {"status": "warm", "min_score": 3, "action": "email"},
                                 {"status": "hot", "min_score": 6, "action": "call"}],
     "activation_pql_recency_days": 3, "activation_pql_decay": 0.25,
     "activation_pql_bands": [{"band": "cold", "min_score": 1, "action": "wait"},
                              {"band": "hot", "min_score": 4, "action": "call"}]},
    {"activation_stats_min_group_size": 1, "activation_activity_events": ["a", "noise"],
     "activation_free_plan_tiers": ["free", "team"], "activation_calibration_days": 45,
     "activation_pql_decay": 0},
]


@st.composite
def stats_configurations(draw):
    milestones, requirements = [], []
    for index in range(draw(st.integers(1, 3))):
        milestone_id = f"m{index}"
        timeframe, timeframe_days, _ = draw(st.sampled_from(TIMEFRAMES))
        gate = f"m{draw(st.integers(0, index - 1))}" if index > 0 and draw(st.integers(0, 3)) == 0 else None
        shape = draw(st.sampled_from(["single", "single", "count", "paths"]))
        milestones.append(milestone(
            milestone_id, level=index + 1, weight=draw(st.sampled_from([0.5, 1, 2, 5])),
            timeframe=timeframe, timeframe_days=timeframe_days, requires_milestone_id=gate,
            triggered_by_event=draw(st.sampled_from(["a", "b", "c"])) if shape == "single" else None))
        if shape == "count":
            requirements.append(requirement(milestone_id, draw(st.sampled_from(["a", "b"])), min_count=2))
        elif shape == "paths":
            requirements += [requirement(milestone_id, "a", path_id=1), requirement(milestone_id, "b", path_id=2),
                             requirement(milestone_id, "c", path_id=2)]
    return milestones, requirements


@st.composite
def stats_datasets(draw):
    milestones, requirements = draw(stats_configurations())
    boundaries = sorted({seconds + d for _, _, seconds in TIMEFRAMES for d in (0, 1)}
                        | {30 * 86400, 30 * 86400 + 1, 60 * 86400, 60 * 86400 + 1})
    offsets = st.one_of(st.integers(-86400, 75 * 86400), st.sampled_from(boundaries))
    users, events = [], []
    for index in range(draw(st.integers(2, 24))):
        user_id = f"u{index}"
        created = BASE + dt.timedelta(days=draw(st.integers(0, 100)), seconds=draw(st.integers(0, 86399)))
        users.append(user(user_id, created.strftime("%Y-%m-%d %H:%M:%S"),
                          install_source=draw(st.sampled_from(["web", "ads", "app"])),
                          plan_tier=draw(st.sampled_from(["free", "free", "pro", "team", None])),
                          inviter_user_id=draw(st.sampled_from([None, None, "u0"])),
                          company_size=draw(st.sampled_from(["small", "large", None]))))
        for name, offset in draw(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "paid", "noise"]), offsets),
                                          max_size=6)):
            at = created + dt.timedelta(seconds=offset)
            events.append(event(user_id, name, at.strftime("%Y-%m-%d %H:%M:%S")))
    vars = dict(draw(st.sampled_from(VAR_PROFILES)), activation_as_of=AS_OF)
    return Dataset(users, events, milestones, requirements), vars


SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@settings(max_examples=int(os.environ.get("ACTIVATION_HYPOTHESIS_STATS_EXAMPLES", "8")), **SETTINGS)
@given(case=stats_datasets())
def test_statistics_marts_equal_reference_on_random_data(dbt_builder, case):
    dataset, vars = case
    assert_stats_match(build_stats(dbt_builder, dataset, vars), reference_of(dataset, vars))
