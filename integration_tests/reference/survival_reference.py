"""Reference implementation of the time-to-milestone and experiment marts (SPEC §7,
statistics contract sections B and E).

Built on the per-user reference (``activation_reference.compute``) and the BI
reference's staged events and conversion facts; the statistics themselves come from
lifelines (Kaplan–Meier curve, confidence interval, median, k-group log-rank),
statsmodels (two-proportion z-test, Wald and log-ratio intervals) and scipy (sample
ratio mismatch). Degenerate inputs are recognised here before any library is called
and give null statistics with the contract's reason. ``conversion_rate`` and
``control_conversion_rate`` have their 95% Wilson score interval beside them
(``<rate>_ci_lower`` / ``<rate>_ci_upper``: statsmodels' ``proportion_confint``
through ``bi_reference.wilson_interval``, clamped to [0, 1], null when the rate is).
``p_value`` and ``srm_p_value`` have their Benjamini–Hochberg q-value beside them
(``q_value`` / ``srm_q_value``: statsmodels' ``multipletests(method='fdr_bh')`` over
every non-null p-value of the mart, through ``stats_reference.bh_q_values``).
Summary rows carry the 95% interval of the median (``median_days_ci_lower`` /
``_upper``: lifelines' ``median_survival_times`` of the curve's interval columns),
the restricted mean survival time ``rmst_days`` to ``rmst_horizon_days`` (lifelines'
``restricted_mean_survival_time`` of the fitted curve) and the log-rank test's
``logrank_observed`` / ``logrank_expected`` / ``logrank_observed_expected_ratio``.

``compute_statistics`` takes the raw tables and vars as ``compute`` does and returns
a dict of lists of row dicts keyed by mart name without the ``activation_`` prefix:
``time_to_milestone``, ``time_to_milestone_summary``, ``time_to_milestone_tests``,
``experiment_results`` and ``experiments``.

Readings chosen where the contract is silent:

* Summary rows exist for every (dimension, value) with at least one staged user,
  also when all of its users were created after ``as_of``: ``users`` is then 0,
  ``median_days`` null with reason ``survival_above_half`` (nothing has fallen).
* ``groups_total`` of a log-rank test counts the summary rows of its dimension;
  ``users_included`` and ``events_included`` are 0 when no group is included.
* The log-rank variance is checked for singularity by LDL' elimination of the
  (k-1)x(k-1) matrix of the first k-1 included groups ordered by value (Python
  string order), a pivot <= 1e-12 being singular.
* ``median_days`` is the smallest day whose survival is <= 1/2 in exact arithmetic;
  lifelines' ``median_survival_time_`` agrees except where the survival is exactly
  1/2, which its floating-point product can put a hair above 1/2 (no median).
* Median interval: a bound is the first curve day whose interval bound is <= 1/2, int;
  null when none is (lifelines' inf) and both null when the group has no users in the
  curve. lifelines gives bounds 0.0 (not NaN) on days whose survival is 0, so such a day
  is a bound when nothing earlier is.
* ``rmst_horizon_days`` is the milestone's timeframe in days (seconds / 86400: '36h' is
  1.5) on every row; ``rmst_days`` integrates the right-continuous step curve from day 0
  (an event on day 0 counts from 0) and is null when the group has no users in the curve.
* Log-rank observed/expected are given on every included group of a (milestone,
  dimension) whose test gets past ``fewer_than_two_groups``, ``too_many_groups`` and
  ``no_events`` (a singular variance still counts); null on the ``all`` rows, on
  excluded groups and where the test does not run. Observed is the group's events,
  expected sum over pooled event days of d_t * n_gt / n_t (R's survdiff ``exp``), the
  ratio observed / expected, null when expected is 0.
* Experiments: a row per experiment id with at least one staged exposure, also when
  every exposed user saw several variants (``variants`` and ``exposed_users`` 0,
  ``srm_null_reason`` ``single_variant``). ``variants`` counts the variants of users
  left in, ``has_control`` whether the control variant is among them.
* Experiment id and variant: the property as text (numbers as written), trimmed;
  null, a missing key or blank text is ``'(missing)'``. The control variant var is
  compared unchanged.
* Results: ``control_users``, ``control_converted_users`` and
  ``control_conversion_rate`` are the control variant's numbers on every row of an
  experiment with a control (the control row included) and null without one. The
  comparison columns are null on the control row and without a control; otherwise
  the Wald interval is always given (0 wide when both rates are 0 or 1), z and p are
  null when the pooled rate is 0 or 1, the relative interval is null when either
  count of conversions is 0, ``uplift_rel`` null when the control rate is 0.
"""

from __future__ import annotations

import math
from fractions import Fraction

try:  # imported as package ``reference`` (tests) or as a plain module
    from . import activation_reference as ar
    from . import bi_reference as bi
    from .stats_reference import bh_q_values
except ImportError:  # pragma: no cover
    import activation_reference as ar
    import bi_reference as bi
    from stats_reference import bh_q_values

__all__ = [
    "STATS_DEFAULT_VARS",
    "compute_statistics",
    "kaplan_meier",
    "logrank",
    "logrank_observed_expected",
    "median_interval",
    "rmst",
    "two_proportion_comparison",
    "srm_test",
]

STATS_DEFAULT_VARS = {
    "activation_stats_min_group_size": 50,
    "activation_stats_max_groups": 10,
    "activation_experiment_exposure_event": "experiment_exposure",
    "activation_experiment_id_property": "experiment",
    "activation_experiment_variant_property": "variant",
    "activation_experiment_control_variant": "control",
}

SECONDS_PER_DAY = 86400
SINGULAR_PIVOT = 1e-12
MISSING = "(missing)"
METRICS = ("activation", "paid")


def _resolve_stats_vars(vars):
    resolved = dict(STATS_DEFAULT_VARS)
    for key, value in (vars or {}).items():
        if key in resolved and value is not None:
            resolved[key] = value
    resolved["exposure_event"] = ar.normalise_event_name(resolved["activation_experiment_exposure_event"])
    return resolved


def _dimensions(passthrough):
    return ["install_source", "plan_tier", "signup_type"] + list(passthrough)


def _segment_value(value):
    return "(none)" if value is None else str(value)


# ----------------------------------------------------------------- Kaplan–Meier


def kaplan_meier(durations, events):
    """Curve rows (day, at_risk, events, censored, survival, ci lower/upper) and the
    median of one group, from lifelines. ``durations`` are integer days, ``events``
    booleans; an empty group gives no rows and a null median."""
    _, rows, median = _fit_kaplan_meier(durations, events)
    return rows, median


def _fit_kaplan_meier(durations, events):
    """(fitted KaplanMeierFitter or None, curve rows, exact median) of one group."""
    if not durations:
        return None, [], None
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit([float(d) for d in durations], [bool(e) for e in events])
    table = kmf.event_table
    survival = kmf.survival_function_.iloc[:, 0]
    interval = kmf.confidence_interval_
    lower, upper = interval.iloc[:, 0], interval.iloc[:, 1]
    rows = []
    for time, entry in table.iterrows():
        if entry["removed"] <= 0:
            continue
        rows.append({
            "day": int(time),
            "at_risk": int(entry["at_risk"]),
            "events": int(entry["observed"]),
            "censored": int(entry["censored"]),
            "survival": float(survival.loc[time]),
            "survival_ci_lower": float(lower.loc[time]),
            "survival_ci_upper": float(upper.loc[time]),
        })
    return kmf, rows, exact_median(rows)


def median_interval(kmf):
    """(lower, upper) int days of the 95% interval of the median: lifelines'
    ``median_survival_times`` of the lower and of the upper column of the curve's
    exponential Greenwood interval; None where a bound never falls to <= 1/2 (inf)
    and both None without a fitted curve (no users). lifelines (0.30) gives bounds
    0.0, not NaN, on days whose survival is 0 (and fills the NaN of days with survival
    1 with 1.0), so the first such day is a bound's median when nothing earlier is."""
    if kmf is None:
        return None, None
    from lifelines.utils import median_survival_times

    medians = median_survival_times(kmf.confidence_interval_)
    lower, upper = (float(medians.iloc[0, column]) for column in range(2))
    return tuple(None if math.isinf(value) else int(value) for value in (lower, upper))


def rmst(kmf, horizon):
    """Restricted mean survival time up to ``horizon`` days: lifelines'
    ``restricted_mean_survival_time`` of the fitted curve (the integral of the step
    function from 0 to the horizon); None without a fitted curve (no users)."""
    if kmf is None:
        return None
    from lifelines.utils import restricted_mean_survival_time

    return float(restricted_mean_survival_time(kmf, t=horizon))


def exact_median(rows):
    """Smallest curve day whose survival, in exact arithmetic, is <= 1/2; None when none.
    lifelines' ``median_survival_time_`` gives the same day except where the survival is
    exactly 1/2: lifelines computes it as exp(sum(log(...))), which can land a hair above
    (0.5000000000000001) and then reports no median."""
    survival = Fraction(1)
    for row in rows:
        survival *= 1 - Fraction(row["events"], row["at_risk"])
        if survival <= Fraction(1, 2):
            return row["day"]
    return None


def logrank_variance(groups):
    """Observed-minus-expected vector u and variance matrix V of the k-group log-rank
    test by the contract's formula, over groups {value: [(duration, event)]} in
    sorted value order (all k groups)."""
    names = sorted(groups)
    times = sorted({d for members in groups.values() for d, e in members if e})
    k = len(names)
    u = [0.0] * k
    v = [[0.0] * k for _ in range(k)]
    for t in times:
        n_g = [sum(1 for d, _ in groups[g] if d >= t) for g in names]
        d_g = [sum(1 for d, e in groups[g] if e and d == t) for g in names]
        n_t, d_t = sum(n_g), sum(d_g)
        for i in range(k):
            u[i] += d_g[i] - d_t * n_g[i] / n_t
        if n_t > 1:
            factor = d_t * (n_t - d_t) / (n_t - 1)
            for i in range(k):
                for j in range(k):
                    delta = 1.0 if i == j else 0.0
                    v[i][j] += factor * (n_g[i] / n_t) * (delta - n_g[j] / n_t)
    return names, u, v


def _ldl_quadratic_form(u, v):
    """u' V^-1 u by LDL' elimination without pivoting; None when a pivot <= 1e-12."""
    size = len(u)
    lower = [[0.0] * size for _ in range(size)]
    pivots = [0.0] * size
    for j in range(size):
        pivot = v[j][j] - sum(lower[j][m] ** 2 * pivots[m] for m in range(j))
        if pivot <= SINGULAR_PIVOT:
            return None
        pivots[j] = pivot
        lower[j][j] = 1.0
        for i in range(j + 1, size):
            lower[i][j] = (v[i][j] - sum(lower[i][m] * lower[j][m] * pivots[m] for m in range(j))) / pivot
    solved = []
    for j in range(size):
        solved.append(u[j] - sum(lower[j][m] * solved[m] for m in range(j)))
    return sum(solved[j] ** 2 / pivots[j] for j in range(size))


def logrank(groups, max_groups):
    """(chi_square, degrees_of_freedom, p_value, null_reason, own_statistic) of the
    k-group log-rank test over the included groups {value: [(duration, event)]}.
    ``own_statistic`` is u'V^-1 u by the contract's formula (a cross-check)."""
    if len(groups) < 2:
        return None, None, None, "fewer_than_two_groups", None
    if len(groups) > max_groups:
        return None, None, None, "too_many_groups", None
    if not any(e for members in groups.values() for _, e in members):
        return None, None, None, "no_events", None
    _, u, v = logrank_variance(groups)
    k = len(u)
    own = _ldl_quadratic_form(u[:k - 1], [row[:k - 1] for row in v[:k - 1]])
    if own is None:
        return None, None, None, "singular_variance", None
    from lifelines.statistics import multivariate_logrank_test

    durations, labels, observed = [], [], []
    for name, members in groups.items():
        for duration, event in members:
            durations.append(float(duration))
            labels.append(name)
            observed.append(1 if event else 0)
    result = multivariate_logrank_test(durations, labels, observed)
    return float(result.test_statistic), k - 1, float(result.p_value), None, own


def logrank_is_tested(groups, max_groups):
    """Whether the log-rank test of the included groups {value: [(duration, event)]}
    gets past its first three null reasons (2 to max_groups groups with an event between
    them); a test with a singular variance counts as tested."""
    return 2 <= len(groups) <= max_groups and any(e for members in groups.values() for _, e in members)


def logrank_observed_expected(groups):
    """{value: (observed, expected)} of the log-rank test over the included groups
    {value: [(duration, event)]}: observed the group's events, expected the sum over the
    pooled event days t of d_t * n_gt / n_t (R's survdiff ``exp``), summed exactly in
    fractions and given as float."""
    days = sorted({d for members in groups.values() for d, e in members if e})
    pooled = {t: (sum(1 for members in groups.values() for d, _ in members if d >= t),
                  sum(1 for members in groups.values() for d, e in members if e and d == t))
              for t in days}
    out = {}
    for value, members in groups.items():
        expected = Fraction(0)
        for t in days:
            n_t, d_t = pooled[t]
            at_risk = sum(1 for d, _ in members if d >= t)
            expected += Fraction(d_t * at_risk, n_t)
        out[value] = (sum(1 for _, e in members if e), float(expected))
    return out


# ------------------------------------------------------------------- experiments


def two_proportion_comparison(c1, n1, c0, n0):
    """The comparison columns of a variant (c1 of n1) against the control (c0 of n0)."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    p1, p0 = c1 / n1, c0 / n0
    low, high = confint_proportions_2indep(c1, n1, c0, n0, method="wald", compare="diff")
    out = {
        "uplift_abs": p1 - p0,
        "uplift_abs_ci_lower": float(low),
        "uplift_abs_ci_upper": float(high),
        "uplift_rel": None if p0 == 0 else p1 / p0 - 1.0,
        "uplift_rel_ci_lower": None,
        "uplift_rel_ci_upper": None,
        "z_statistic": None,
        "p_value": None,
    }
    if c1 > 0 and c0 > 0:
        low, high = confint_proportions_2indep(c1, n1, c0, n0, method="log", compare="ratio")
        out["uplift_rel_ci_lower"] = float(low) - 1.0
        out["uplift_rel_ci_upper"] = float(high) - 1.0
    pooled = (c1 + c0) / (n1 + n0)
    if 0 < pooled < 1:
        z, p = proportions_ztest([c1, c0], [n1, n0])
        out["z_statistic"], out["p_value"] = float(z), float(p)
    if pooled in (0, 1):
        reason = "no_variation"
    elif c1 == 0 or c0 == 0:
        reason = "zero_conversions"
    else:
        reason = None
    return out, reason


def srm_test(users_per_variant):
    """(chi_square, df, p_value, null_reason) of the sample ratio mismatch test."""
    if len(users_per_variant) < 2:
        return None, None, None, "single_variant"
    from scipy.stats import chisquare

    result = chisquare(users_per_variant)
    return float(result.statistic), len(users_per_variant) - 1, float(result.pvalue), None


def _property_text(event, key):
    text = ar.clean_text(ar.property_as_text(event["properties_parsed"], key))
    return MISSING if text is None else text


def _experiments(ctx, stats, base_users):
    as_users = {u["user_id"]: u for u in base_users}
    exposures = {}
    for user_id, user_events in ctx["events_by_user"].items():
        for event in user_events:
            if event["event_name"] != stats["exposure_event"]:
                continue
            experiment_id = _property_text(event, stats["activation_experiment_id_property"])
            variant = _property_text(event, stats["activation_experiment_variant_property"])
            exposures.setdefault(experiment_id, {}).setdefault(user_id, []).append((event["event_at"], variant))

    conversion_event = ctx["bi"]["conversion_event"]
    first_conversion_date = {}
    if conversion_event is not None:
        for user in base_users:
            dates = [e["event_at"].date() for e in ctx["events_by_user"].get(user["user_id"], [])
                     if e["event_name"] == conversion_event and e["event_at"] >= user["created_at"]]
            first_conversion_date[user["user_id"]] = min(dates) if dates else None

    def converted(user_id, metric, first_at):
        if metric == "activation":
            user = as_users[user_id]
            return bool(user["is_activated"]) and user["activated_at"] >= first_at
        if conversion_event is not None:
            day = first_conversion_date[user_id]
            return day is not None and day >= first_at.date()
        return bool(ctx["converted"][user_id])

    control = stats["activation_experiment_control_variant"]
    results, experiments = [], []
    for experiment_id in sorted(exposures):
        per_variant, multiple = {}, 0
        for user_id, seen in exposures[experiment_id].items():
            if len({variant for _, variant in seen}) > 1:
                multiple += 1
                continue
            per_variant.setdefault(seen[0][1], []).append((user_id, min(at for at, _ in seen)))
        variants = sorted(per_variant)
        has_control = control in per_variant
        srm = srm_test([len(per_variant[v]) for v in variants])
        experiments.append({
            "experiment_id": experiment_id,
            "variants": len(variants),
            "exposed_users": sum(len(per_variant[v]) for v in variants),
            "users_multiple_variants": multiple,
            "has_control": has_control,
            "srm_chi_square": srm[0],
            "srm_degrees_of_freedom": srm[1],
            "srm_p_value": srm[2],
            "srm_null_reason": srm[3],
        })
        for metric in METRICS:
            counts = {v: (sum(1 for uid, at in per_variant[v] if converted(uid, metric, at)), len(per_variant[v]))
                      for v in variants}
            for variant in variants:
                c1, n1 = counts[variant]
                lower, upper = bi.wilson_interval(c1, n1)
                row = {
                    "experiment_id": experiment_id,
                    "variant": variant,
                    "metric": metric,
                    "is_control": variant == control,
                    "users": n1,
                    "converted_users": c1,
                    "conversion_rate": c1 / n1,
                    "conversion_rate_ci_lower": lower,
                    "conversion_rate_ci_upper": upper,
                    "control_users": None,
                    "control_converted_users": None,
                    "control_conversion_rate": None,
                    "control_conversion_rate_ci_lower": None,
                    "control_conversion_rate_ci_upper": None,
                }
                comparison = dict.fromkeys(
                    ["uplift_abs", "uplift_abs_ci_lower", "uplift_abs_ci_upper", "uplift_rel",
                     "uplift_rel_ci_lower", "uplift_rel_ci_upper", "z_statistic", "p_value"])
                if has_control:
                    c0, n0 = counts[control]
                    control_lower, control_upper = bi.wilson_interval(c0, n0)
                    row.update(control_users=n0, control_converted_users=c0, control_conversion_rate=c0 / n0,
                               control_conversion_rate_ci_lower=control_lower,
                               control_conversion_rate_ci_upper=control_upper)
                if variant == control:
                    reason = "control"
                elif not has_control:
                    reason = "no_control"
                else:
                    comparison, reason = two_proportion_comparison(c1, n1, c0, n0)
                row.update(comparison)
                row["null_reason"] = reason
                results.append(row)
    return results, experiments


# ------------------------------------------------------------------- time to milestone


def _duration(user, row, as_of):
    """(day, is_event) of a user on one milestone's curve; None when created after as_of."""
    if as_of is None or user["created_at"] > as_of:
        return None
    if row["is_reached"]:
        return math.floor(row["time_to_reach_seconds"] / SECONDS_PER_DAY), True
    return math.floor((as_of - user["created_at"]).total_seconds() / SECONDS_PER_DAY), False


def _time_to_milestone(ctx, stats, base_users):
    as_of = ctx["as_of"]
    min_size = stats["activation_stats_min_group_size"]
    max_groups = stats["activation_stats_max_groups"]
    dimensions = _dimensions(ctx["passthrough"])
    curve, summary, tests = [], [], []
    for mid in sorted(ctx["config"]):
        groups = {}
        for user in base_users:
            row = ctx["reach"][user["user_id"]][mid]
            keys = [("all", "all")] + [(d, _segment_value(user[d])) for d in dimensions]
            entry = _duration(user, row, as_of)
            for key in keys:
                group = groups.setdefault(key, {"members": [], "after": 0})
                if entry is None:
                    group["after"] += 1
                else:
                    group["members"].append(entry)
        horizon = ctx["config"][mid].timeframe.total_seconds() / SECONDS_PER_DAY
        by_dimension, summary_rows = {}, {}
        for (dimension, value), group in sorted(groups.items()):
            members = group["members"]
            kmf, rows, median = _fit_kaplan_meier([d for d, _ in members], [e for _, e in members])
            median_lower, median_upper = median_interval(kmf)
            for row in rows:
                curve.append(dict({"milestone_id": mid, "segment_dimension": dimension, "segment_value": value}, **row))
            reached = sum(1 for _, e in members if e)
            summary.append({
                "milestone_id": mid,
                "segment_dimension": dimension,
                "segment_value": value,
                "users": len(members),
                "reached_users": reached,
                "censored_users": len(members) - reached,
                "users_created_after_as_of": group["after"],
                "median_days": median,
                "median_null_reason": "survival_above_half" if median is None else None,
                "is_included": len(members) >= min_size,
                "median_days_ci_lower": median_lower,
                "median_days_ci_upper": median_upper,
                "rmst_days": rmst(kmf, horizon),
                "rmst_horizon_days": horizon,
                "logrank_observed": None,
                "logrank_expected": None,
                "logrank_observed_expected_ratio": None,
            })
            summary_rows[(dimension, value)] = summary[-1]
            by_dimension.setdefault(dimension, []).append((value, members))
        for dimension in dimensions:
            if dimension not in by_dimension:
                continue
            values = by_dimension[dimension]
            included = {value: members for value, members in values if len(members) >= min_size}
            chi_square, df, p_value, reason, _ = logrank(included, max_groups)
            if logrank_is_tested(included, max_groups):
                for value, (observed, expected) in logrank_observed_expected(included).items():
                    summary_rows[(dimension, value)].update(
                        logrank_observed=observed,
                        logrank_expected=expected,
                        logrank_observed_expected_ratio=None if expected == 0 else observed / expected,
                    )
            tests.append({
                "milestone_id": mid,
                "segment_dimension": dimension,
                "groups_total": len(values),
                "groups_included": len(included),
                "users_included": sum(len(m) for m in included.values()),
                "events_included": sum(1 for m in included.values() for _, e in m if e),
                "chi_square": chi_square,
                "degrees_of_freedom": df,
                "p_value": p_value,
                "null_reason": reason,
            })
    return curve, summary, tests


# ------------------------------------------------------------------------- compute


def compute_statistics(users, events, milestones, requirements, vars=None):
    """The B and E marts; returns mart name (without ``activation_``) -> rows."""
    ctx = bi._prepare(users, events, milestones, requirements or [], vars)
    stats = _resolve_stats_vars(vars)
    base_users = ctx["users"]
    curve, summary, tests = _time_to_milestone(ctx, stats, base_users)
    results, experiments = _experiments(ctx, stats, base_users)
    return {
        "time_to_milestone": curve,
        "time_to_milestone_summary": summary,
        "time_to_milestone_tests": bh_q_values(tests, ["p_value"], ["q_value"]),
        "experiment_results": bh_q_values(results, ["p_value"], ["q_value"]),
        "experiments": bh_q_values(experiments, ["srm_p_value"], ["srm_q_value"]),
    }


def user_durations(users, events, milestones, requirements, vars, milestone_id):
    """{user_id: (day, event)} of one milestone's curve (users created after as_of left
    out); a helper for tests that check a curve against lifelines directly."""
    ctx = bi._prepare(users, events, milestones, requirements or [], vars)
    out = {}
    for user in ctx["users"]:
        entry = _duration(user, ctx["reach"][user["user_id"]][milestone_id], ctx["as_of"])
        if entry is not None:
            out[user["user_id"]] = entry
    return out

