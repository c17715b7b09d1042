"""Reference implementation of the milestone activation rules (SPEC sections 1-4).

Pure standard-library Python. ``compute`` takes the raw tables as lists of dicts
(raw column names, text values as ``str``/``None``, typed configuration columns as
``int``/``float``/``bool``/``None``) and returns the staging counts, the quarantine
rows and the two marts ``activation_user_milestones`` and ``activation_users``.

Readings chosen where the specification and the contract are silent:

* Trimming removes ASCII whitespace (space, tab, CR, LF, VT, FF) on both sides.
* Event names (events, milestones, requirements and the event names in vars):
  lower-cased with Python's ``str.lower``; a character is kept when its Unicode
  general category is a letter (L*), a combining mark (M*) or a number (N*), so
  ``"Café Opened"`` -> ``café_opened``, ``"検索"`` -> ``検索`` and Devanagari vowel
  signs stay with their word; every other character (punctuation, symbols, emoji,
  any space, ``_`` itself) separates. No Unicode normalisation (NFC) is applied:
  a decomposed ``e`` + combining accent stays two characters and differs from the
  composed ``é``.
* Timestamps: the separator must be ``T`` or a single space, the offset
  (``Z``, ``+HH:MM``, ``+HHMM``, ``+HH`` and the ``-`` forms) may only follow a time
  of day and must touch it (no space before it); ``T`` and ``Z`` are upper case;
  offset hours must be 00-23 and minutes 00-59; seconds 00-59 (no leap second).
* ``plan_tier``, ``install_source`` and passthrough columns are carried unchanged
  (not trimmed). Among duplicate users with equal contract sort keys the
  passthrough columns (``or ''``, in the configured order) break the tie.
* ``properties`` must be RFC 8259 JSON: ``NaN``/``Infinity`` are rejected.
* Property filter: ``property_key`` is trimmed (blank means no filter);
  ``property_value`` is compared unchanged; a null ``property_value`` never
  matches. A nested object/array value compares as its compact JSON text.
* A requirement whose event name normalises to null never qualifies an event.
* A milestone whose ``timeframe`` is set uses it and ignores ``timeframe_days``.
  A timeframe over 3650 days, a weight that is not a finite number >= 0 and a level
  outside 0..1000 raise ``ConfigError``.
* Gate depth counts hops: ``a -> b`` is depth 1; more than 10 hops is an error.
* A milestone with a null ``level`` is ignored when choosing the lowest/highest
  level; a null ``is_activation`` is false.
* With no milestone configured at all nobody is activated.
* ``activation_first_value_milestone`` naming an unknown milestone, an
  unparseable ``activation_as_of``, an unknown score basis or cohort grain raise
  ``ConfigError``.
* A var present with value ``None`` takes its default.
* ``activation_start_date`` (default unset) is a ``datetime.date`` (not a
  ``datetime.datetime``) or a ``'YYYY-MM-DD'`` string (ASCII digits, surrounding
  whitespace trimmed); the start is that date at 00:00:00 UTC. Any other value raises
  ``ConfigError``. Every raw event row whose timestamp parses (``parse_timestamp``)
  to a time strictly before the start is set aside before anything else reads the
  events: it is not quarantined, deduplicated, staged, used for ``as_of`` or by the
  milestones; ``events_before_start_count`` counts those rows. A row whose
  timestamp does not parse is kept. Users are unaffected.
* Output rows are ordered by ``user_id`` (then ``milestone_id``); quarantine rows
  keep the order of the raw rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field

__all__ = [
    "ConfigError",
    "DEFAULT_BANDS",
    "compute",
    "normalise_event_name",
    "parse_start_date",
    "parse_timestamp",
    "parse_timeframe",
]

DEFAULT_BANDS = [
    {"status": "inactive", "min_score": 0, "action": "re-engagement nudges"},
    {"status": "engaged", "min_score": 31, "action": "monitor and nurture"},
    {"status": "pql", "min_score": 70, "action": "sales handoff"},
]

DEFAULT_VARS = {
    "activation_as_of": None,
    "activation_future_tolerance_hours": 24,
    "activation_first_value_milestone": None,
    "activation_status_bands": DEFAULT_BANDS,
    "activation_status_score_basis": "pct",
    "activation_cohort_grain": "week",
    "activation_user_passthrough_columns": [],
    "activation_start_date": None,
}

MAX_GATE_DEPTH = 10

_WHITESPACE = " \t\n\r\f\v"


class ConfigError(Exception):
    """Invalid milestone configuration or vars; the message names the problem."""


# --------------------------------------------------------------------------- text


def clean_text(value):
    """Trim a text id; empty -> None."""
    if value is None:
        return None
    text = str(value).strip(_WHITESPACE)
    return text or None


def _is_name_character(char):
    """Letters (L*), combining marks (M*) and numbers (N*) of every script."""
    return unicodedata.category(char)[0] in "LMN"


def normalise_event_name(value):
    """Trim, lower-case (``str.lower``), every maximal run of characters that are not
    letters, marks or numbers (Unicode general category L*, M*, N*; ``_`` included)
    -> '_', strip '_'; empty -> None. No NFC/NFKC normalisation."""
    if value is None:
        return None
    text = str(value).strip(_WHITESPACE).lower()
    parts, in_separator = [], False
    for char in text:
        if _is_name_character(char):
            parts.append(char)
            in_separator = False
        elif not in_separator:
            parts.append("_")
            in_separator = True
    text = "".join(parts).strip("_")
    return text or None


# --------------------------------------------------------------------- timestamps

_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,6}))?"
    r"(?:(?P<zulu>Z)|(?P<sign>[+-])(?P<off_h>[0-9]{2})(?::?(?P<off_m>[0-9]{2}))?)?)?"
)


def parse_timestamp(value):
    """Parse a contract timestamp to a naive UTC datetime; None when invalid."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value
    match = _TIMESTAMP.fullmatch(str(value).strip(_WHITESPACE))
    if match is None:
        return None
    parts = match.groupdict()
    try:
        parsed = dt.datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int((parts["fraction"] or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if parts["sign"]:
        off_h, off_m = int(parts["off_h"]), int(parts["off_m"] or 0)
        if off_h > 23 or off_m > 59:
            return None
        offset = dt.timedelta(hours=off_h, minutes=off_m)
        try:
            parsed = parsed - offset if parts["sign"] == "+" else parsed + offset
        except OverflowError:
            return None
    return parsed


# --------------------------------------------------------------------- properties


class _JsonNumber(str):
    """A JSON number kept as the text it was written with."""


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def parse_properties(text):
    """Return (is_valid, parsed). Null is valid; non-null must be JSON text."""
    if text is None:
        return True, None
    try:
        return True, json.loads(
            text,
            parse_int=_JsonNumber,
            parse_float=_JsonNumber,
            parse_constant=_reject_constant,
        )
    except (ValueError, TypeError):
        return False, None


def _json_text(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, _JsonNumber):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return "{" + ",".join(
        json.dumps(k, ensure_ascii=False) + ":" + _json_text(v) for k, v in value.items()
    ) + "}"


def property_as_text(parsed, key):
    """Top-level property ``key`` as text; None for JSON null or a missing key."""
    if not isinstance(parsed, dict) or key not in parsed:
        return None
    value = parsed[key]
    if value is None:
        return None
    if isinstance(value, _JsonNumber):
        return str(value)
    if isinstance(value, str):
        return value
    return _json_text(value)


# ------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class Requirement:
    path_id: int
    event_name: str | None
    min_count: int
    property_key: str | None = None
    property_value: str | None = None


@dataclass
class Milestone:
    milestone_id: str
    level: int | None
    weight: float
    timeframe: dt.timedelta
    is_activation: bool
    gate: str | None
    triggered_by_event: str | None = None
    requirements: list = field(default_factory=list)


_TIMEFRAME = re.compile(r"([0-9]+)([dh])", re.IGNORECASE)


MAX_TIMEFRAME = dt.timedelta(days=3650)
LEVEL_RANGE = (0, 1000)


def parse_timeframe(milestone_id, timeframe, timeframe_days):
    """'Nd' -> N days, 'Nh' -> N hours; blank -> timeframe_days (>= 1) days. At most
    3650 days (87600 hours) either way."""
    result = _parse_timeframe(milestone_id, timeframe, timeframe_days)
    if result > MAX_TIMEFRAME:
        raise ConfigError(f"milestone '{milestone_id}': timeframe longer than 3650 days")
    return result


def _parse_timeframe(milestone_id, timeframe, timeframe_days):
    text = None if timeframe is None else str(timeframe).strip(_WHITESPACE)
    if text:
        match = _TIMEFRAME.fullmatch(text)
        if match is None or int(match.group(1)) < 1:
            raise ConfigError(
                f"milestone '{milestone_id}': unparseable timeframe {timeframe!r}"
            )
        amount = int(match.group(1))
        if match.group(2).lower() == "d":
            return dt.timedelta(days=amount)
        return dt.timedelta(hours=amount)
    if timeframe_days is None or isinstance(timeframe_days, bool):
        raise ConfigError(
            f"milestone '{milestone_id}': no timeframe and no timeframe_days"
        )
    days = _as_int(timeframe_days)
    if days is None or days < 1:
        raise ConfigError(
            f"milestone '{milestone_id}': timeframe_days must be >= 1, got {timeframe_days!r}"
        )
    return dt.timedelta(days=days)


def _as_int(value):
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number != int(number):
        return None
    return int(number)


def _as_float(value):
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _as_bool(value):
    if isinstance(value, str):
        return value.strip(_WHITESPACE).lower() in ("true", "t", "1", "yes", "y")
    return bool(value)


def _property_value_text(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_milestones(milestones, requirements):
    """Validate the configuration; return milestones keyed and ordered by id."""
    config = {}
    for row in milestones:
        mid = clean_text(row.get("milestone_id"))
        if mid is None:
            raise ConfigError(
                f"milestone with definition {row.get('definition')!r}: milestone_id is null"
            )
        if mid in config:
            raise ConfigError(f"milestone '{mid}': duplicate milestone_id")
        weight = _as_float(row.get("weight"))
        if weight is None or not math.isfinite(weight) or weight < 0:
            raise ConfigError(
                f"milestone '{mid}': weight must be a number >= 0, got {row.get('weight')!r}"
            )
        level = _as_int(row.get("level"))
        if level is not None and not LEVEL_RANGE[0] <= level <= LEVEL_RANGE[1]:
            raise ConfigError(f"milestone '{mid}': level {level} outside 0 to 1000")
        config[mid] = Milestone(
            milestone_id=mid,
            level=level,
            weight=weight,
            timeframe=parse_timeframe(mid, row.get("timeframe"), row.get("timeframe_days")),
            is_activation=_as_bool(row.get("is_activation")),
            gate=clean_text(row.get("requires_milestone_id")),
            triggered_by_event=normalise_event_name(row.get("triggered_by_event")),
        )

    for row in requirements or []:
        mid = clean_text(row.get("milestone_id"))
        if mid not in config:
            raise ConfigError(f"requirement for unknown milestone '{mid}'")
        min_count = _as_int(row.get("min_count"))
        if min_count is None or min_count < 1:
            raise ConfigError(
                f"milestone '{mid}': min_count must be >= 1, got {row.get('min_count')!r}"
            )
        path_id = _as_int(row.get("path_id"))
        key = clean_text(row.get("property_key"))
        requirement = Requirement(
            path_id=1 if path_id is None else path_id,
            event_name=normalise_event_name(row.get("event_name")),
            min_count=min_count,
            property_key=key,
            property_value=_property_value_text(row.get("property_value")) if key else None,
        )
        if requirement not in config[mid].requirements:
            config[mid].requirements.append(requirement)

    for mid, milestone in config.items():
        if not milestone.requirements:
            if milestone.triggered_by_event is None:
                raise ConfigError(
                    f"milestone '{mid}': neither requirement rows nor triggered_by_event"
                )
            milestone.requirements.append(Requirement(1, milestone.triggered_by_event, 1))

    for mid, milestone in config.items():
        if milestone.gate is not None and milestone.gate not in config:
            raise ConfigError(f"milestone '{mid}': unknown gate '{milestone.gate}'")
    for mid in config:
        gate_depth(mid, config)
    return dict(sorted(config.items()))


def gate_depth(milestone_id, config):
    """Number of gate hops below a milestone; cycles and depth > 10 raise."""
    seen = [milestone_id]
    current = config[milestone_id].gate
    while current is not None:
        if current in seen:
            raise ConfigError(
                f"milestone '{milestone_id}': gate cycle {' -> '.join(seen + [current])}"
            )
        seen.append(current)
        if len(seen) - 1 > MAX_GATE_DEPTH:
            raise ConfigError(
                f"milestone '{milestone_id}': gate chain deeper than {MAX_GATE_DEPTH}"
            )
        current = config[current].gate
    return len(seen) - 1


def resolve_vars(vars):
    resolved = dict(DEFAULT_VARS)
    for key, value in (vars or {}).items():
        if value is not None:
            resolved[key] = value
    if resolved["activation_status_score_basis"] not in ("pct", "score"):
        raise ConfigError(
            f"activation_status_score_basis must be 'pct' or 'score', "
            f"got {resolved['activation_status_score_basis']!r}"
        )
    if resolved["activation_cohort_grain"] not in ("day", "week", "month"):
        raise ConfigError(
            f"activation_cohort_grain must be day, week or month, "
            f"got {resolved['activation_cohort_grain']!r}"
        )
    resolved["activation_start_date"] = parse_start_date(resolved["activation_start_date"])
    return resolved


_START_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_start_date(value):
    """``activation_start_date`` -> ``datetime.date`` (None when unset). A date, or a
    'YYYY-MM-DD' string with surrounding whitespace allowed; anything else raises."""
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        match = _START_DATE.fullmatch(value.strip(_WHITESPACE))
        if match is not None:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                pass
    raise ConfigError(
        f"activation_start_date must be a date written YYYY-MM-DD, got {value!r}"
    )


def start_instant(start_date):
    """The start date at 00:00:00 UTC as a naive UTC datetime (None when unset)."""
    if start_date is None:
        return None
    return dt.datetime.combine(start_date, dt.time())


# ------------------------------------------------------------------------ staging


def _event_timestamp_raw(row):
    if "event_timestamp" in row:
        return row["event_timestamp"]
    return row.get("timestamp")


def split_events_at_start(events, start):
    """Return (kept raw rows, number set aside): a row is set aside when its raw
    timestamp parses to a time strictly before ``start``; unparseable rows are kept."""
    if start is None:
        return list(events), 0
    kept = []
    for row in events:
        event_at = parse_timestamp(_event_timestamp_raw(row))
        if event_at is None or event_at >= start:
            kept.append(row)
    return kept, len(events) - len(kept)


def resolve_as_of(events, as_of_var):
    """The var when set, otherwise the greatest parseable raw event timestamp."""
    if as_of_var is not None:
        parsed = parse_timestamp(as_of_var)
        if parsed is None:
            raise ConfigError(f"activation_as_of is not a valid timestamp: {as_of_var!r}")
        return parsed
    parsed = [parse_timestamp(_event_timestamp_raw(row)) for row in events]
    parsed = [ts for ts in parsed if ts is not None]
    return max(parsed) if parsed else None


def quarantine_users(users, passthrough):
    """Return (staged users keyed by user_id, quarantine rows)."""
    quarantine = []
    candidates = {}
    for index, row in enumerate(users):
        user_id = clean_text(row.get("user_id"))
        created_at = parse_timestamp(row.get("created_at"))
        if user_id is None:
            quarantine.append((index, {"user_id": None, "reason": "missing_user_id"}))
            continue
        if created_at is None:
            quarantine.append((index, {"user_id": user_id, "reason": "invalid_created_at"}))
            continue
        user = {
            "user_id": user_id,
            "account_id": clean_text(row.get("account_id")),
            "created_at": created_at,
            "plan_tier": row.get("plan_tier"),
            "install_source": row.get("install_source"),
            "inviter_user_id": clean_text(row.get("inviter_user_id")),
        }
        for column in passthrough:
            user[column] = row.get(column)
        candidates.setdefault(user_id, []).append((index, user))

    staged = {}
    for user_id, copies in candidates.items():
        copies.sort(key=lambda pair: _user_keep_key(pair[1], passthrough))
        staged[user_id] = copies[0][1]
        for index, _ in copies[1:]:
            quarantine.append((index, {"user_id": user_id, "reason": "duplicate_user_id"}))
    quarantine.sort(key=lambda pair: pair[0])
    return dict(sorted(staged.items())), [row for _, row in quarantine]


def _user_keep_key(user, passthrough):
    return (
        user["created_at"],
        user["account_id"] or "",
        user["plan_tier"] or "",
        user["install_source"] or "",
        user["inviter_user_id"] or "",
    ) + tuple(user[column] or "" for column in passthrough)


def event_quarantine_reason(event, staged_user_ids, as_of, tolerance):
    """First matching quarantine reason of a cleaned event, or None."""
    if event["user_id"] is None:
        return "missing_user_id"
    if event["event_name"] is None:
        return "missing_event_name"
    if event["event_at"] is None:
        return "invalid_timestamp"
    if as_of is not None and event["event_at"] > as_of + tolerance:
        return "future_timestamp"
    if not event["properties_valid"]:
        return "invalid_properties_json"
    if event["user_id"] not in staged_user_ids:
        return "unknown_user"
    return None


def quarantine_events(events, staged_user_ids, as_of, tolerance):
    """Return (usable cleaned events, quarantine rows)."""
    usable, quarantine = [], []
    for row in events:
        valid, parsed = parse_properties(row.get("properties"))
        event = {
            "event_id": clean_text(row.get("event_id")),
            "user_id": clean_text(row.get("user_id")),
            "event_name": normalise_event_name(row.get("event_name")),
            "event_at": parse_timestamp(_event_timestamp_raw(row)),
            "properties": row.get("properties"),
            "properties_valid": valid,
            "properties_parsed": parsed,
        }
        reason = event_quarantine_reason(event, staged_user_ids, as_of, tolerance)
        if reason is None:
            usable.append(event)
        else:
            quarantine.append(
                {
                    "event_id": event["event_id"],
                    "user_id": event["user_id"],
                    "event_name": event["event_name"],
                    "reason": reason,
                }
            )
    return usable, quarantine


def dedup_events(events):
    """Keep one copy per event_id, or per content when event_id is null."""
    groups = {}
    for event in events:
        if event["event_id"] is not None:
            key = ("id", event["event_id"])
        else:
            key = (
                "content",
                event["user_id"],
                event["event_name"],
                event["event_at"],
                event["properties"],
            )
        groups.setdefault(key, []).append(event)
    kept = []
    for copies in groups.values():
        kept.append(
            min(
                copies,
                key=lambda e: (e["event_at"], e["user_id"], e["event_name"], e["properties"] or ""),
            )
        )
    kept.sort(key=lambda e: (e["user_id"], e["event_at"], e["event_id"] or "", e["event_name"]))
    return kept, len(events) - len(kept)


# ------------------------------------------------------------------------- engine


def event_qualifies(event, requirement):
    if event["event_name"] != requirement.event_name:
        return False
    if requirement.property_key is None:
        return True
    if requirement.property_value is None:
        return False
    return property_as_text(event["properties_parsed"], requirement.property_key) == (
        requirement.property_value
    )


def requirement_time(user, user_events, requirement):
    """Time of the k-th qualifying event at or after signup, or None."""
    times = sorted(
        e["event_at"]
        for e in user_events
        if e["event_at"] >= user["created_at"] and event_qualifies(e, requirement)
    )
    if len(times) < requirement.min_count:
        return None
    return times[requirement.min_count - 1]


def own_reach(user, user_events, milestone):
    """(reached_at, path_id) ignoring the gate: AND within a path, OR across paths."""
    paths = {}
    for requirement in milestone.requirements:
        paths.setdefault(requirement.path_id, []).append(requirement)
    best = None
    for path_id in sorted(paths):
        times = [requirement_time(user, user_events, r) for r in paths[path_id]]
        if any(t is None for t in times):
            continue
        path_time = max(times)
        if best is None or path_time < best[0]:
            best = (path_time, path_id)
    return best if best is not None else (None, None)


def milestone_reaches(user, user_events, config):
    """milestone_id -> (reached_at, reached_path_id) with gates applied."""
    own = {mid: own_reach(user, user_events, m) for mid, m in config.items()}
    gated = {}

    def reach(mid):
        if mid in gated:
            return gated[mid]
        reached_at, path_id = own[mid]
        gate = config[mid].gate
        if reached_at is not None and gate is not None:
            gate_at, _ = reach(gate)
            if gate_at is None:
                reached_at, path_id = None, None
            else:
                reached_at = max(reached_at, gate_at)
        gated[mid] = (reached_at, path_id)
        return gated[mid]

    for mid in config:
        reach(mid)
    return gated


def user_milestone_row(user, milestone, reached_at, path_id, as_of):
    deadline_at = user["created_at"] + milestone.timeframe
    is_reached = reached_at is not None
    within = is_reached and reached_at <= deadline_at
    seconds = (reached_at - user["created_at"]).total_seconds() if is_reached else None
    return {
        "user_id": user["user_id"],
        "milestone_id": milestone.milestone_id,
        "milestone_level": milestone.level,
        "milestone_weight": milestone.weight,
        "is_activation_milestone": milestone.is_activation,
        "user_created_at": user["created_at"],
        "timeframe_seconds": int(milestone.timeframe.total_seconds()),
        "deadline_at": deadline_at,
        "is_reached": is_reached,
        "reached_at": reached_at,
        "reached_path_id": path_id,
        "is_within_timeframe": within,
        "is_late": is_reached and not within,
        "time_to_reach_seconds": seconds,
        "time_to_reach_hours": None if seconds is None else seconds / 3600.0,
        "time_to_reach_days": None if seconds is None else seconds / 86400.0,
        "is_window_open": None if as_of is None else deadline_at > as_of,
        "as_of": as_of,
    }


# ------------------------------------------------------------------- user summary


def activation_milestone_ids(config):
    """Flagged milestones, or every milestone at the highest level."""
    flagged = [mid for mid, m in config.items() if m.is_activation]
    if flagged:
        return flagged
    levels = [m.level for m in config.values() if m.level is not None]
    if not levels:
        return []
    return [mid for mid, m in config.items() if m.level == max(levels)]


def first_value_milestone_id(config, var_value):
    if var_value is not None:
        mid = clean_text(var_value)
        if mid not in config:
            raise ConfigError(f"activation_first_value_milestone: unknown milestone '{mid}'")
        return mid
    leveled = [(m.level, mid) for mid, m in config.items() if m.level is not None]
    if leveled:
        return min(leveled)[1]
    return min(config) if config else None


def pick_band(value, bands):
    """Band with the greatest min_score <= value; None when none or value is None."""
    if value is None:
        return None
    best = None
    for band in bands:
        if band["min_score"] <= value and (best is None or band["min_score"] > best["min_score"]):
            best = band
    return best


def cohort_date(created_at, grain):
    day = created_at.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def summarise_user(user, rows, settings, passthrough):
    by_id = {row["milestone_id"]: row for row in rows}
    within = [row for row in rows if row["is_within_timeframe"]]
    activation_ids = settings["activation_ids"]
    is_activated = bool(activation_ids) and all(
        by_id[mid]["is_within_timeframe"] for mid in activation_ids
    )
    activated_at = max(by_id[mid]["reached_at"] for mid in activation_ids) if is_activated else None

    fv_id = settings["first_value_id"]
    fv_at = by_id[fv_id]["reached_at"] if fv_id is not None else None
    ttfv = (fv_at - user["created_at"]).total_seconds() if fv_at is not None else None

    score = float(sum(row["milestone_weight"] for row in within))
    total = settings["total_weight"]
    score_pct = 100.0 * score / total if total > 0 else None
    basis = score_pct if settings["score_basis"] == "pct" else score
    band = pick_band(basis, settings["bands"])
    levels = [row["milestone_level"] for row in within if row["milestone_level"] is not None]

    summary = {
        "user_id": user["user_id"],
        "account_id": user["account_id"],
        "created_at": user["created_at"],
        "cohort_date": cohort_date(user["created_at"], settings["grain"]),
        "plan_tier": user["plan_tier"],
        "install_source": user["install_source"],
        "inviter_user_id": user["inviter_user_id"],
        "is_invited_signup": user["inviter_user_id"] is not None,
        "signup_type": "invited" if user["inviter_user_id"] is not None else "direct",
    }
    for column in passthrough:
        summary[column] = user[column]
    summary.update(
        {
            "milestones_reached": len(within),
            "milestones_reached_late": sum(1 for row in rows if row["is_late"]),
            "highest_level_reached": max(levels) if levels else None,
            "is_activated": is_activated,
            "activated_at": activated_at,
            "first_value_milestone_id": fv_id,
            "first_value_at": fv_at,
            "time_to_first_value_seconds": ttfv,
            "time_to_first_value_hours": None if ttfv is None else ttfv / 3600.0,
            "activation_score": score,
            "activation_score_pct": score_pct,
            "status": band["status"] if band else None,
            "status_action": band.get("action") if band else None,
            "as_of": settings["as_of"],
        }
    )
    return summary


# ------------------------------------------------------------------------ compute


def compute(users, events, milestones, requirements, vars=None):
    """Run staging, quarantine, dedup, the reach engine and the per-user summary."""
    settings = resolve_vars(vars)
    passthrough = list(settings["activation_user_passthrough_columns"])
    config = load_milestones(milestones, requirements)
    first_value_id = first_value_milestone_id(config, settings["activation_first_value_milestone"])

    events, events_before_start = split_events_at_start(
        events, start_instant(settings["activation_start_date"])
    )
    as_of = resolve_as_of(events, settings["activation_as_of"])
    tolerance = dt.timedelta(hours=float(settings["activation_future_tolerance_hours"]))

    staged_users, users_quarantine = quarantine_users(users, passthrough)
    usable, events_quarantine = quarantine_events(events, set(staged_users), as_of, tolerance)
    staged_events, duplicates_removed = dedup_events(usable)

    events_by_user = {}
    for event in staged_events:
        events_by_user.setdefault(event["user_id"], []).append(event)

    summary_settings = {
        "activation_ids": activation_milestone_ids(config),
        "first_value_id": first_value_id,
        "total_weight": float(sum(m.weight for m in config.values())),
        "score_basis": settings["activation_status_score_basis"],
        "bands": list(settings["activation_status_bands"]),
        "grain": settings["activation_cohort_grain"],
        "as_of": as_of,
    }

    user_milestones, user_rows = [], []
    for user_id, user in staged_users.items():
        reaches = milestone_reaches(user, events_by_user.get(user_id, []), config)
        rows = [
            user_milestone_row(user, config[mid], *reaches[mid], as_of) for mid in config
        ]
        user_milestones.extend(rows)
        user_rows.append(summarise_user(user, rows, summary_settings, passthrough))

    return {
        "as_of": as_of,
        "users_quarantine": users_quarantine,
        "events_quarantine": events_quarantine,
        "staged_users_count": len(staged_users),
        "staged_events_count": len(staged_events),
        "duplicate_events_removed": duplicates_removed,
        "events_before_start_count": events_before_start,
        "user_milestones": user_milestones,
        "users": user_rows,
    }
