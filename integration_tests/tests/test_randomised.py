"""Randomised data sets: every mart must equal the Python references on every column.

Hypothesis draws a milestone configuration (single events, counts, several paths,
gates, property filters, 48h to 30d timeframes) and messy raw users and events
(duplicates, offsets, pre-signup events, boundary-exact times, bad rows of every
kind), builds the package on them with dbt and compares with the reference.
"""

import datetime as dt
import os

from harness import (
    PER_USER_MARTS_SELECTION,
    Dataset,
    assert_bi_marts_match_reference,
    assert_marts_match_reference,
    milestone,
    requirement,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.activation_reference import compute, parse_timestamp
from reference.bi_reference import compute_bi

EVENT_NAMES = ["a", "b", "c", "d"]
NAME_SPELLINGS = {"a": ["a", "A", " a "], "b": ["b", "B!"], "c": ["c"], "d": ["d", "D"]}
TIMEFRAMES = [("48h", None), ("1d", None), ("7d", None), (None, 3), ("30d", None)]
TIMEFRAME_SECONDS = {"48h": 172800, "1d": 86400, "7d": 604800, None: 3 * 86400, "30d": 2592000}
BASE = dt.datetime(2025, 1, 6)

# Var sets drawn per example. A short list on purpose: dbt re-parses the project when
# vars change, and the harness keeps one parse cache per var set.
VAR_PROFILES = [
    {},
    {"activation_status_score_basis": "score", "activation_cohort_grain": "day",
     "activation_status_bands": [{"status": "low", "min_score": 0, "action": "wait"},
                                 {"status": "high", "min_score": 5, "action": "call"}],
     "activation_invite_event": "b", "activation_invite_count_property": "k",
     "activation_activity_events": ["a"], "activation_conversion_event": "c",
     "activation_kpi_period": "day", "activation_pql_recency_days": 0, "activation_pql_decay": 0,
     "activation_pql_daily_days": 5,
     "activation_pql_bands": [{"band": "cold", "min_score": 0, "action": "wait"},
                              {"band": "warm", "min_score": 1, "action": "email"},
                              {"band": "hot", "min_score": 5.5, "action": "call"}]},
    {"activation_cohort_grain": "month", "activation_invite_event": "b",
     "activation_activity_events": ["c", "noise"], "activation_kpi_period": "month",
     "activation_pql_recency_days": 3, "activation_pql_decay": 0.25, "activation_pql_daily_days": 12},
    {"activation_status_score_basis": "score",
     "activation_status_bands": [{"status": "low", "min_score": 0, "action": "wait"},
                                 {"status": "high", "min_score": 5, "action": "call"}],
     "activation_invite_count_property": "k", "activation_conversion_event": "c",
     "activation_pql_recency_days": 1, "activation_pql_daily_days": 1,
     "activation_pql_bands": [{"band": "cold", "min_score": 0, "action": "wait"},
                              {"band": "hot", "min_score": 2, "action": "call"}]},
]


@st.composite
def configurations(draw):
    count = draw(st.integers(1, 4))
    milestones, requirements = [], []
    for index in range(count):
        milestone_id = f"m{index}"
        timeframe, timeframe_days = draw(st.sampled_from(TIMEFRAMES))
        gate = None
        if index > 0 and draw(st.booleans()):
            gate = f"m{draw(st.integers(0, index - 1))}"
        shape = draw(st.sampled_from(["single", "composite", "paths"]))
        trigger = draw(st.sampled_from(EVENT_NAMES)) if shape == "single" else None
        milestones.append(milestone(
            milestone_id, level=draw(st.integers(1, 4)),
            weight=draw(st.sampled_from([0, 0.5, 1, 2, 5, 10])),
            timeframe=timeframe, timeframe_days=timeframe_days, triggered_by_event=trigger,
            is_activation=draw(st.booleans()), requires_milestone_id=gate))
        if shape == "single":
            continue
        paths = 1 if shape == "composite" else draw(st.integers(2, 3))
        for path_id in range(1, paths + 1):
            for _ in range(draw(st.integers(1, 2))):
                name = draw(st.sampled_from(EVENT_NAMES))
                has_filter = draw(st.integers(0, 3)) == 0
                requirements.append(requirement(
                    milestone_id, draw(st.sampled_from(NAME_SPELLINGS[name])),
                    min_count=draw(st.integers(1, 3)), path_id=path_id,
                    property_key="k" if has_filter else None,
                    property_value=draw(st.sampled_from(["x", "1", "true"])) if has_filter else None))
    return milestones, requirements


def fmt(moment, style):
    if style == "plain":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    if style == "iso_z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    shifted = moment + dt.timedelta(hours=2)
    return shifted.strftime("%Y-%m-%dT%H:%M:%S+02:00")


@st.composite
def datasets(draw):
    milestones, requirements = draw(configurations())
    user_count = draw(st.integers(1, 5))
    users, signups = [], {}
    for index in range(user_count):
        user_id = f"u{index}"
        created = BASE + dt.timedelta(hours=draw(st.integers(0, 72)), seconds=draw(st.integers(0, 59)))
        signups[user_id] = created
        users.append({"user_id": user_id, "account_id": f"acct{index % 2}",
                      "created_at": fmt(created, draw(st.sampled_from(["plain", "iso_z", "offset"]))),
                      "plan_tier": draw(st.sampled_from(["free", "pro", None])),
                      "install_source": draw(st.sampled_from(["web", "ads"])),
                      "inviter_user_id": draw(st.sampled_from([None, "u0", f"u{max(index - 1, 0)}"])),
                      "company_size": draw(st.sampled_from(["1-10", "11-50", None]))})
    bad_users = draw(st.lists(st.sampled_from(["missing", "invalid", "duplicate"]), max_size=2))
    for kind in bad_users:
        row = dict(users[0])
        if kind == "missing":
            row["user_id"] = draw(st.sampled_from([None, "", "  "]))
        elif kind == "invalid":
            row["user_id"] = "u_bad"
            row["created_at"] = draw(st.sampled_from(["not a date", "2025-02-30 00:00:00"]))
        else:
            row["created_at"] = fmt(signups["u0"] + dt.timedelta(hours=draw(st.integers(-2, 2))), "plain")
            row["plan_tier"] = "team"
        users.append(row)

    offsets = st.one_of(
        st.integers(-3600, 40 * 86400),
        st.sampled_from(sorted({s + d for s in TIMEFRAME_SECONDS.values() for d in (-1, 0, 1)} | {0, -1})),
    )
    events = []
    for index in range(draw(st.integers(0, 30))):
        user_id = draw(st.sampled_from(sorted(signups)))
        moment = signups[user_id] + dt.timedelta(seconds=draw(offsets))
        name = draw(st.sampled_from(EVENT_NAMES + ["noise"]))
        properties = draw(st.sampled_from(
            [None, '{"k": "x"}', '{"k": 1}', '{"k": true}', '{"k": "y"}', '{"j": "x"}', '{"k": null}',
             '{"k": "x,}"}', '{"k": "NaN"}', '["k"]', '"x"', '{"k": 3}', '{"k": "2"}', '{"k": 2.5}']))
        events.append({"event_id": draw(st.sampled_from([f"e{index}", None])), "user_id": user_id,
                       "event_name": draw(st.sampled_from(NAME_SPELLINGS.get(name, [name]))),
                       "event_timestamp": fmt(moment, draw(st.sampled_from(["plain", "iso_z", "offset"]))),
                       "properties": properties})
    for _ in range(draw(st.integers(0, 3))):
        if events:
            events.append(dict(draw(st.sampled_from(events))))
    bad_events = draw(st.lists(st.sampled_from(
        ["no_user", "no_name", "bad_time", "future", "bad_json", "unknown"]), max_size=3))
    for index, kind in enumerate(bad_events):
        row = {"event_id": f"bad{index}", "user_id": "u0", "event_name": "a",
               "event_timestamp": fmt(BASE, "plain"), "properties": None}
        if kind == "no_user":
            row["user_id"] = None
        elif kind == "no_name":
            row["event_name"] = draw(st.sampled_from([None, "", "!!"]))
        elif kind == "bad_time":
            row["event_timestamp"] = draw(st.sampled_from(["yesterday", "2025-13-01 00:00:00", None]))
        elif kind == "future":
            row["event_timestamp"] = "2030-01-01 00:00:00"
        elif kind == "bad_json":
            row["properties"] = draw(st.sampled_from(
                ["{bad", "", "{'k': 'x'}", '{"k": "x",}', '{"k": NaN}', '[1, 2,]']))
        else:
            row["user_id"] = "stranger"
        events.append(row)
    as_of = draw(st.sampled_from([None, "2025-01-20 00:00:00", "2025-01-08T12:00:00Z"]))
    if as_of is None and any(e["event_timestamp"] == "2030-01-01 00:00:00" for e in events):
        as_of = "2025-02-20 00:00:00"
    if as_of is None and events and all(parse_timestamp(e["event_timestamp"]) is None for e in events):
        # No event time to take as_of from: the build stops by design (SPEC preamble;
        # test_bad_input checks the message), so these cases set it.
        as_of = "2025-01-20 00:00:00"
    vars = dict(draw(st.sampled_from(VAR_PROFILES)), activation_as_of=as_of)
    return Dataset(users=users, events=events, milestones=milestones, requirements=requirements), vars


SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def with_passthrough(vars):
    return dict(vars, activation_user_passthrough_columns=["company_size"])


@settings(max_examples=int(os.environ.get("ACTIVATION_HYPOTHESIS_EXAMPLES", "100")), **SETTINGS)
@given(case=datasets())
def test_per_user_marts_equal_reference_on_random_data(dbt_builder, case):
    dataset, vars = case
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, with_passthrough(vars))
    marts = dbt_builder.build(dataset, vars=vars, select=PER_USER_MARTS_SELECTION)
    assert_marts_match_reference(marts, ref)


@settings(max_examples=int(os.environ.get("ACTIVATION_HYPOTHESIS_BI_EXAMPLES", "40")), **SETTINGS)
@given(case=datasets())
def test_bi_marts_equal_reference_on_random_data(dbt_builder, case):
    dataset, vars = case
    marts = dbt_builder.build(dataset, vars=vars)
    assert_marts_match_reference(marts, compute(dataset.users, dataset.events, dataset.milestones,
                                                dataset.requirements, with_passthrough(vars)))
    bi_ref = compute_bi(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                        with_passthrough(vars))
    assert_bi_marts_match_reference(dbt_builder.read_bi_marts(), bi_ref)
