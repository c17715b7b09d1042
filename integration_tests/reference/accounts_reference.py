"""Reference implementation of the account marts (SPEC section 10, with sections 4-6).

Pure standard-library Python built on the per-user reference
(``activation_reference.compute``) and the BI reference (``bi_reference._prepare``,
``bi_reference._pql_history``, ``bi_reference.wilson_interval``).
``compute_accounts`` takes the same raw tables and vars as ``compute`` and returns a
dict of lists of row dicts keyed ``accounts``, ``account_pql_score_history``,
``account_pql_handoffs`` and ``account_cohort_completion`` (the mart names without the
``activation_`` prefix), each sorted by its key (``ACCOUNT_MART_KEYS``).

Definitions:

* Members of an account: the staged users (quarantined users are out) whose trimmed
  ``account_id`` is not null and whose ``created_at <= as_of``. With a null ``as_of``
  there are no members, so every mart is empty. An account exists when it has a member.
* Goals: ``activation`` (a member's goal time is ``activated_at`` when activated) and
  every configured milestone (``reached_at`` when reached within its timeframe).
* Account rule (var ``activation_account_activation_rule``; N is var
  ``activation_account_min_users``, s var ``activation_account_min_share``): with U(t) the members created at or
  before t and A(t) the members whose goal time is at or before t, ``met_at`` is the
  earliest member goal time t at which ``any``: A >= 1, ``all``: A == U,
  ``min_users`` N: A >= N, ``min_share`` s: A / U >= s (double division, compared with
  s as a double). Everything at one timestamp counts together (a member created at t is
  in U(t)). Never met -> null.
* Account rolling PQL score on day d: ``sum`` (``math.fsum``) or ``max`` (var
  ``activation_account_pql_aggregate``) over the members of each member's rolling PQL
  score on d, the score of the user's change point valid on d (bi_reference's user
  history), 0 before the user's first change point (also inside ``max``).
* Bands: var ``activation_pql_bands`` on the raw score, lower bound inclusive (the
  greatest ``min_score`` <= score); null below every band. Ranks 1..k by ``min_score``,
  0 below every band.
* History: candidate dates are the members' change-point dates; a row on the first
  candidate and on each candidate whose score differs from the previous row's by more
  than 1e-9 or whose band rank differs. ``valid_to`` = next row's ``valid_from``.
* Hand-off: a history row whose rank exceeds ``max(previous row's rank, 1)`` (the first
  row is compared with rank 1); ``from_band`` is the previous row's band (the lowest
  band for the first row); ``handoff_id`` = md5 hex of ``account_id|to_band|YYYY-MM-DD``
  (the users' rule, ``user_id`` replaced by ``account_id``).
* Cohort completion: per account cohort (``account_created_at`` truncated like the
  users' ``cohort_date``), goal and window d7/d30/d90 (7, 30, 90 days of 24 h): an
  account is eligible when ``account_created_at + window <= as_of`` and completed when
  eligible and ``met_at <= account_created_at + window``; 95% Wilson interval on
  completed of eligible.

Readings chosen where the brief is silent:

* Goal times count as the per-user marts count them: a reach inside the future
  tolerance after an explicit ``activation_as_of`` counts for the account as it does
  for the user's ``is_activated``.
* An account var present with value ``None`` takes its default. The rule and the
  aggregate must be exactly one of the listed lower-case strings. The count is only
  read (and validated) for ``min_users`` (a number that is a whole number >= 1; a bool is
  rejected) and the share for ``min_share`` (a finite number with 0 < s <= 1); anything
  else raises ``ConfigError``.
* ``accounts`` has no PQL columns: the account's score on ``date(as_of)`` is the
  history's ``is_current`` row. ``activated_user_share`` has its 95% Wilson interval.
* ``from_band`` may be null when the previous history row is below every band.
* The goals of ``account_cohort_completion`` are ``activation`` and every configured
  milestone, also when nobody reached it; with no milestone configured only the
  activation goal (never met). Every mart row carries ``as_of``.
* Rows are sorted by their key columns' values as such: ``window_name`` sorts as text
  (``d30`` < ``d7`` < ``d90``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

try:  # imported as package ``reference`` (tests) or as a plain module
    from . import activation_reference as ar
    from . import bi_reference as bi
except ImportError:  # pragma: no cover
    import activation_reference as ar
    import bi_reference as bi

__all__ = [
    "ACCOUNT_DEFAULT_VARS",
    "ACCOUNT_MART_KEYS",
    "ACCOUNT_RULES",
    "ACCOUNT_WINDOWS",
    "compute_accounts",
]

ACCOUNT_DEFAULT_VARS = {
    "activation_account_activation_rule": "any",
    "activation_account_min_users": 2,
    "activation_account_min_share": 0.5,
    "activation_account_pql_aggregate": "sum",
}

ACCOUNT_RULES = ("any", "all", "min_users", "min_share")
ACCOUNT_AGGREGATES = ("sum", "max")

ACCOUNT_MART_KEYS = {
    "accounts": ("account_id",),
    "account_pql_score_history": ("account_id", "valid_from"),
    "account_pql_handoffs": ("handoff_id",),
    "account_cohort_completion": ("cohort_date", "goal_type", "goal_id", "window_name"),
}

ACCOUNT_WINDOWS = (("d7", 7), ("d30", 30), ("d90", 90))

SCORE_TOLERANCE = 1e-9


# ------------------------------------------------------------------------ vars


def _resolve_account_vars(vars):
    resolved = dict(ACCOUNT_DEFAULT_VARS)
    for key, value in (vars or {}).items():
        if key in resolved and value is not None:
            resolved[key] = value
    rule = resolved["activation_account_activation_rule"]
    if not isinstance(rule, str) or rule not in ACCOUNT_RULES:
        raise ar.ConfigError(
            f"activation_account_activation_rule must be one of any, all, min_users, min_share, got {rule!r}"
        )
    aggregate = resolved["activation_account_pql_aggregate"]
    if not isinstance(aggregate, str) or aggregate not in ACCOUNT_AGGREGATES:
        raise ar.ConfigError(f"activation_account_pql_aggregate must be sum or max, got {aggregate!r}")
    if rule == "min_users":
        threshold = resolved["activation_account_min_users"]
        number = _number(threshold)
        if number is None or number != int(number) or number < 1:
            raise ar.ConfigError(
                f"activation_account_min_users must be a whole number >= 1 for rule min_users, got {threshold!r}"
            )
        resolved["threshold"] = int(number)
    elif rule == "min_share":
        threshold = resolved["activation_account_min_share"]
        number = _number(threshold)
        if number is None or not 0 < number <= 1:
            raise ar.ConfigError(
                f"activation_account_min_share must be a share in (0, 1] for rule min_share, got {threshold!r}"
            )
        resolved["threshold"] = number
    else:
        resolved["threshold"] = None
    return resolved


def _number(value):
    """A finite int/float (not bool) as float; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# ------------------------------------------------------------------------ rule


def _rule_holds(rule, threshold, reached, members):
    if rule == "any":
        return reached >= 1
    if rule == "all":
        return reached == members
    if rule == "min_users":
        return reached >= threshold
    return reached / members >= threshold


def rule_met_at(created, goal_times, rule, threshold):
    """Earliest goal time at which the rule holds; None when never.

    ``created``: the members' ``created_at``; ``goal_times``: the members' goal times
    (one per member that has one)."""
    for t in sorted(set(goal_times)):
        members = sum(1 for c in created if c <= t)
        reached = sum(1 for g in goal_times if g <= t)
        if _rule_holds(rule, threshold, reached, members):
            return t
    return None


# ------------------------------------------------------------------------ PQL


def _band_and_rank(score, bands):
    """(band dict or None, rank 1..k by min_score or 0) for a raw score."""
    band = ar.pick_band(score, bands)
    if band is None:
        return None, 0
    return band, bands.index(band) + 1


def _score_on(points, day):
    """A user's rolling score on ``day`` from its (valid_from, score) change points."""
    score = 0.0
    for valid_from, value in points:
        if valid_from <= day:
            score = value
        else:
            break
    return score


def _account_score(member_points, day, aggregate):
    scores = [_score_on(points, day) for points in member_points]
    if aggregate == "sum":
        return math.fsum(scores)
    return max(scores)


def _account_history(account_id, member_points, aggregate, bands, as_of):
    dates = sorted({valid_from for points in member_points for valid_from, _ in points})
    rows = []
    for day in dates:
        score = _account_score(member_points, day, aggregate)
        band, rank = _band_and_rank(score, bands)
        if rows and rows[-1]["_rank"] == rank and abs(rows[-1]["pql_score"] - score) <= SCORE_TOLERANCE:
            continue
        rows.append({
            "account_id": account_id,
            "valid_from": day,
            "valid_to": None,
            "pql_score": score,
            "pql_band": band["band"] if band else None,
            "pql_action": band.get("action") if band else None,
            "pql_band_rank": rank,
            "is_current": False,
            "as_of": as_of,
            "_rank": rank,
        })
    for current, following in zip(rows, rows[1:]):
        current["valid_to"] = following["valid_from"]
    if rows:
        rows[-1]["is_current"] = True
    return rows


def handoff_id(account_id, to_band, crossed_on):
    key = f"{account_id}|{to_band}|{crossed_on.isoformat()}"
    return hashlib.md5(key.encode("utf-8")).hexdigest()


def _account_handoffs(history, bands):
    lowest = bands[0]["band"] if bands else None
    out = []
    previous = None
    for row in history:
        from_rank = max(previous["_rank"], 1) if previous else 1
        from_band = previous["pql_band"] if previous else lowest
        previous = row
        if row["_rank"] <= from_rank:
            continue
        out.append({
            "handoff_id": handoff_id(row["account_id"], row["pql_band"], row["valid_from"]),
            "account_id": row["account_id"],
            "crossed_on": row["valid_from"],
            "from_band": from_band,
            "to_band": row["pql_band"],
            "pql_action": row["pql_action"],
            "pql_score": row["pql_score"],
            "as_of": row["as_of"],
        })
    return out


def _public(row):
    return {k: v for k, v in row.items() if not k.startswith("_")}


# ------------------------------------------------------------------------ compute


def _goals(ctx):
    """[(goal_type, goal_id, milestone_level, member goal time function)]."""
    goals = [("activation", "activation", None, lambda user: user["activated_at"] if user["is_activated"] else None)]
    for mid, milestone in ctx["config"].items():
        def time_of(user, mid=mid):
            row = ctx["reach"][user["user_id"]][mid]
            return row["reached_at"] if row["is_within_timeframe"] else None
        goals.append(("milestone", mid, milestone.level, time_of))
    return goals


def compute_accounts(users, events, milestones, requirements, vars=None):
    """Compute the four account marts; returns mart name (without ``activation_``) -> rows."""
    settings = _resolve_account_vars(vars)
    ctx = bi._prepare(users, events, milestones, requirements or [], vars)
    rule, threshold = settings["activation_account_activation_rule"], settings["threshold"]
    aggregate = settings["activation_account_pql_aggregate"]
    bands = sorted(ctx["bi"]["activation_pql_bands"], key=lambda b: b["min_score"])
    as_of = ctx["as_of"]
    empty = {name: [] for name in ACCOUNT_MART_KEYS}
    if as_of is None:
        return empty

    accounts = {}
    for user in ctx["users"]:
        if user["account_id"] is not None and user["created_at"] <= as_of:
            accounts.setdefault(user["account_id"], []).append(user)
    accounts = dict(sorted(accounts.items()))

    points = {}
    for row in bi._pql_history(ctx):
        points.setdefault(row["user_id"], []).append((row["valid_from"], row["pql_score"]))

    goals = _goals(ctx)
    grain = ctx["grain"]
    account_rows, history_rows, handoff_rows, completion_members = [], [], [], {}
    for account_id, members in accounts.items():
        created = [u["created_at"] for u in members]
        met = {}
        for goal_type, goal_id, _, time_of in goals:
            times = [t for t in (time_of(u) for u in members) if t is not None]
            met[(goal_type, goal_id)] = rule_met_at(created, times, rule, threshold)
        account_created_at = min(created)
        activated = sum(1 for u in members if u["is_activated"])
        member_points = [sorted(points.get(u["user_id"], [])) for u in members]
        share_lower, share_upper = bi.wilson_interval(activated, len(members))
        activated_at = met[("activation", "activation")]
        account = {
            "account_id": account_id,
            "account_created_at": account_created_at,
            "cohort_date": ar.cohort_date(account_created_at, grain),
            "users": len(members),
            "activated_users": activated,
            "activated_user_share": activated / len(members),
            "activated_user_share_ci_lower": share_lower,
            "activated_user_share_ci_upper": share_upper,
            "is_activated": activated_at is not None,
            "activated_at": activated_at,
            "activation_rule": rule,
            "as_of": as_of,
        }
        account_rows.append(account)
        completion_members.setdefault(account["cohort_date"], []).append((account, met))

        history = _account_history(account_id, member_points, aggregate, bands, as_of)
        handoff_rows.extend(_account_handoffs(history, bands))
        history_rows.extend(_public(row) for row in history)

    completion_rows = []
    for cohort, cohort_accounts in completion_members.items():
        for goal_type, goal_id, level, _ in goals:
            for window_name, days in ACCOUNT_WINDOWS:
                window = dt.timedelta(days=days)
                eligible = [(a, m) for a, m in cohort_accounts if a["account_created_at"] + window <= as_of]
                completed = [
                    a for a, m in eligible
                    if m[(goal_type, goal_id)] is not None and m[(goal_type, goal_id)] <= a["account_created_at"] + window
                ]
                lower, upper = bi.wilson_interval(len(completed), len(eligible))
                completion_rows.append({
                    "cohort_date": cohort,
                    "goal_type": goal_type,
                    "goal_id": goal_id,
                    "milestone_level": level,
                    "window_name": window_name,
                    "window_days": days,
                    "cohort_accounts": len(cohort_accounts),
                    "eligible_accounts": len(eligible),
                    "completed_accounts": len(completed),
                    "completion_rate": len(completed) / len(eligible) if eligible else None,
                    "completion_rate_ci_lower": lower,
                    "completion_rate_ci_upper": upper,
                    "is_mature": len(eligible) == len(cohort_accounts),
                    "as_of": as_of,
                })

    result = {
        "accounts": account_rows,
        "account_pql_score_history": history_rows,
        "account_pql_handoffs": handoff_rows,
        "account_cohort_completion": completion_rows,
    }
    for name, key in ACCOUNT_MART_KEYS.items():
        result[name] = sorted(result[name], key=lambda row, key=key: tuple(row[k] for k in key))
    return result
