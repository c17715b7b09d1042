"""Reference implementation of the BI marts (SPEC sections 5-6, BI marts contract).

Pure standard-library Python built on the per-user reference
(``activation_reference.compute``), but for one statsmodels call: every rate that is a
share of counted users (not ``invite_acceptance_rate``) has ``<rate>_ci_lower`` /
``<rate>_ci_upper`` beside it (``value_ci_lower`` / ``value_ci_upper`` on the rate
KPIs), the 95% Wilson score interval of ``proportion_confint`` on the rate's numerator
and denominator (``wilson_interval``), clamped to [0, 1] and null when the rate is.
``compute_bi`` takes the same raw tables and vars as ``compute`` and returns a dict of
lists of row dicts keyed by mart name without the ``activation_`` prefix. Staged events
(invites, activity, the conversion event) come from the raw rows through the per-user
reference's own quarantine and dedup functions.

Readings chosen where the contract is silent:

* A BI var present with value ``None`` takes its default (as in the per-user
  reference). Event names in vars (invite, activity, conversion event) are
  normalised like event names. ``activation_kpi_period`` other than day/week/month
  raises ``ConfigError``. ``activation_kpi_targets`` is a dict kpi_name -> target
  (a list of seed rows ``{kpi_name, target_value}`` is accepted too); a KPI missing
  from it has a null target.
* Steps are the milestones ordered by (level, milestone_id) with null levels last.
* When ``as_of`` is null (no event timestamps and no var) every comparison with it is
  unknown, as in SQL: nobody is eligible, no nudges, no PQL rows, no KPI rows.
* Cohort completion, funnel and velocity rows exist only for cohorts / breakdown
  groups with at least one user (every step for every such group).
  ``breakdown_value`` is ``str(value)``; only null becomes ``'(none)'`` (an empty
  string stays empty).
* Funnel censoring: the longest step window is the greatest timeframe over all
  funnel steps (all milestones). A user is eligible when
  ``created_at + longest window <= as_of`` (inclusive, to the second).
  ``cohort_users`` counts every user of the group, ``eligible_users`` the eligible
  ones, ``in_progress_users`` the rest (never drop-offs). Counts, rates and hours
  cover eligible users only: step 1 is entered by ``eligible_users``, step i > 1 by
  the completers of step i-1; ``conversion_from_start`` = completed /
  ``eligible_users`` (null when 0); the hours are among eligible completers.
* Invite count property: the property read as text (numbers as written, strings as
  their value) counts when it is an integral number (``3``, ``"3"``, ``3.0``,
  ``1e2``; negative values are kept as is); a missing key, JSON null, booleans,
  non-integral numbers (``3.5``) and other text count as 1. ``inviting_users``
  counts users with at least one invite event whatever its count.
* Conversion by milestone covers all staged users; a user whose within-timeframe
  reaches all have a null level is in group 0. Conversion event: a staged event of
  that name with ``event_at >= created_at``; free tiers compare ``plan_tier`` as is.
* Nudges: the target is the first step not reached within timeframe, so the
  proactive condition reduces to "target step > 1". ``median_days_to_reach`` for a
  proactive nudge is the median days among users who reached the target within
  timeframe (null when nobody did).
* PQL: only milestones that are reached (timeframe not applied) count; scores are
  summed with ``math.fsum`` in milestone order; two consecutive candidate rows are
  "the same" when the band is equal and the scores differ by at most 1e-9.
  ``top_milestones`` ranks every milestone in the sum on ``valid_from`` (reached on
  or before it), zero contributions included. A score below every band's
  ``min_score`` has a null band; for handoffs a null band has the rank of the lowest
  band (so it never makes a crossing and leaving it for the lowest band is none).
  ``crossed_at`` is null when no milestone was reached on ``crossed_on`` (only
  possible with a decay > 1). ``handoff_id`` = md5 hex of
  ``user_id|to_band|YYYY-MM-DD``.
* KPIs: periods run from the period of the earliest staged signup to the period of
  ``as_of`` (none when the former is later). Counts (numerators, denominators) of a
  period without users are 0 and the value is null; sums of hours over no rows are
  null. Rates whose numerator is a subset of the denominator count only the
  denominator's users (activation_rate: eligible users who are activated;
  milestone_completion_rate follows the funnel: users of the period whose longest
  step window has closed, and among them those who completed step 1).
  The activation milestones are the per-user reference's (flagged, or every
  milestone at the highest level); with none, the activation_rate denominator is 0.
  ``pql_conversion_rate``'s top status band is the status band with the greatest
  ``min_score``. viral_coefficient = invites_per_user * invite_acceptance_rate
  (computed as that product). ``previous_value`` is the value of the immediately
  preceding period (null for the first). Status: null when the value is null; when
  the target is not met (or absent) and the change is null, null as well.
  ``kpi_label`` is this module's own human text.
* Output rows are sorted by their natural key (cohort/date first, then the other
  key columns in contract order; users by user_id).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import statistics

try:  # imported as package ``reference`` (tests) or as a plain module
    from . import activation_reference as ar
except ImportError:  # pragma: no cover
    import activation_reference as ar

__all__ = [
    "BI_DEFAULT_VARS",
    "DEFAULT_KPI_TARGETS",
    "DEFAULT_PQL_BANDS",
    "KPI_NAMES",
    "RATE_KPIS",
    "compute_bi",
    "wilson_interval",
]

DEFAULT_PQL_BANDS = [
    {"band": "nurture", "min_score": 0, "action": "automated nurture"},
    {"band": "sdr_outreach", "min_score": 21, "action": "sdr outreach"},
    {"band": "ae_handoff", "min_score": 51, "action": "ae handoff"},
]

DEFAULT_KPI_TARGETS = {
    "activation_rate": 0.40,
    "ttfv_median_hours": 36.0,
    "ttfv_mean_hours": 60.0,
    "milestone_completion_rate": 0.70,
    "milestone_velocity_hours": 60.0,
    "conversion_rate_activated": 0.15,
    "viral_coefficient": 0.5,
    "retention_d7": 0.50,
    "retention_d30": 0.30,
    "pql_conversion_rate": 0.15,
}

BI_DEFAULT_VARS = {
    "activation_pql_recency_days": 7,
    "activation_pql_decay": 0.5,
    "activation_pql_bands": DEFAULT_PQL_BANDS,
    "activation_pql_daily_days": 90,
    "activation_invite_event": "invite_sent",
    "activation_invite_count_property": None,
    "activation_activity_events": [],
    "activation_conversion_event": None,
    "activation_free_plan_tiers": ["free"],
    "activation_kpi_period": "week",
    "activation_kpi_targets": DEFAULT_KPI_TARGETS,
}

KPI_NAMES = [
    ("activation_rate", "Activation rate", "higher_is_better"),
    ("ttfv_median_hours", "Time to first value, median (hours)", "lower_is_better"),
    ("ttfv_mean_hours", "Time to first value, mean (hours)", "lower_is_better"),
    ("milestone_completion_rate", "First milestone completion rate", "higher_is_better"),
    ("milestone_velocity_hours", "Milestone velocity, mean hours between levels", "lower_is_better"),
    ("conversion_rate_activated", "Conversion rate of activated users", "higher_is_better"),
    ("viral_coefficient", "Viral coefficient", "higher_is_better"),
    ("retention_d7", "D7 retention of activated users", "higher_is_better"),
    ("retention_d30", "D30 retention of activated users", "higher_is_better"),
    ("pql_conversion_rate", "PQL rate of activated users", "higher_is_better"),
]

# KPIs whose value is numerator / denominator of counted users: they get a Wilson interval.
RATE_KPIS = frozenset({
    "activation_rate", "milestone_completion_rate", "conversion_rate_activated", "retention_d7",
    "retention_d30", "pql_conversion_rate",
})

WINDOWS = [("timeframe", None), ("d0", 86400), ("d7", 604800), ("d30", 2592000)]
RETENTION_WINDOWS = (7, 30)
SCORE_TOLERANCE = 1e-9


# ------------------------------------------------------------------------ helpers


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def wilson_interval(count, nobs):
    """(lower, upper) of the 95% Wilson score interval of ``count`` of ``nobs`` from
    statsmodels, clamped to [0, 1]; (None, None) when either is null or ``nobs`` is 0."""
    if count is None or not nobs:
        return None, None
    from statsmodels.stats.proportion import proportion_confint

    lower, upper = proportion_confint(count, nobs, alpha=0.05, method="wilson")
    return max(0.0, float(lower)), min(1.0, float(upper))


def _median(values):
    return statistics.median(values) if values else None


def _mean(values):
    return math.fsum(values) / len(values) if values else None


def _le(left, right):
    """SQL ``left <= right``: unknown (false) when either side is null."""
    return left is not None and right is not None and left <= right


def _truncate(day, grain):
    """Start of the period (day | week starting Monday | month) containing a date."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(day, grain):
    if grain == "day":
        return day + dt.timedelta(days=1)
    if grain == "week":
        return day + dt.timedelta(days=7)
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _resolve_bi_vars(vars):
    resolved = dict(BI_DEFAULT_VARS)
    for key, value in (vars or {}).items():
        if key in resolved and value is not None:
            resolved[key] = value
    if resolved["activation_kpi_period"] not in ("day", "week", "month"):
        raise ar.ConfigError(
            f"activation_kpi_period must be day, week or month, got {resolved['activation_kpi_period']!r}"
        )
    targets = resolved["activation_kpi_targets"]
    if isinstance(targets, list):
        targets = {row["kpi_name"]: row.get("target_value") for row in targets}
    resolved["activation_kpi_targets"] = {
        k: (None if v is None else float(v)) for k, v in dict(targets).items()
    }
    resolved["invite_event"] = ar.normalise_event_name(resolved["activation_invite_event"])
    resolved["activity_events"] = {
        ar.normalise_event_name(name) for name in resolved["activation_activity_events"]
    }
    conversion = resolved["activation_conversion_event"]
    resolved["conversion_event"] = None if conversion is None else ar.normalise_event_name(conversion)
    return resolved


def _step_order(config):
    """Milestone ids ordered by (level, milestone_id), null levels last."""
    return sorted(config, key=lambda mid: (config[mid].level is None, config[mid].level or 0, mid))


def _invite_count(event, count_property):
    if count_property is None:
        return 1
    text = ar.property_as_text(event["properties_parsed"], count_property)
    if text is None or text in ("true", "false"):
        return 1
    try:
        number = float(text.strip())
    except ValueError:
        return 1
    if not math.isfinite(number) or number != int(number):
        return 1
    return int(number)


# --------------------------------------------------------------------- preparation


def _prepare(users, events, milestones, requirements, vars):
    base = ar.compute(users, events, milestones, requirements, vars)
    settings = ar.resolve_vars(vars)
    bi = _resolve_bi_vars(vars)
    passthrough = list(settings["activation_user_passthrough_columns"])
    config = ar.load_milestones(milestones, requirements)
    as_of = base["as_of"]
    tolerance = dt.timedelta(hours=float(settings["activation_future_tolerance_hours"]))

    staged_users, _ = ar.quarantine_users(users, passthrough)
    usable, _ = ar.quarantine_events(events, set(staged_users), as_of, tolerance)
    staged_events, _ = ar.dedup_events(usable)
    events_by_user = {}
    for event in staged_events:
        events_by_user.setdefault(event["user_id"], []).append(event)

    reach = {}
    for row in base["user_milestones"]:
        reach.setdefault(row["user_id"], {})[row["milestone_id"]] = row
    user_rows = sorted(base["users"], key=lambda u: u["user_id"])

    steps = _step_order(config)
    ctx = {
        "as_of": as_of,
        "config": config,
        "steps": steps,
        "users": user_rows,
        "reach": reach,
        "events_by_user": events_by_user,
        "passthrough": passthrough,
        "grain": settings["activation_cohort_grain"],
        "status_bands": list(settings["activation_status_bands"]),
        "activation_ids": ar.activation_milestone_ids(config),
        "bi": bi,
    }
    ctx["converted"] = {u["user_id"]: _is_converted(u, ctx) for u in user_rows}
    ctx["invites"] = {u["user_id"]: _invites(u["user_id"], ctx) for u in user_rows}
    ctx["funnel"] = {u["user_id"]: _funnel_flags(u["user_id"], ctx) for u in user_rows}
    return ctx


def _within(ctx, user_id, mid):
    row = ctx["reach"][user_id][mid]
    return row["reached_at"] if row["is_within_timeframe"] else None


def _is_converted(user, ctx):
    name = ctx["bi"]["conversion_event"]
    if name is not None:
        return any(
            e["event_name"] == name and e["event_at"] >= user["created_at"]
            for e in ctx["events_by_user"].get(user["user_id"], [])
        )
    tier = user["plan_tier"]
    return tier is not None and tier not in set(ctx["bi"]["activation_free_plan_tiers"])


def _invites(user_id, ctx):
    """(invite event count, invites sent) of a user's staged invite events."""
    name = ctx["bi"]["invite_event"]
    prop = ctx["bi"]["activation_invite_count_property"]
    invite_events = [e for e in ctx["events_by_user"].get(user_id, []) if e["event_name"] == name]
    return len(invite_events), sum(_invite_count(e, prop) for e in invite_events)


def _funnel_flags(user_id, ctx):
    """Per step: completed (reached 1..i within timeframe in non-decreasing order)."""
    flags, previous_ok, previous_at = [], True, None
    for mid in ctx["steps"]:
        at = _within(ctx, user_id, mid)
        ok = previous_ok and at is not None and (previous_at is None or previous_at <= at)
        flags.append(ok)
        previous_ok, previous_at = ok, at
    return flags


def _velocity_pairs(ctx, user_id):
    """(step i, hours) for i >= 2 when steps i-1 and i are both reached within timeframe."""
    pairs = []
    steps = ctx["steps"]
    for index in range(1, len(steps)):
        before = _within(ctx, user_id, steps[index - 1])
        after = _within(ctx, user_id, steps[index])
        if before is not None and after is not None:
            pairs.append((index + 1, (after - before).total_seconds() / 3600.0))
    return pairs


def _activity_in(ctx, user_id, start, end):
    """Whether the user has an activity event with start < event_at <= end."""
    names = ctx["bi"]["activity_events"]
    return any(
        start < e["event_at"] <= end and (not names or e["event_name"] in names)
        for e in ctx["events_by_user"].get(user_id, [])
    )


def _group(rows, key):
    groups = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return dict(sorted(groups.items()))


# --------------------------------------------------------------------------- marts


def _cohort_completion(ctx):
    out, as_of = [], ctx["as_of"]
    for cohort, members in _group(ctx["users"], lambda u: u["cohort_date"]).items():
        for mid in ctx["steps"]:
            milestone = ctx["config"][mid]
            timeframe_seconds = int(milestone.timeframe.total_seconds())
            for window_name, seconds in WINDOWS:
                window = timeframe_seconds if seconds is None else seconds
                limit = dt.timedelta(seconds=min(window, timeframe_seconds))
                eligible = [u for u in members if _le(u["created_at"] + dt.timedelta(seconds=window), as_of)]
                completed = [
                    u for u in eligible
                    if _le(ctx["reach"][u["user_id"]][mid]["reached_at"], u["created_at"] + limit)
                ]
                lower, upper = wilson_interval(len(completed), len(eligible))
                out.append({
                    "cohort_date": cohort,
                    "milestone_id": mid,
                    "milestone_level": milestone.level,
                    "window_name": window_name,
                    "window_seconds": window,
                    "cohort_users": len(members),
                    "eligible_users": len(eligible),
                    "completed_users": len(completed),
                    "completion_rate": _ratio(len(completed), len(eligible)),
                    "completion_rate_ci_lower": lower,
                    "completion_rate_ci_upper": upper,
                    "is_mature": len(eligible) == len(members),
                    "as_of": as_of,
                })
    return out


def _breakdowns(ctx, user):
    values = [("all", "all")]
    for column in ["install_source", "plan_tier", "signup_type"] + ctx["passthrough"]:
        value = user[column]
        values.append((column, "(none)" if value is None else str(value)))
    return values


def _funnel_longest_window(ctx):
    """Greatest timeframe over all funnel steps; None without steps."""
    return max((ctx["config"][mid].timeframe for mid in ctx["steps"]), default=None)


def _funnel_eligible(ctx, users):
    """Users whose longest step window has closed: created_at + longest <= as_of."""
    longest = _funnel_longest_window(ctx)
    if longest is None:
        return []
    return [u for u in users if _le(u["created_at"] + longest, ctx["as_of"])]


def _funnel(ctx):
    groups = {}
    for user in ctx["users"]:
        for dimension, value in _breakdowns(ctx, user):
            groups.setdefault((user["cohort_date"], dimension, value), []).append(user)
    dimension_order = {d: i for i, d in enumerate(["all", "install_source", "plan_tier", "signup_type"] + ctx["passthrough"])}
    out = []
    for (cohort, dimension, value), members in sorted(
        groups.items(), key=lambda item: (item[0][0], dimension_order[item[0][1]], item[0][2])
    ):
        eligible = _funnel_eligible(ctx, members)
        entered = len(eligible)
        for index, mid in enumerate(ctx["steps"]):
            completers = [u for u in eligible if ctx["funnel"][u["user_id"]][index]]
            hours = []
            for user in completers:
                at = _within(ctx, user["user_id"], mid)
                start = user["created_at"] if index == 0 else _within(ctx, user["user_id"], ctx["steps"][index - 1])
                hours.append((at - start).total_seconds() / 3600.0)
            drop_lower, drop_upper = wilson_interval(entered - len(completers), entered)
            start_lower, start_upper = wilson_interval(len(completers), len(eligible))
            out.append({
                "cohort_date": cohort,
                "breakdown_dimension": dimension,
                "breakdown_value": value,
                "step_number": index + 1,
                "milestone_id": mid,
                "milestone_level": ctx["config"][mid].level,
                "cohort_users": len(members),
                "eligible_users": len(eligible),
                "in_progress_users": len(members) - len(eligible),
                "entered_users": entered,
                "completed_users": len(completers),
                "drop_off_rate": _ratio(entered - len(completers), entered),
                "drop_off_rate_ci_lower": drop_lower,
                "drop_off_rate_ci_upper": drop_upper,
                "conversion_from_start": _ratio(len(completers), len(eligible)),
                "conversion_from_start_ci_lower": start_lower,
                "conversion_from_start_ci_upper": start_upper,
                "median_hours_from_previous_step": _median(hours),
                "mean_hours_from_previous_step": _mean(hours),
                "as_of": ctx["as_of"],
            })
            entered = len(completers)
    return out


def _milestone_velocity(ctx):
    out, steps = [], ctx["steps"]
    for cohort, members in _group(ctx["users"], lambda u: u["cohort_date"]).items():
        ttfv = [u["time_to_first_value_hours"] for u in members if u["first_value_at"] is not None]
        if ttfv:
            out.append({
                "cohort_date": cohort,
                "to_step_number": 0,
                "from_milestone_id": None,
                "to_milestone_id": members[0]["first_value_milestone_id"],
                "users": len(ttfv),
                "mean_hours": _mean(ttfv),
                "median_hours": _median(ttfv),
                "as_of": ctx["as_of"],
            })
        by_step = {}
        for user in members:
            for step, hours in _velocity_pairs(ctx, user["user_id"]):
                by_step.setdefault(step, []).append(hours)
        for step in sorted(by_step):
            hours = by_step[step]
            out.append({
                "cohort_date": cohort,
                "to_step_number": step,
                "from_milestone_id": steps[step - 2],
                "to_milestone_id": steps[step - 1],
                "users": len(hours),
                "mean_hours": _mean(hours),
                "median_hours": _median(hours),
                "as_of": ctx["as_of"],
            })
    return out


def _retention_counts(ctx, activated, days):
    """(eligible users, retained users) among activated users for window ``days``."""
    eligible = [u for u in activated if _le(u["activated_at"] + dt.timedelta(days=days), ctx["as_of"])]
    retained = [
        u for u in eligible
        if _activity_in(ctx, u["user_id"], u["activated_at"], u["activated_at"] + dt.timedelta(days=days))
    ]
    return len(eligible), len(retained)


def _retention(ctx):
    out = []
    activated = [u for u in ctx["users"] if u["is_activated"]]
    for cohort, members in _group(activated, lambda u: _truncate(u["activated_at"].date(), ctx["grain"])).items():
        for days in RETENTION_WINDOWS:
            eligible, retained = _retention_counts(ctx, members, days)
            lower, upper = wilson_interval(retained, eligible)
            out.append({
                "activation_cohort_date": cohort,
                "window_days": days,
                "activated_users": len(members),
                "eligible_users": eligible,
                "retained_users": retained,
                "retention_rate": _ratio(retained, eligible),
                "retention_rate_ci_lower": lower,
                "retention_rate_ci_upper": upper,
                "is_mature": eligible == len(members),
                "as_of": ctx["as_of"],
            })
    return out


def _viral_numbers(ctx, members):
    ids = {u["user_id"] for u in members}
    inviting = sum(1 for u in members if ctx["invites"][u["user_id"]][0] > 0)
    sent = sum(ctx["invites"][u["user_id"]][1] for u in members)
    signups = sum(1 for u in ctx["users"] if u["inviter_user_id"] in ids)
    per_user = _ratio(sent, len(members))
    acceptance = _ratio(signups, sent)
    viral = None if per_user is None or acceptance is None else per_user * acceptance
    return inviting, sent, signups, per_user, acceptance, viral


def _viral_coefficient(ctx):
    out = []
    for cohort, members in _group(ctx["users"], lambda u: u["cohort_date"]).items():
        inviting, sent, signups, per_user, acceptance, viral = _viral_numbers(ctx, members)
        out.append({
            "cohort_date": cohort,
            "cohort_users": len(members),
            "inviting_users": inviting,
            "invites_sent": sent,
            "invited_signups": signups,
            "invites_per_user": per_user,
            "invite_acceptance_rate": acceptance,
            "viral_coefficient": viral,
            "as_of": ctx["as_of"],
        })
    return out


def _conversion_by_milestone(ctx):
    out, total = [], len(ctx["users"])
    for level, members in _group(ctx["users"], lambda u: u["highest_level_reached"] or 0).items():
        converted = sum(1 for u in members if ctx["converted"][u["user_id"]])
        conversion_lower, conversion_upper = wilson_interval(converted, len(members))
        share_lower, share_upper = wilson_interval(len(members), total)
        out.append({
            "highest_level_reached": level,
            "users": len(members),
            "converted_users": converted,
            "conversion_rate": _ratio(converted, len(members)),
            "conversion_rate_ci_lower": conversion_lower,
            "conversion_rate_ci_upper": conversion_upper,
            "share_of_users": _ratio(len(members), total),
            "share_of_users_ci_lower": share_lower,
            "share_of_users_ci_upper": share_upper,
            "as_of": ctx["as_of"],
        })
    return out


def _nudges(ctx):
    out, as_of, steps = [], ctx["as_of"], ctx["steps"]
    if as_of is None:
        return out
    medians = {}
    for mid in steps:
        seconds = [
            ctx["reach"][u["user_id"]][mid]["time_to_reach_seconds"]
            for u in ctx["users"]
            if ctx["reach"][u["user_id"]][mid]["is_within_timeframe"]
        ]
        medians[mid] = _median(seconds)
    for user in ctx["users"]:
        user_id = user["user_id"]
        target = next((i for i, mid in enumerate(steps) if _within(ctx, user_id, mid) is None), None)
        if target is None:
            continue
        mid = steps[target]
        row = ctx["reach"][user_id][mid]
        if row["deadline_at"] <= as_of:
            continue
        median = medians[mid]
        if target > 0 and _within(ctx, user_id, steps[target - 1]) is not None:
            nudge_type = "proactive"
        elif median is not None and (as_of - user["created_at"]).total_seconds() > median:
            nudge_type = "reactive"
        else:
            continue
        out.append({
            "user_id": user_id,
            "nudge_type": nudge_type,
            "milestone_id": mid,
            "milestone_level": ctx["config"][mid].level,
            "previous_milestone_id": steps[target - 1] if target > 0 else None,
            "deadline_at": row["deadline_at"],
            "days_left": (row["deadline_at"] - as_of).total_seconds() / 86400.0,
            "median_days_to_reach": None if median is None else median / 86400.0,
            "as_of": as_of,
        })
    return out


# ---------------------------------------------------------------------- rolling PQL


def _pql_history(ctx):
    """History rows per user (with private ``_rank``/``_created_at`` helper keys)."""
    as_of = ctx["as_of"]
    if as_of is None:
        return []
    bi = ctx["bi"]
    recency = dt.timedelta(days=bi["activation_pql_recency_days"])
    decay = float(bi["activation_pql_decay"])
    bands = sorted(bi["activation_pql_bands"], key=lambda b: b["min_score"])
    last_day = as_of.date()
    out = []
    for user in ctx["users"]:
        reached = [
            (mid, row["reached_at"], row["reached_at"].date())
            for mid, row in sorted(ctx["reach"][user["user_id"]].items())
            if row["reached_at"] is not None
        ]
        candidates = sorted(
            {d for _, _, day in reached for d in (day, day + recency + dt.timedelta(days=1)) if d <= last_day}
        )
        rows = []
        for day in candidates:
            contributions = [
                (ctx["config"][mid].weight * (1.0 if reached_day >= day - recency else decay), mid)
                for mid, _, reached_day in reached
                if reached_day <= day
            ]
            score = math.fsum(c for c, _ in contributions)
            band = ar.pick_band(score, bands)
            name = band["band"] if band else None
            if rows and rows[-1]["pql_band"] == name and abs(rows[-1]["pql_score"] - score) <= SCORE_TOLERANCE:
                continue
            top = sorted(contributions, key=lambda c: (-c[0], c[1]))[:3]
            rows.append({
                "user_id": user["user_id"],
                "valid_from": day,
                "valid_to": None,
                "pql_score": score,
                "pql_band": name,
                "pql_action": band.get("action") if band else None,
                "top_milestones": ", ".join(m for _, m in top),
                "is_current": True,
                "as_of": as_of,
                "_rank": bands.index(band) if band else 0,
                "_created_at": user["created_at"],
                "_reached": reached,
            })
        for current, following in zip(rows, rows[1:]):
            current["valid_to"] = following["valid_from"]
            current["is_current"] = False
        out.extend(rows)
    return out


def _public(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


def _pql_daily(ctx, history):
    as_of = ctx["as_of"]
    if as_of is None:
        return []
    last_day = as_of.date()
    first_day = last_day - dt.timedelta(days=int(ctx["bi"]["activation_pql_daily_days"]) - 1)
    out = []
    for row in history:
        day = max(first_day, row["valid_from"])
        end = last_day if row["valid_to"] is None else min(last_day, row["valid_to"] - dt.timedelta(days=1))
        while day <= end:
            out.append({
                "user_id": row["user_id"],
                "score_date": day,
                "pql_score": row["pql_score"],
                "pql_band": row["pql_band"],
                "pql_action": row["pql_action"],
            })
            day += dt.timedelta(days=1)
    return sorted(out, key=lambda r: (r["user_id"], r["score_date"]))


def _pql_handoffs(ctx, history):
    bands = sorted(ctx["bi"]["activation_pql_bands"], key=lambda b: b["min_score"])
    lowest = bands[0]["band"] if bands else None
    out = []
    previous = {}
    for row in history:
        prior = previous.get(row["user_id"])
        from_rank = prior["_rank"] if prior else 0
        from_band = prior["pql_band"] if prior else lowest
        previous[row["user_id"]] = row
        if row["_rank"] <= from_rank:
            continue
        same_day = [at for _, at, day in row["_reached"] if day == row["valid_from"]]
        crossed_at = max(same_day) if same_day else None
        key = f"{row['user_id']}|{row['pql_band']}|{row['valid_from'].isoformat()}"
        out.append({
            "handoff_id": hashlib.md5(key.encode("utf-8")).hexdigest(),
            "user_id": row["user_id"],
            "crossed_on": row["valid_from"],
            "crossed_at": crossed_at,
            "from_band": from_band,
            "to_band": row["pql_band"],
            "pql_action": row["pql_action"],
            "pql_score": row["pql_score"],
            "days_since_signup": None if crossed_at is None
            else (crossed_at - row["_created_at"]).total_seconds() / 86400.0,
            "as_of": ctx["as_of"],
        })
    return out


# ----------------------------------------------------------------------------- KPIs


def _kpi_values(ctx, members, activated_in_period):
    """kpi_name -> (value, numerator, denominator) for one period."""
    as_of, config = ctx["as_of"], ctx["config"]
    result = {}

    activation_ids = ctx["activation_ids"]
    if activation_ids:
        longest = max(config[mid].timeframe for mid in activation_ids)
        eligible = [u for u in members if _le(u["created_at"] + longest, as_of)]
    else:
        eligible = []
    activated = sum(1 for u in eligible if u["is_activated"])
    result["activation_rate"] = (_ratio(activated, len(eligible)), activated, len(eligible))

    ttfv = [u["time_to_first_value_hours"] for u in members if u["first_value_at"] is not None]
    result["ttfv_median_hours"] = (_median(ttfv), None, len(ttfv))
    result["ttfv_mean_hours"] = (_mean(ttfv), math.fsum(ttfv) if ttfv else None, len(ttfv))

    eligible = _funnel_eligible(ctx, members)
    completed = sum(1 for u in eligible if ctx["funnel"][u["user_id"]][0])
    result["milestone_completion_rate"] = (_ratio(completed, len(eligible)), completed, len(eligible))

    hours = [h for u in members for _, h in _velocity_pairs(ctx, u["user_id"])]
    result["milestone_velocity_hours"] = (_mean(hours), math.fsum(hours) if hours else None, len(hours))

    activated_users = [u for u in members if u["is_activated"]]
    converted = sum(1 for u in activated_users if ctx["converted"][u["user_id"]])
    result["conversion_rate_activated"] = (_ratio(converted, len(activated_users)), converted, len(activated_users))

    if members:
        _, _, signups, _, _, viral = _viral_numbers(ctx, members)
    else:
        signups, viral = 0, None
    result["viral_coefficient"] = (viral, signups, len(members))

    for days in RETENTION_WINDOWS:
        eligible_count, retained = _retention_counts(ctx, activated_in_period, days)
        result[f"retention_d{days}"] = (_ratio(retained, eligible_count), retained, eligible_count)

    top = max(ctx["status_bands"], key=lambda b: b["min_score"])["status"] if ctx["status_bands"] else None
    pql = sum(1 for u in activated_users if top is not None and u["status"] == top)
    result["pql_conversion_rate"] = (_ratio(pql, len(activated_users)), pql, len(activated_users))
    return result


def _kpi_status(value, target, direction, change):
    if value is None:
        return None
    higher = direction == "higher_is_better"
    if target is not None and (value >= target if higher else value <= target):
        return "on_track"
    if change is None:
        return None
    if change == 0:
        return "stable"
    return "improving" if (change > 0) == higher else "needs_attention"


def _kpis(ctx):
    as_of, users = ctx["as_of"], ctx["users"]
    if as_of is None or not users:
        return []
    grain = ctx["bi"]["activation_kpi_period"]
    targets = ctx["bi"]["activation_kpi_targets"]
    period = _truncate(min(u["created_at"] for u in users).date(), grain)
    last = _truncate(as_of.date(), grain)
    out, previous = [], {}
    while period <= last:
        members = [u for u in users if _truncate(u["created_at"].date(), grain) == period]
        activated = [
            u for u in users if u["is_activated"] and _truncate(u["activated_at"].date(), grain) == period
        ]
        values = _kpi_values(ctx, members, activated)
        for name, label, direction in KPI_NAMES:
            value, numerator, denominator = values[name]
            prior = previous.get(name)
            change = None if value is None or prior is None else value - prior
            target = targets.get(name)
            lower, upper = wilson_interval(numerator, denominator) if name in RATE_KPIS else (None, None)
            out.append({
                "period_start": period,
                "kpi_name": name,
                "kpi_label": label,
                "value": value,
                "value_ci_lower": lower,
                "value_ci_upper": upper,
                "numerator": numerator,
                "denominator": denominator,
                "target_value": target,
                "direction": direction,
                "previous_value": prior,
                "change_from_previous": change,
                "status": _kpi_status(value, target, direction, change),
                "as_of": as_of,
            })
            previous[name] = value
        period = _next_period(period, grain)
    return out


# -------------------------------------------------------------------------- compute


def compute_bi(users, events, milestones, requirements, vars=None):
    """Compute every BI mart; returns mart name (without ``activation_``) -> rows."""
    ctx = _prepare(users, events, milestones, requirements or [], vars)
    history = _pql_history(ctx)
    return {
        "cohort_completion": _cohort_completion(ctx),
        "funnel": _funnel(ctx),
        "milestone_velocity": _milestone_velocity(ctx),
        "retention": _retention(ctx),
        "viral_coefficient": _viral_coefficient(ctx),
        "conversion_by_milestone": _conversion_by_milestone(ctx),
        "nudges": _nudges(ctx),
        "pql_score_history": [_public(row) for row in history],
        "pql_scores_daily": _pql_daily(ctx, history),
        "pql_handoffs": _pql_handoffs(ctx, history),
        "kpis": _kpis(ctx),
    }
