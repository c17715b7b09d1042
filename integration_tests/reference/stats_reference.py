"""Reference implementation of the statistics marts for segment comparison, PQL
calibration and milestone impact (SPEC §7).

Built on the per-user and BI references (``activation_reference.compute`` through
``bi_reference._prepare``): the per-user tables (eligibility, completion,
conversion, activity, the rolling PQL score) are computed there in plain Python from
the raw rows, and the statistics themselves are library calls on those tables:
``scipy.stats.chi2_contingency(table, correction=False)`` for every chi-square test
and ``sklearn.metrics.roc_auc_score`` for the ROC AUC; each completion, conversion
and retention rate, each share and each precision and recall at a threshold has its
95% Wilson score interval beside it (``<rate>_ci_lower`` / ``<rate>_ci_upper``:
statsmodels' ``proportion_confint`` through ``bi_reference.wilson_interval``, clamped
to [0, 1], null when the rate is).
Each p-value has its Benjamini–Hochberg q-value beside it, statsmodels'
``multipletests(method='fdr_bh')`` over the family of every non-null p-value of its
mart (``bh_q_values``; both p-values of ``milestone_impact`` form one family).
Degenerate cases are caught before the library is called and give null statistics
with the mart's ``null_reason``.

Effect sizes (95%, z = 1.959963984540054):

* Beside every chi-square test (``segment_tests``; ``conversion_`` / ``retention_`` in
  ``milestone_impact``): Cramér's V (``cramers_v``, scipy's
  ``contingency.association(table, method='cramer', correction=False)``), the smallest
  expected cell count of the table (``min_expected_count``, from ``chi2_contingency``)
  and ``is_expected_below_5`` (``is_<p>_expected_below_5``); all null when the
  chi-square is.
* ``milestone_impact``: ``<p>_risk_ratio`` = reached rate / not-reached rate (scipy's
  ``contingency.relative_risk``), null when a group is empty or the not-reached rate is
  0; 0 when only the reached rate is 0. ``<p>_risk_ratio_ci_lower`` / ``_ci_upper``:
  scipy's Katz log interval, null when either group has no outcome or is empty; they do
  not follow the chi-square's null reason (all users with the outcome: 1, [1, 1]).
* ``pql_calibration``: ``roc_auc_ci_lower`` / ``roc_auc_ci_upper``, DeLong's interval
  (``delong_interval``: structural components written out, the AUC checked against
  sklearn's), clamped to [0, 1], null when ``roc_auc`` is or with fewer than 2 converted
  or 2 unconverted users. ``roc_auc`` is null with ``null_reason``
  ``too_few_conversions`` when fewer than ``activation_calibration_min_conversions``
  (default 10) users converted (checked after the other three reasons).

``compute_stats`` takes the same raw tables and vars as ``compute`` / ``compute_bi``
and returns a dict of lists of row dicts keyed by mart name without the
``activation_`` prefix: ``segment_comparison``, ``segment_tests``,
``milestone_impact``, ``pql_calibration``, ``pql_calibration_groups``.

Readings chosen where the contract is silent:

* ``activation_milestone_impact`` has one row per configured milestone, also when
  no user is eligible (counts 0, rates null, reasons ``no_comparison_group``).
* Several null reasons in the impact mart: the first of ``no_comparison_group``,
  ``no_variation`` applies. ``conversion_lift_rel`` is null when the not-reached
  rate is null or 0.
* ``suggested_weight``: ``greatest(conversion_lift_abs, 0)`` is null when the lift is
  null (the contract's "null when the sum is null" reads it so), so such a milestone
  has a null weight and adds nothing to the sum; null for all when the sum is 0.
* Segment values are ``str(value)`` and only null becomes ``'(none)'``.
* PQL calibration with a null ``as_of`` (no events, no var): both score rows with
  null dates, no scored users. A user's score that would be null (``pct`` basis with
  a total weight of 0) raises ``ValueError``: the contract gives it no place.
* Calibration bands with equal ``min_score`` are ranked by label.
* Rows are sorted by their key.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association, relative_risk
from sklearn.metrics import roc_auc_score

try:  # imported as package ``reference`` (tests) or as a plain module
    from . import activation_reference as ar
    from . import bi_reference as bi
except ImportError:  # pragma: no cover
    import activation_reference as ar
    import bi_reference as bi

__all__ = [
    "STATS_DEFAULT_VARS",
    "bh_q_values",
    "chi_square_test",
    "compute_stats",
    "delong_interval",
    "effect_size",
    "milestone_impact",
    "pql_calibration",
    "prepare_stats",
    "risk_ratio",
    "segment_comparison",
]

STATS_DEFAULT_VARS = {
    "activation_stats_min_group_size": 50,
    "activation_stats_max_groups": 10,
    "activation_calibration_days": 30,
    "activation_calibration_min_conversions": 10,
}

SEGMENT_DIMENSIONS = ("install_source", "plan_tier", "signup_type")
RETENTION_START_DAYS = 30
RETENTION_END_DAYS = 60
DECILES = 10
Z_95 = 1.959963984540054
BELOW_BANDS = "(below bands)"


# ------------------------------------------------------------------------ helpers


def _ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def chi_square_test(table):
    """(statistic, degrees of freedom, p-value) of scipy's chi-square test of
    independence on a contingency table, without Yates' continuity correction."""
    statistic, p_value, dof, _ = chi2_contingency(np.asarray(table, dtype=float), correction=False)
    return float(statistic), int(dof), float(p_value)


def effect_size(table):
    """(Cramér's V, smallest expected cell count, smallest expected count < 5) of a
    contingency table: scipy's ``association(method='cramer', correction=False)`` and
    the expected frequencies of ``chi2_contingency``."""
    observed = np.asarray(table, dtype=np.int64)
    cramers_v = float(association(observed, method="cramer", correction=False))
    min_expected = float(chi2_contingency(observed.astype(float), correction=False)[3].min())
    return cramers_v, min_expected, bool(min_expected < 5)


def risk_ratio(exposed_cases, exposed_total, control_cases, control_total):
    """(risk ratio, Katz 95% lower, upper) from scipy's ``relative_risk``: the ratio null
    when a group is empty or scipy gives inf / nan (no control case); the interval null
    when a group is empty or has no case (scipy gives 0 / nan / inf there)."""
    if exposed_total == 0 or control_total == 0:
        return None, None, None
    result = relative_risk(int(exposed_cases), int(exposed_total), int(control_cases), int(control_total))
    ratio = float(result.relative_risk)
    ratio = ratio if math.isfinite(ratio) else None
    if exposed_cases == 0 or control_cases == 0:
        return ratio, None, None
    interval = result.confidence_interval(confidence_level=0.95)
    return ratio, float(interval.low), float(interval.high)


def delong_interval(labels, scores, z=Z_95):
    """(AUC, lower, upper): DeLong's interval from the structural components
    V10_i = mean_j psi(x_i, y_j) over the negatives y_j for each positive x_i and
    V01_j = mean_i psi(x_i, y_j) for each negative (psi = 1, 1/2, 0 for x > y, x = y,
    x < y; counted with sorted scores), var = S10 / m + S01 / n with S10, S01 the
    sample variances (m - 1, n - 1) of V10, V01; bounds clamped to [0, 1]. The AUC is
    asserted equal to sklearn's ``roc_auc_score``. Bounds null with fewer than 2
    positives or 2 negatives; everything null without a positive or a negative."""
    labels = [bool(c) for c in labels]
    scores = [float(s) for s in scores]
    positives = np.sort(np.asarray([s for c, s in zip(labels, scores) if c], dtype=float))
    negatives = np.sort(np.asarray([s for c, s in zip(labels, scores) if not c], dtype=float))
    m, n = len(positives), len(negatives)
    if m == 0 or n == 0:
        return None, None, None
    # V10_i: negatives strictly below x_i, plus half of those tied with it
    below = np.searchsorted(negatives, positives, side="left")
    not_above = np.searchsorted(negatives, positives, side="right")
    v10 = (below + 0.5 * (not_above - below)) / n
    # V01_j: positives strictly above y_j, plus half of those tied with it
    not_below = np.searchsorted(positives, negatives, side="left")
    at_most = np.searchsorted(positives, negatives, side="right")
    v01 = ((m - at_most) + 0.5 * (at_most - not_below)) / m
    auc = float(v10.mean())
    sklearn_auc = float(roc_auc_score([1 if c else 0 for c in labels], scores))
    assert abs(auc - sklearn_auc) <= 1e-12, (auc, sklearn_auc)
    if m < 2 or n < 2:
        return auc, None, None
    s10 = float(((v10 - auc) ** 2).sum() / (m - 1))
    s01 = float(((v01 - float(v01.mean())) ** 2).sum() / (n - 1))
    half_width = z * math.sqrt(s10 / m + s01 / n)
    return auc, max(0.0, auc - half_width), min(1.0, auc + half_width)


def bh_q_values(rows, p_columns, q_columns):
    """Sets ``q_columns[i]`` of every row to the Benjamini–Hochberg q-value of its
    ``p_columns[i]`` (statsmodels' ``multipletests(method='fdr_bh')``), the family being
    every non-null p-value of those columns over all ``rows``; null p-values are left out
    and get a null q-value. Returns ``rows``."""
    family = []
    for row in rows:
        for p_column, q_column in zip(p_columns, q_columns):
            row[q_column] = None
            if row[p_column] is not None:
                family.append((row, q_column, row[p_column]))
    if family:
        from statsmodels.stats.multitest import multipletests

        adjusted = multipletests([p for _, _, p in family], method="fdr_bh")[1]
        for (row, q_column, _), q_value in zip(family, adjusted):
            row[q_column] = float(q_value)
    return rows


def _resolve_stats_vars(vars):
    resolved = dict(STATS_DEFAULT_VARS)
    for key, value in (vars or {}).items():
        if key in resolved and value is not None:
            resolved[key] = int(value)
    return resolved


def prepare_stats(users, events, milestones, requirements, vars=None):
    """The BI reference's per-user context plus what the statistics marts need."""
    ctx = bi._prepare(users, events, milestones, requirements or [], vars)
    settings = ar.resolve_vars(vars)
    ctx["stats"] = _resolve_stats_vars(vars)
    ctx["dimensions"] = list(SEGMENT_DIMENSIONS) + ctx["passthrough"]
    ctx["score_basis"] = settings["activation_status_score_basis"]
    ctx["total_weight"] = float(sum(m.weight for m in ctx["config"].values()))
    ctx["history"] = bi._pql_history(ctx)
    return ctx


def _is_eligible(ctx, user_id, mid):
    """The milestone's timeframe has closed: deadline_at <= as_of."""
    return bi._le(ctx["reach"][user_id][mid]["deadline_at"], ctx["as_of"])


def _segment_value(user, dimension):
    value = user[dimension]
    return "(none)" if value is None else str(value)


# ------------------------------------------------------------- A. segment comparison


def segment_comparison(ctx):
    """(activation_segment_comparison rows, activation_segment_tests rows)."""
    min_size = ctx["stats"]["activation_stats_min_group_size"]
    max_groups = ctx["stats"]["activation_stats_max_groups"]
    comparison, tests = [], []
    for mid in sorted(ctx["config"]):
        for dimension in ctx["dimensions"]:
            groups = {}
            for user in ctx["users"]:
                user_id = user["user_id"]
                if not _is_eligible(ctx, user_id, mid):
                    continue
                counts = groups.setdefault(_segment_value(user, dimension), [0, 0])
                counts[0] += 1
                counts[1] += 1 if ctx["reach"][user_id][mid]["is_within_timeframe"] else 0
            if not groups:
                continue
            included = {value: counts for value, counts in groups.items() if counts[0] >= min_size}
            eligible_included = sum(n for n, _ in included.values())
            completed_included = sum(c for _, c in included.values())
            if len(included) < 2:
                reason = "fewer_than_two_groups"
            elif len(included) > max_groups:
                reason = "too_many_groups"
            elif completed_included == 0 or completed_included == eligible_included:
                reason = "no_variation"
            else:
                reason = None
            statistic = dof = p_value = cramers_v = min_expected = below_5 = None
            if reason is None:
                table = [[c, n - c] for value, (n, c) in sorted(included.items())]
                statistic, dof, p_value = chi_square_test(table)
                cramers_v, min_expected, below_5 = effect_size(table)
            tests.append({
                "milestone_id": mid,
                "segment_dimension": dimension,
                "groups_total": len(groups),
                "groups_included": len(included),
                "groups_excluded": len(groups) - len(included),
                "eligible_users_included": eligible_included,
                "completed_users_included": completed_included,
                "chi_square": statistic,
                "degrees_of_freedom": dof,
                "p_value": p_value,
                "cramers_v": cramers_v,
                "min_expected_count": min_expected,
                "is_expected_below_5": below_5,
                "null_reason": reason,
            })
            for value, (eligible, completed) in sorted(groups.items()):
                is_included = eligible >= min_size
                expected = None
                if is_included and statistic is not None:
                    expected = eligible * completed_included / eligible_included
                lower, upper = bi.wilson_interval(completed, eligible)
                comparison.append({
                    "milestone_id": mid,
                    "segment_dimension": dimension,
                    "segment_value": value,
                    "eligible_users": eligible,
                    "completed_users": completed,
                    "not_completed_users": eligible - completed,
                    "completion_rate": _ratio(completed, eligible),
                    "completion_rate_ci_lower": lower,
                    "completion_rate_ci_upper": upper,
                    "is_included": is_included,
                    "expected_completed_users": expected,
                })
    return comparison, tests


# -------------------------------------------------------------- D. milestone impact


def _two_group_outcome(pairs, prefix):
    """Columns comparing an outcome between reached and not-reached users.

    ``pairs``: (is_reached, outcome) per user of the population."""
    reached = sum(1 for r, _ in pairs if r)
    not_reached = len(pairs) - reached
    reached_yes = sum(1 for r, o in pairs if r and o)
    not_reached_yes = sum(1 for r, o in pairs if not r and o)
    reached_rate = _ratio(reached_yes, reached)
    not_reached_rate = _ratio(not_reached_yes, not_reached)
    reached_lower, reached_upper = bi.wilson_interval(reached_yes, reached)
    not_reached_lower, not_reached_upper = bi.wilson_interval(not_reached_yes, not_reached)
    lift_abs = None if reached_rate is None or not_reached_rate is None else reached_rate - not_reached_rate
    lift_rel = _ratio(lift_abs, not_reached_rate) if lift_abs is not None else None
    total_yes = reached_yes + not_reached_yes
    if reached == 0 or not_reached == 0:
        reason = "no_comparison_group"
    elif total_yes == 0 or total_yes == len(pairs):
        reason = "no_variation"
    else:
        reason = None
    statistic = p_value = cramers_v = min_expected = below_5 = None
    if reason is None:
        table = [[reached_yes, reached - reached_yes], [not_reached_yes, not_reached - not_reached_yes]]
        statistic, _, p_value = chi_square_test(table)
        cramers_v, min_expected, below_5 = effect_size(table)
    ratio, ratio_lower, ratio_upper = risk_ratio(reached_yes, reached, not_reached_yes, not_reached)
    return {
        "reached": reached,
        "not_reached": not_reached,
        "reached_yes": reached_yes,
        "not_reached_yes": not_reached_yes,
        f"reached_{prefix}_rate": reached_rate,
        f"reached_{prefix}_rate_ci_lower": reached_lower,
        f"reached_{prefix}_rate_ci_upper": reached_upper,
        f"not_reached_{prefix}_rate": not_reached_rate,
        f"not_reached_{prefix}_rate_ci_lower": not_reached_lower,
        f"not_reached_{prefix}_rate_ci_upper": not_reached_upper,
        f"{prefix}_lift_abs": lift_abs,
        f"{prefix}_lift_rel": lift_rel,
        f"{prefix}_chi_square": statistic,
        f"{prefix}_p_value": p_value,
        f"{prefix}_cramers_v": cramers_v,
        f"{prefix}_min_expected_count": min_expected,
        f"is_{prefix}_expected_below_5": below_5,
        f"{prefix}_risk_ratio": ratio,
        f"{prefix}_risk_ratio_ci_lower": ratio_lower,
        f"{prefix}_risk_ratio_ci_upper": ratio_upper,
        f"{prefix}_null_reason": reason,
    }


def _retained_d30(ctx, user):
    """An activity event in (created_at + 30 days, created_at + 60 days]."""
    start = user["created_at"] + dt.timedelta(days=RETENTION_START_DAYS)
    end = user["created_at"] + dt.timedelta(days=RETENTION_END_DAYS)
    return bi._activity_in(ctx, user["user_id"], start, end)


def milestone_impact(ctx):
    """activation_milestone_impact rows."""
    out = []
    as_of = ctx["as_of"]
    for mid in sorted(ctx["config"]):
        eligible = [u for u in ctx["users"] if _is_eligible(ctx, u["user_id"], mid)]
        reached = {u["user_id"]: ctx["reach"][u["user_id"]][mid]["is_within_timeframe"] for u in eligible}
        conversion = _two_group_outcome(
            [(reached[u["user_id"]], ctx["converted"][u["user_id"]]) for u in eligible], "conversion")
        retention_population = [
            u for u in eligible
            if bi._le(u["created_at"] + dt.timedelta(days=RETENTION_END_DAYS), as_of)
        ]
        retention = _two_group_outcome(
            [(reached[u["user_id"]], _retained_d30(ctx, u)) for u in retention_population], "retention")
        out.append({
            "milestone_id": mid,
            "milestone_level": ctx["config"][mid].level,
            "eligible_users": len(eligible),
            "reached_users": conversion["reached"],
            "not_reached_users": conversion["not_reached"],
            "reached_converted_users": conversion["reached_yes"],
            "not_reached_converted_users": conversion["not_reached_yes"],
            "reached_conversion_rate": conversion["reached_conversion_rate"],
            "reached_conversion_rate_ci_lower": conversion["reached_conversion_rate_ci_lower"],
            "reached_conversion_rate_ci_upper": conversion["reached_conversion_rate_ci_upper"],
            "not_reached_conversion_rate": conversion["not_reached_conversion_rate"],
            "not_reached_conversion_rate_ci_lower": conversion["not_reached_conversion_rate_ci_lower"],
            "not_reached_conversion_rate_ci_upper": conversion["not_reached_conversion_rate_ci_upper"],
            "conversion_lift_abs": conversion["conversion_lift_abs"],
            "conversion_lift_rel": conversion["conversion_lift_rel"],
            "conversion_chi_square": conversion["conversion_chi_square"],
            "conversion_p_value": conversion["conversion_p_value"],
            "conversion_cramers_v": conversion["conversion_cramers_v"],
            "conversion_min_expected_count": conversion["conversion_min_expected_count"],
            "is_conversion_expected_below_5": conversion["is_conversion_expected_below_5"],
            "conversion_risk_ratio": conversion["conversion_risk_ratio"],
            "conversion_risk_ratio_ci_lower": conversion["conversion_risk_ratio_ci_lower"],
            "conversion_risk_ratio_ci_upper": conversion["conversion_risk_ratio_ci_upper"],
            "conversion_null_reason": conversion["conversion_null_reason"],
            "retention_users": len(retention_population),
            "reached_retention_users": retention["reached"],
            "reached_retained_users": retention["reached_yes"],
            "not_reached_retention_users": retention["not_reached"],
            "not_reached_retained_users": retention["not_reached_yes"],
            "reached_retention_rate": retention["reached_retention_rate"],
            "reached_retention_rate_ci_lower": retention["reached_retention_rate_ci_lower"],
            "reached_retention_rate_ci_upper": retention["reached_retention_rate_ci_upper"],
            "not_reached_retention_rate": retention["not_reached_retention_rate"],
            "not_reached_retention_rate_ci_lower": retention["not_reached_retention_rate_ci_lower"],
            "not_reached_retention_rate_ci_upper": retention["not_reached_retention_rate_ci_upper"],
            "retention_lift_abs": retention["retention_lift_abs"],
            "retention_lift_rel": retention["retention_lift_rel"],
            "retention_chi_square": retention["retention_chi_square"],
            "retention_p_value": retention["retention_p_value"],
            "retention_cramers_v": retention["retention_cramers_v"],
            "retention_min_expected_count": retention["retention_min_expected_count"],
            "is_retention_expected_below_5": retention["is_retention_expected_below_5"],
            "retention_risk_ratio": retention["retention_risk_ratio"],
            "retention_risk_ratio_ci_lower": retention["retention_risk_ratio_ci_lower"],
            "retention_risk_ratio_ci_upper": retention["retention_risk_ratio_ci_upper"],
            "retention_null_reason": retention["retention_null_reason"],
        })
    ranked = sorted(out, key=lambda r: (r["conversion_lift_abs"] is None, -(r["conversion_lift_abs"] or 0.0),
                                        r["milestone_id"]))
    for rank, row in enumerate(ranked, start=1):
        row["impact_rank"] = rank
    positive = {r["milestone_id"]: max(r["conversion_lift_abs"], 0.0) for r in out
                if r["conversion_lift_abs"] is not None}
    total = sum(positive.values())
    for row in out:
        share = positive.get(row["milestone_id"])
        row["suggested_weight"] = 100.0 * share / total if share is not None and total > 0 else None
    return out


# -------------------------------------------------------------- C. PQL calibration


def _first_conversion_dates(ctx):
    """user_id -> date of the first conversion event at or after signup (or absent)."""
    name = ctx["bi"]["conversion_event"]
    dates = {}
    for user in ctx["users"]:
        days = [
            e["event_at"].date()
            for e in ctx["events_by_user"].get(user["user_id"], [])
            if e["event_name"] == name and e["event_at"] >= user["created_at"]
        ]
        if days:
            dates[user["user_id"]] = min(days)
    return dates


def _scored_population(ctx, scoring_date, end_date):
    """(conversion basis, [(user row, converted)]) of the scored users."""
    if ctx["bi"]["conversion_event"] is not None:
        first = _first_conversion_dates(ctx)
        scored = []
        for user in ctx["users"]:
            if scoring_date is None or user["created_at"].date() > scoring_date:
                continue
            day = first.get(user["user_id"])
            if day is not None and day <= scoring_date:
                continue
            scored.append((user, day is not None and scoring_date < day <= end_date))
        return "conversion_event", scored
    scored = [
        (user, ctx["converted"][user["user_id"]])
        for user in ctx["users"]
        if scoring_date is not None and user["created_at"].date() <= scoring_date
    ]
    return "plan_tier", scored


def _activation_score_at(ctx, user_id, scoring_date):
    total = sum(
        ctx["config"][mid].weight
        for mid, row in ctx["reach"][user_id].items()
        if row["is_within_timeframe"] and row["reached_at"].date() <= scoring_date
    )
    if ctx["score_basis"] == "score":
        return float(total)
    if ctx["total_weight"] <= 0:
        raise ValueError("activation_score_pct is null when every milestone weighs 0")
    return 100.0 * total / ctx["total_weight"]


def _pql_score_at(ctx, user_id, scoring_date):
    rows = [r for r in ctx["history"] if r["user_id"] == user_id and r["valid_from"] <= scoring_date]
    return max(rows, key=lambda r: r["valid_from"])["pql_score"] if rows else 0.0


def _group_rows(score_name, grouping, groups, scored_users, converted_total):
    """Calibration group rows from [(rank, label, threshold, [(score, converted)])]."""
    out = []
    cumulative_users = cumulative_converted = 0
    for rank, label, threshold, members in sorted(groups, key=lambda g: g[0]):
        users = len(members)
        converted = sum(1 for _, c in members if c)
        cumulative_users += users
        cumulative_converted += converted
        rate = _ratio(converted, users)
        overall = _ratio(converted_total, scored_users)
        rate_lower, rate_upper = bi.wilson_interval(converted, users)
        users_lower, users_upper = bi.wilson_interval(users, scored_users)
        conversions_lower, conversions_upper = bi.wilson_interval(converted, converted_total)
        precision_lower, precision_upper = bi.wilson_interval(cumulative_converted, cumulative_users)
        recall_lower, recall_upper = bi.wilson_interval(cumulative_converted, converted_total)
        scores = [s for s, _ in members]
        out.append({
            "score_name": score_name,
            "grouping": grouping,
            "group_rank": rank,
            "group_label": label,
            "threshold_score": threshold,
            "min_score": min(scores) if scores else None,
            "max_score": max(scores) if scores else None,
            "users": users,
            "converted_users": converted,
            "conversion_rate": rate,
            "conversion_rate_ci_lower": rate_lower,
            "conversion_rate_ci_upper": rate_upper,
            "lift": _ratio(rate, overall) if rate is not None else None,
            "share_of_users": _ratio(users, scored_users),
            "share_of_users_ci_lower": users_lower,
            "share_of_users_ci_upper": users_upper,
            "share_of_conversions": _ratio(converted, converted_total),
            "share_of_conversions_ci_lower": conversions_lower,
            "share_of_conversions_ci_upper": conversions_upper,
            "cumulative_users": cumulative_users,
            "cumulative_converted_users": cumulative_converted,
            "precision_at_threshold": _ratio(cumulative_converted, cumulative_users),
            "precision_at_threshold_ci_lower": precision_lower,
            "precision_at_threshold_ci_upper": precision_upper,
            "recall_at_threshold": _ratio(cumulative_converted, converted_total),
            "recall_at_threshold_ci_lower": recall_lower,
            "recall_at_threshold_ci_upper": recall_upper,
        })
    return out


def _band_groups(scored, bands, label_key):
    """Band groups: rank 1 = highest min_score; users below every band in an extra group."""
    ordered = sorted(bands, key=lambda b: (-float(b["min_score"]), str(b[label_key])))
    members = {index: [] for index in range(len(ordered))}
    below = []
    for score, converted in scored:
        index = next((i for i, b in enumerate(ordered) if float(b["min_score"]) <= score), None)
        (below if index is None else members[index]).append((score, converted))
    groups = [(i + 1, str(b[label_key]), float(b["min_score"]), members[i]) for i, b in enumerate(ordered)]
    if below:
        groups.append((len(ordered) + 1, BELOW_BANDS, None, below))
    return groups


def _decile_groups(scored_with_ids):
    """ntile(10) over (order by score desc, user_id): the first n mod 10 tiles get one more."""
    ordered = sorted(scored_with_ids, key=lambda item: (-item[1], item[0]))
    n = len(ordered)
    base, extra = divmod(n, DECILES)
    groups, start = [], 0
    for tile in range(1, DECILES + 1):
        size = base + (1 if tile <= extra else 0)
        if size == 0:
            continue
        members = [(score, converted) for _, score, converted in ordered[start:start + size]]
        start += size
        groups.append((tile, f"decile_{tile}", min(s for s, _ in members), members))
    return groups


def pql_calibration(ctx):
    """(activation_pql_calibration rows, activation_pql_calibration_groups rows)."""
    as_of = ctx["as_of"]
    days = ctx["stats"]["activation_calibration_days"]
    min_conversions = ctx["stats"]["activation_calibration_min_conversions"]
    scoring_date = None if as_of is None else as_of.date() - dt.timedelta(days=days)
    end_date = None if as_of is None else as_of.date()
    basis, population = _scored_population(ctx, scoring_date, end_date)
    score_functions = {
        "activation_score": (_activation_score_at, list(ctx["status_bands"]), "status"),
        "pql_score": (_pql_score_at, list(ctx["bi"]["activation_pql_bands"]), "band"),
    }
    calibration, groups = [], []
    for score_name, (score_at, bands, label_key) in score_functions.items():
        scored = [(u["user_id"], score_at(ctx, u["user_id"], scoring_date), converted)
                  for u, converted in population]
        users = len(scored)
        converted_total = sum(1 for _, _, c in scored if c)
        if users == 0:
            reason = "no_scored_users"
        elif converted_total == 0:
            reason = "no_conversions"
        elif converted_total == users:
            reason = "all_converted"
        elif converted_total < min_conversions:
            reason = "too_few_conversions"
        else:
            reason = None
        auc = auc_lower = auc_upper = None
        if reason is None:
            auc, auc_lower, auc_upper = delong_interval([c for _, _, c in scored], [s for _, s, _ in scored])
        lower, upper = bi.wilson_interval(converted_total, users)
        calibration.append({
            "score_name": score_name,
            "conversion_basis": basis,
            "scoring_date": scoring_date,
            "outcome_end_date": end_date,
            "scored_users": users,
            "converted_users": converted_total,
            "conversion_rate": _ratio(converted_total, users),
            "conversion_rate_ci_lower": lower,
            "conversion_rate_ci_upper": upper,
            "roc_auc": auc,
            "roc_auc_ci_lower": auc_lower,
            "roc_auc_ci_upper": auc_upper,
            "null_reason": reason,
        })
        pairs = [(s, c) for _, s, c in scored]
        groups += _group_rows(score_name, "band", _band_groups(pairs, bands, label_key), users, converted_total)
        groups += _group_rows(score_name, "decile", _decile_groups(scored), users, converted_total)
    return calibration, groups


# -------------------------------------------------------------------------- compute


def compute_stats(users, events, milestones, requirements, vars=None):
    """The five statistics marts (names without ``activation_``) -> rows."""
    ctx = prepare_stats(users, events, milestones, requirements, vars)
    comparison, tests = segment_comparison(ctx)
    calibration, calibration_groups = pql_calibration(ctx)
    return {
        "segment_comparison": comparison,
        "segment_tests": bh_q_values(tests, ["p_value"], ["q_value"]),
        "milestone_impact": bh_q_values(milestone_impact(ctx), ["conversion_p_value", "retention_p_value"],
                                        ["conversion_q_value", "retention_q_value"]),
        "pql_calibration": calibration,
        "pql_calibration_groups": calibration_groups,
    }


STATS_MART_KEYS = {
    "segment_comparison": ("milestone_id", "segment_dimension", "segment_value"),
    "segment_tests": ("milestone_id", "segment_dimension"),
    "milestone_impact": ("milestone_id",),
    "pql_calibration": ("score_name",),
    "pql_calibration_groups": ("score_name", "grouping", "group_rank"),
}

# Columns compared as statistics (relative 1e-6) and as p-values (absolute 1e-4; q-values too).
STATISTIC_COLUMNS = {
    "chi_square", "conversion_chi_square", "retention_chi_square", "roc_auc",
    "cramers_v", "conversion_cramers_v", "retention_cramers_v",
    "min_expected_count", "conversion_min_expected_count", "retention_min_expected_count",
    "conversion_risk_ratio", "conversion_risk_ratio_ci_lower", "conversion_risk_ratio_ci_upper",
    "retention_risk_ratio", "retention_risk_ratio_ci_lower", "retention_risk_ratio_ci_upper",
    "roc_auc_ci_lower", "roc_auc_ci_upper",
}
P_VALUE_COLUMNS = {"p_value", "conversion_p_value", "retention_p_value", "q_value", "conversion_q_value",
                   "retention_q_value"}


def values_agree(column, actual, expected):
    """A mart value equals the reference's: counts and text exactly, statistics to 1e-6
    relative, p- and q-values to 1e-4 absolute, other ratios to 1e-9 relative."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    if isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if column in P_VALUE_COLUMNS:
            return abs(actual - expected) <= 1e-4
        if column in STATISTIC_COLUMNS:
            return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, dt.date) and isinstance(actual, dt.datetime):
        return actual.date() == expected and actual.time() == dt.time()
    return actual == expected
