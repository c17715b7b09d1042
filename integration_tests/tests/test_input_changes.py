"""One changed input after an incremental history: exact, or a stop naming the cause (SPEC §8).

The history: the generator's data (late rows and duplicates, `plan_batches` of
test_incremental.py) plus rows that make each change bite — events a few hours and
days after `as_of` (usable or future-quarantined depending on `as_of` and the
tolerance), events shortly before some users' `created_at`, and events of a user id
that has no users row yet (quarantined `unknown_user`) — fed in batches with plain
`dbt run`s. Then ONE input changes (a raw table or a var) and a plain `dbt run` runs.
Either it succeeds and every table in the marts schema equals a `--full-refresh` on
the same inputs ("exact"), or it fails with a message holding `--full-refresh` and a
word naming the change ("stopped"). Anything else — a run that succeeds with
different marts, or a failure that does not say what changed and how to recover —
fails. Every test prints its outcome (`pytest -rA` shows it). A change of
`activation_lookback_days` only changes how much is re-read: with the next load's
events (later than every stored usable event) it must be exact.

On DuckDB the history is built once and the database file copied back before each
change; there the history is also checked against a full refresh (so a failure below
comes from the change), and each change against that full refresh (it must change
the marts, or the test could not fail). Elsewhere the history (two loads) is built
again for each change. ACTIVATION_INPUT_CHANGES (comma-separated ids, or `all`)
picks the changes; default all on DuckDB and a few on PostgreSQL and Spark.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import random
import re
import shutil
from dataclasses import dataclass

import pytest
from engines import get_engine_name
from harness import RAW_COLUMNS, BuildFailed, table_differences
from reference.activation_reference import parse_timestamp
from test_incremental import BOOKKEEPING_COLUMNS, assert_same_tables, generated_dataset, plan_batches

ENGINE = get_engine_name()
DATASET_SEED = 51
DATASET_SIZE = {"users": 40, "events_per_user": 20, "days": 30}
ADDED_USER_ID = "u_signed_up_late"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def fmt(value):
    return value.strftime(TIMESTAMP_FORMAT)


# --------------------------------------------------------------------------- data


def valid_users(dataset):
    """Users rows the package stages (an id held once, a parseable created_at), by id."""
    counts = {}
    for row in dataset.users:
        counts[row["user_id"]] = counts.get(row["user_id"], 0) + 1
    return sorted((row for row in dataset.users
                   if row["user_id"] and counts[row["user_id"]] == 1 and parse_timestamp(row["created_at"])),
                  key=lambda row: row["user_id"])


def events_of(dataset, user_id):
    return [row for row in dataset.events
            if row["user_id"] == user_id and parse_timestamp(row["event_timestamp"]) is not None]


def change_dataset():
    """The generator's data with the rows the changes need (see the module docstring)."""
    def build(workdir):
        dataset, vars = generated_dataset(workdir, DATASET_SEED, **DATASET_SIZE)
        as_of = parse_timestamp(vars["activation_as_of"])
        users = valid_users(dataset)
        extra = []
        # After as_of: +10 h (usable with the default 24 h tolerance, future with 6 h), +30 h
        # (future with 24 h, usable with 48 h), +72 h (future until as_of moves forward).
        for n, (hours, name, props) in enumerate([
                (10, "comment_added", None), (10, "Login", None), (30, "paid_feature_used", None),
                (30, "invite_sent", None), (72, "template_imported", None), (72, "Login", None)]):
            user_id = users[n % 4]["user_id"]
            extra.append({"event_id": f"evt_after_as_of_{n}", "user_id": user_id, "event_name": name,
                          "event_timestamp": fmt(as_of + dt.timedelta(hours=hours, minutes=n)),
                          "properties": props})
        # Before signup (not counted until created_at moves earlier): the users created last.
        for n, row in enumerate(pre_signup_users(users)):
            created = parse_timestamp(row["created_at"])
            for k, name in enumerate(["Login", "onboarding_step", "invite_sent"]):
                extra.append({"event_id": f"evt_before_signup_{n}_{k}", "user_id": row["user_id"],
                              "event_name": name,
                              "event_timestamp": fmt(created - dt.timedelta(hours=12 - k)),
                              "properties": '{"step": "finish"}' if name == "onboarding_step" else None})
        # A user whose users row arrives later (unknown_user until then).
        start = as_of - dt.timedelta(days=20)
        for k, name in enumerate(["Login", "onboarding_step", "template_imported", "invite_sent",
                                  "comment_added", "login"]):
            extra.append({"event_id": f"evt_added_user_{k}", "user_id": ADDED_USER_ID, "event_name": name,
                          "event_timestamp": fmt(start + dt.timedelta(hours=3 * k + 1)),
                          "properties": '{"step": "finish"}' if name == "onboarding_step" else None})
        # The first paid feature use, a few hours after as_of, of a user with no events in
        # the days before: a reach that goes when as_of moves back, leaving no occurrence
        # on any rewritten date to find the user by (int_activation__milestone_reaches
        # finds them by the stored reach).
        taken = {row["user_id"] for row in [*users[:4], *pre_signup_users(users)]}
        quiet_from = as_of - dt.timedelta(days=7)
        quiet = [row for row in users
                 if row["user_id"] not in taken and parse_timestamp(row["created_at"]) < quiet_from
                 and all(parse_timestamp(e["event_timestamp"]) < quiet_from and e["event_name"] != "paid_feature_used"
                         for e in events_of(dataset, row["user_id"]))]
        assert quiet, "no user without events in the week before as_of"
        lone = quiet[0]
        extra.append({"event_id": "evt_lone_reach", "user_id": lone["user_id"], "event_name": "paid_feature_used",
                      "event_timestamp": fmt(as_of + dt.timedelta(hours=10, minutes=30)), "properties": None})
        dataset.events = [*dataset.events, *extra]
        return dataset, vars

    return build


def pre_signup_users(users):
    return sorted(users, key=lambda row: parse_timestamp(row["created_at"]))[-3:]


def most_active_users(dataset, count):
    users = valid_users(dataset)
    return sorted(users, key=lambda row: (-len(events_of(dataset, row["user_id"])), row["user_id"]))[:count]


# --------------------------------------------------------------------------- changes


@dataclass
class Change:
    """`apply(dataset, vars)` changes its copies in place and may return events to append;
    `tables` are the raw tables it rewrites; a stop message must hold one of `words`;
    `exact_only`: the run must succeed and be exact."""

    apply: object
    words: tuple
    tables: tuple = ()
    exact_only: bool = False


def shift_as_of(days):
    def apply(dataset, vars):
        old = parse_timestamp(vars["activation_as_of"])
        new = old + dt.timedelta(days=days)
        vars["activation_as_of"] = fmt(new)
        tolerance = dt.timedelta(hours=24)
        low, high = sorted([old + tolerance, new + tolerance])
        moved = [r for r in dataset.events if (t := parse_timestamp(r["event_timestamp"])) and low < t <= high]
        assert moved, f"no event changes sides between as_of {old} and {new}"
    return apply


def set_tolerance(hours):
    def apply(dataset, vars):
        as_of = parse_timestamp(vars["activation_as_of"])
        vars["activation_future_tolerance_hours"] = hours
        low, high = sorted([as_of + dt.timedelta(hours=24), as_of + dt.timedelta(hours=hours)])
        moved = [r for r in dataset.events if (t := parse_timestamp(r["event_timestamp"])) and low < t <= high]
        assert moved, f"no event changes sides with a tolerance of {hours} h"
    return apply


def shift_created_at(days, pick):
    def apply(dataset, vars):
        chosen = {row["user_id"] for row in pick(dataset)}
        assert chosen
        for row in dataset.users:
            if row["user_id"] in chosen:
                row["created_at"] = fmt(parse_timestamp(row["created_at"]) + dt.timedelta(days=days))
    return apply


def users_with_early_events(dataset):
    """Users with events in their first two days (no longer counted once created_at moves 2 days later)."""
    chosen = []
    for row in valid_users(dataset):
        created = parse_timestamp(row["created_at"])
        if any(created <= parse_timestamp(e["event_timestamp"]) < created + dt.timedelta(days=2)
               for e in events_of(dataset, row["user_id"])):
            chosen.append(row)
    return chosen[:4]


def quiet_users(dataset, vars, days=7):
    """Users with no event in the `days` before as_of or after it: they have no daily
    activity or occurrence on any date an incremental run rewrites, so only a change of
    their own users row (or of who names them as inviter) can find them."""
    quiet_from = parse_timestamp(vars["activation_as_of"]) - dt.timedelta(days=days)
    quiet = [row for row in valid_users(dataset)
             if parse_timestamp(row["created_at"]) < quiet_from
             and all(parse_timestamp(e["event_timestamp"]) < quiet_from for e in events_of(dataset, row["user_id"]))]
    assert quiet, f"no user without events in the {days} days before as_of"
    return quiet


def change_plan_tier(dataset, vars):
    active = most_active_users(dataset, 3)
    quiet = [row for row in quiet_users(dataset, vars) if row not in active][:3]
    for n, row in enumerate([*active, *quiet]):
        row["plan_tier"] = "free" if row["plan_tier"] != "free" else ("pro" if n % 2 else "team")


def change_inviter(dataset, vars):
    """The users created last name a quiet user as their inviter: the inviter's count of
    invited signups changes with no event of theirs to find them by."""
    users = valid_users(dataset)
    by_created = sorted(users, key=lambda row: parse_timestamp(row["created_at"]))
    inviter = next(row["user_id"] for row in quiet_users(dataset, vars) if row not in by_created[-4:])
    for row in by_created[-4:]:
        row["inviter_user_id"] = inviter if row["inviter_user_id"] != inviter else None


def change_segment_value(dataset, vars):
    for row in most_active_users(dataset, 6):
        row["company_size"] = "1000+" if row["company_size"] != "1000+" else "1-10"


def set_vars(**changes):
    def apply(dataset, vars):
        vars.update(changes)
    return apply


def set_lookback(days):
    def apply(dataset, vars):
        vars["activation_lookback_days"] = days
        as_of = parse_timestamp(vars["activation_as_of"])
        latest = max(t for r in dataset.events if (t := parse_timestamp(r["event_timestamp"]))
                     and t <= as_of + dt.timedelta(hours=24))
        rows = []
        for n, (row, name) in enumerate(zip(most_active_users(dataset, 4),
                                            ["comment_added", "invite_sent", "Search Performed", "login"])):
            rows.append({"event_id": f"evt_next_load_{n}", "user_id": row["user_id"], "event_name": name,
                         "event_timestamp": fmt(latest + dt.timedelta(minutes=n + 1)), "properties": None})
        return rows
    return apply


def add_user(dataset, vars):
    first = min(parse_timestamp(e["event_timestamp"]) for e in events_of(dataset, ADDED_USER_ID))
    dataset.users.append({**valid_users(dataset)[0], "user_id": ADDED_USER_ID, "account_id": "acc_late",
                          "created_at": fmt(first - dt.timedelta(hours=2)), "inviter_user_id": None})


def remove_user(dataset, vars):
    removed = most_active_users(dataset, 1)[0]["user_id"]
    dataset.users = [row for row in dataset.users if row["user_id"] != removed]


def add_requirement(dataset, vars):
    dataset.requirements.append({"milestone_id": "team_collaboration", "path_id": 1, "event_name": "document_viewed",
                                 "min_count": 3, "property_key": None, "property_value": None})


def set_milestone(milestone_id, **values):
    def apply(dataset, vars):
        rows = [row for row in dataset.milestones if row["milestone_id"] == milestone_id]
        assert rows, milestone_id
        for row in rows:
            row.update(values)
    return apply


USERS_WORDS = ("users",)
CONFIG_WORDS = ("configuration", "milestone", "requirement")
CHANGES = {
    "as_of_backwards": Change(shift_as_of(-5), ("as_of",)),
    "as_of_forwards": Change(shift_as_of(5), ("as_of",)),
    "tolerance_smaller": Change(set_tolerance(6), ("tolerance",)),
    "tolerance_larger": Change(set_tolerance(48), ("tolerance",)),
    "created_at_earlier": Change(shift_created_at(-1, lambda ds: pre_signup_users(valid_users(ds))),
                                 ("created_at", *USERS_WORDS), tables=("users",)),
    "created_at_later": Change(shift_created_at(2, users_with_early_events), ("created_at", *USERS_WORDS),
                               tables=("users",)),
    "plan_tier": Change(change_plan_tier, ("plan_tier", *USERS_WORDS), tables=("users",)),
    "inviter_user_id": Change(change_inviter, ("inviter", *USERS_WORDS), tables=("users",)),
    "segment_value": Change(change_segment_value, ("company_size", "passthrough", *USERS_WORDS),
                            tables=("users",)),
    "passthrough_columns": Change(set_vars(activation_user_passthrough_columns=[]),
                                  ("activation_user_passthrough_columns",)),
    "user_added": Change(add_user, USERS_WORDS, tables=("users",)),
    "user_removed": Change(remove_user, USERS_WORDS, tables=("users",)),
    "requirement_added": Change(add_requirement, CONFIG_WORDS, tables=("milestone_requirements",)),
    "timeframe_changed": Change(set_milestone("first_value", timeframe="48h"), CONFIG_WORDS,
                                tables=("milestones",)),
    "weight_changed": Change(set_milestone("team_collaboration", weight=3.0), CONFIG_WORDS,
                             tables=("milestones",)),
    "invite_event": Change(set_vars(activation_invite_event="comment_added"), ("activation_invite_event",)),
    "activity_events": Change(set_vars(activation_activity_events=["login"]), ("activation_activity_events",)),
    "conversion_event": Change(set_vars(activation_conversion_event="paid_feature_used"),
                               ("activation_conversion_event",)),
    "pql_bands": Change(set_vars(activation_pql_bands=[
        {"band": "nurture", "min_score": 0, "action": "automated nurture"},
        {"band": "sdr_outreach", "min_score": 5, "action": "sdr outreach"},
        {"band": "ae_handoff", "min_score": 15, "action": "ae handoff"}]), ("activation_pql_bands",)),
    "pql_recency_decay": Change(set_vars(activation_pql_recency_days=2, activation_pql_decay=0.25),
                                ("activation_pql_recency_days", "activation_pql_decay")),
    # The lookback only sets how much a run re-reads: with the next load's events (all
    # later than the stored usable ones) the run must be exact.
    "lookback_shorter": Change(set_lookback(1), (), exact_only=True),
    "lookback_longer": Change(set_lookback(10), (), exact_only=True),
}
# The changes run on PostgreSQL and Spark by default (each costs a history of its own there).
OTHER_ENGINE_CHANGES = ("as_of_backwards", "created_at_earlier", "requirement_added")
SELECTED = os.environ.get("ACTIVATION_INPUT_CHANGES", "all" if ENGINE == "duckdb" else ",".join(OTHER_ENGINE_CHANGES))
CHANGE_IDS = list(CHANGES) if SELECTED.strip() == "all" else [c.strip() for c in SELECTED.split(",") if c.strip()]
assert set(CHANGE_IDS) <= set(CHANGES), f"unknown ACTIVATION_INPUT_CHANGES: {sorted(set(CHANGE_IDS) - set(CHANGES))}"


# --------------------------------------------------------------------------- history


class History:
    """The incremental history every change starts from."""

    def __init__(self, builder):
        self.builder = builder
        self.dataset, self.vars = change_dataset()(builder.workdir)
        batches = plan_batches(self.dataset.events, random.Random(DATASET_SEED))
        if ENGINE != "duckdb":
            batches = [batches[0], [row for batch in batches[1:] for row in batch]]
        self.batches = batches
        self.snapshot = None
        self.baseline = None

    def build(self):
        first = copy.copy(self.dataset)
        first.events = list(self.batches[0])
        self.builder.load(first)
        self.builder.run_models(self.vars, full_refresh=True)
        for batch in self.batches[1:]:
            self.builder.append_events(batch)
            self.builder.run_models(self.vars)

    def prepare(self):
        """On DuckDB: build once, keep a copy of the database file, check the history
        against a full refresh (the baseline every change is compared with)."""
        if ENGINE != "duckdb":
            return
        self.build()
        history_marts = self.builder.read_all_marts()
        engine = self.builder.engine
        engine.after_invoke()
        self.snapshot = self.builder.workdir / "input-changes-history.duckdb"
        shutil.copyfile(engine.database_path, self.snapshot)
        wal = engine.database_path.with_name(engine.database_path.name + ".wal")
        assert not wal.exists(), "the DuckDB file is still open"
        self.builder.run_models(self.vars, full_refresh=True)
        self.baseline = self.builder.read_all_marts()
        assert_same_tables(history_marts, self.baseline, skipped=BOOKKEEPING_COLUMNS, label="history")

    def restore(self):
        """The database as the history left it; (dataset, vars) copies to change."""
        if self.snapshot is None:
            self.build()
        else:
            engine = self.builder.engine
            engine.after_invoke()
            wal = engine.database_path.with_name(engine.database_path.name + ".wal")
            if wal.exists():
                wal.unlink()
            shutil.copyfile(self.snapshot, engine.database_path)
        return copy.deepcopy(self.dataset), copy.deepcopy(self.vars)


@pytest.fixture(scope="module")
def history(dbt_builder):
    history = History(dbt_builder)
    history.prepare()
    return history


def stop_message_names(message, words):
    """The words found in `message` once the names of models and of the package are
    taken out (they hold 'users', 'milestone' and 'activation' whatever the cause)."""
    text = re.sub(r"\b(?:stg|int)_activation__\w+|\bmilestone_activation\w*|\bactivation_(?:"
                  r"users|user_milestones|quarantined_\w+|cohort_completion|milestone_\w+)\b", " ", message.lower())
    return [word for word in words if word.lower() in text]


@pytest.mark.parametrize("change_id", CHANGE_IDS)
def test_one_changed_input_is_exact_or_stops(dbt_builder, history, change_id):
    change = CHANGES[change_id]
    dataset, vars = history.restore()
    appended = change.apply(dataset, vars) or []
    if change.tables:
        dbt_builder.engine.write_raw_tables(
            {table: (RAW_COLUMNS[table], dataset.tables()[table]) for table in change.tables})
    dbt_builder.append_events(appended)

    try:
        dbt_builder.run_models(vars)
    except BuildFailed as error:
        message = str(error)
        print(f"{change_id}: stopped - {message.strip()[:500]}")
        assert not change.exact_only, f"{change_id}: the run must succeed and be exact:\n{message}"
        assert "--full-refresh" in message, f"{change_id}: the run failed without naming --full-refresh:\n{message}"
        assert stop_message_names(message, change.words), (
            f"{change_id}: the stop message names none of {change.words}:\n{message}")
        return
    incremental = dbt_builder.read_all_marts()
    dbt_builder.run_models(vars, full_refresh=True)
    expected = dbt_builder.read_all_marts()
    try:
        assert_same_tables(incremental, expected, skipped=BOOKKEEPING_COLUMNS, label="incremental")
    except AssertionError as error:
        raise AssertionError(f"{change_id}: the plain run succeeded with marts that differ from a full refresh "
                             f"on the same inputs:\n{table_differences(incremental, expected, BOOKKEEPING_COLUMNS)}"
                             f"\n\nfirst differences, rows in sorted order:\n{error}") from None
    if history.baseline is not None:
        assert table_differences(expected, history.baseline, BOOKKEEPING_COLUMNS), (
            f"{change_id} does not change the full refresh: the test could not fail")
    print(f"{change_id}: exact")
