"""Vars reach SQL only as escaped literals or checked numbers, event names given in vars
are normalised like the events' own names, and a bad var stops the build with a message
naming the var, the value and the fix (SPEC §2, §9).

Few dbt invocations: one build with hostile text in every text var (quotes,
backslashes, an injection attempt), one build with event names written as a person
would write them, and compile-only runs for the bad values (a bad var fails while the
first model reading it compiles, before any event model runs).
"""

import json

import pytest
from harness import (
    BASE_VARS,
    BuildFailed,
    Dataset,
    assert_bi_marts_match_reference,
    assert_marts_match_reference,
    event,
    milestone,
    user,
)
from reference.activation_reference import compute
from reference.bi_reference import compute_bi

AS_OF = "2025-01-20 00:00:00"
QUOTED_MILESTONE = "core 'quoted'"
STATUS_BANDS = [
    {"status": "cold 'n' \\ slow", "min_score": 0, "action": "it's \\n back"},
    {"status": "ho't\\", "min_score": 60, "action": None},
]
PQL_BANDS = [
    {"band": "o'brien \\", "min_score": 0, "action": "call 'em"},
    {"band": "hot\\'x", "min_score": 2, "action": "a\\b 'c'"},
]
INJECTION_VARS = {
    "activation_as_of": AS_OF,
    # A milestone id with quotes works as the first-value milestone.
    "activation_first_value_milestone": QUOTED_MILESTONE,
    # Normalises to invite_sent_or_1_1: no event has that name.
    "activation_invite_event": "invite_sent' or '1'='1",
    "activation_free_plan_tiers": ["free", "o'reilly"],
    "activation_status_bands": STATUS_BANDS,
    "activation_pql_bands": PQL_BANDS,
    "activation_pql_decay": 1,  # no decay: the current PQL score is the sum of weights
}


def _vars_text(vars, raw=None):
    """The --vars text the harness would pass; `raw` maps placeholder strings to YAML
    scalars JSON cannot write (.nan, .inf)."""
    text = json.dumps(dict(BASE_VARS, **vars), sort_keys=True)
    for placeholder, yaml_scalar in (raw or {}).items():
        text = text.replace(json.dumps(placeholder), yaml_scalar)
    return text


def _compile_error(dbt_builder, vars, select="int_activation__milestones", raw=None):
    """The error of compiling `select` with `vars` (the compilation must fail)."""
    dbt_builder.deps()
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.run_dbt(["compile", "--vars", _vars_text(vars, raw), "--select", select, "--quiet"])
    return str(failure.value)


def _one(rows, **where):
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, rows)
    return found[0]


# ------------------------------------------------------------ hostile text in vars


@pytest.fixture(scope="module")
def injection_build(dbt_builder):
    users = [
        user("u1", "2025-01-06 00:00:00", plan_tier="free"),
        user("u2", "2025-01-06 00:00:00", plan_tier="o'reilly"),
        user("u3", "2025-01-07 00:00:00", plan_tier="pro"),
    ]
    events = [
        event("u1", "login", "2025-01-06 01:00:00"), event("u1", "core", "2025-01-06 02:00:00"),
        event("u1", "invite_sent", "2025-01-06 03:00:00"),
        event("u2", "login", "2025-01-06 01:00:00"), event("u2", "invite_sent", "2025-01-07 00:00:00"),
        event("u3", "login", "2025-01-08 00:00:00"), event("u3", "page_viewed", "2025-01-08 01:00:00"),
    ]
    milestones = [
        milestone("login", 1, weight=1.0, triggered_by_event="login"),
        milestone(QUOTED_MILESTONE, 2, weight=2.0, triggered_by_event="core", is_activation=True),
    ]
    dataset = Dataset(users, events, milestones, [])
    marts = dbt_builder.build(dataset, vars=INJECTION_VARS)
    full_vars = dict(INJECTION_VARS, activation_user_passthrough_columns=["company_size"])
    ref = compute(users, events, milestones, [], full_vars)
    bi = dbt_builder.read_bi_marts()
    bi_ref = compute_bi(users, events, milestones, [], full_vars)
    return {"marts": marts, "ref": ref, "bi": bi, "bi_ref": bi_ref}


def test_hostile_var_text_builds_and_matches_the_reference(injection_build):
    assert_marts_match_reference(injection_build["marts"], injection_build["ref"])
    assert_bi_marts_match_reference(injection_build["bi"], injection_build["bi_ref"])


def test_milestone_id_with_quotes_is_the_first_value_milestone(injection_build):
    users = injection_build["marts"]["users"]
    u1 = _one(users, user_id="u1")
    assert u1["first_value_milestone_id"] == QUOTED_MILESTONE
    assert u1["first_value_at"] is not None
    # u2 reached only `login` (the lowest level): it is not first value here.
    assert _one(users, user_id="u2")["first_value_at"] is None


def test_injected_invite_event_counts_no_event_as_an_invite(injection_build):
    # Before: `event_name = 'invite_sent' or '1'='1'` counted every event.
    assert {r["user_id"]: r["invites_sent"] for r in injection_build["marts"]["users"]} == {
        "u1": 0, "u2": 0, "u3": 0}
    assert all(r["invites_sent"] == 0 for r in injection_build["bi"]["viral_coefficient"])


def test_free_plan_tier_with_a_quote_is_not_paid(injection_build):
    paid = {r["user_id"]: r["is_converted_to_paid"] for r in injection_build["marts"]["users"]}
    assert paid == {"u1": False, "u2": False, "u3": True}


def test_band_names_and_actions_with_quotes_and_backslashes(injection_build, dbt_builder):
    users = {r["user_id"]: r for r in injection_build["marts"]["users"]}
    # u1 reached both milestones (100 %), u2 only login (1 of 3 weight, 33 %).
    assert (users["u1"]["status"], users["u1"]["status_action"]) == ("ho't\\", None)
    assert (users["u2"]["status"], users["u2"]["status_action"]) == ("cold 'n' \\ slow", "it's \\n back")
    history = dbt_builder.query(
        "select user_id, pql_band, pql_action from main_activation.activation_pql_score_history"
        " where is_current")
    bands = {r["user_id"]: (r["pql_band"], r["pql_action"]) for r in history}
    assert bands["u1"] == ("hot\\'x", "a\\b 'c'")  # score 3
    assert bands["u2"] == ("o'brien \\", "call 'em")  # score 1
    handoff = _one(injection_build["bi"]["pql_handoffs"], user_id="u1")
    assert (handoff["from_band"], handoff["to_band"]) == ("o'brien \\", "hot\\'x")
    # The accepted-band test of activation_pql_score_history reads the same var.
    dbt_builder.run_dbt(["test", "--vars", _vars_text(INJECTION_VARS), "--quiet",
                         "--select", "activation_pql_score_history,test_name:activation_accepted_band_values"])


def test_injected_first_value_milestone_fails_naming_the_var(dbt_builder):
    dataset = Dataset([user("u1", "2025-01-01 00:00:00")], [event("u1", "login", "2025-01-01 01:00:00")],
                      [milestone("m1", 1, triggered_by_event="login")], [])
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(dataset, vars={"activation_first_value_milestone": "x' or '1'='1"},
                          select="+int_activation__milestones")
    message = str(failure.value)
    assert "activation_first_value_milestone" in message and "is not a milestone" in message


# ------------------------------------------------- event names normalised like data


@pytest.fixture(scope="module")
def written_names_build(dbt_builder):
    vars = {
        "activation_as_of": AS_OF,
        "activation_invite_event": "Invite Sent",
        "activation_activity_events": ["Login"],
        "activation_conversion_event": " Paid-Upgrade ",
        "activation_experiment_exposure_event": "Experiment Exposure",
        "activation_experiment_control_variant": "ctl'x",
    }
    users = [user("u1", "2025-01-06 00:00:00"), user("u2", "2025-01-06 00:00:00"),
             user("u3", "2025-01-07 00:00:00")]
    events = [
        event("u1", "login", "2025-01-06 01:00:00"), event("u1", "core", "2025-01-06 02:00:00"),
        event("u1", "Invite Sent", "2025-01-06 03:00:00"), event("u1", "invite sent", "2025-01-06 04:00:00"),
        event("u1", "LOGIN", "2025-01-10 00:00:00"), event("u1", "paid upgrade", "2025-01-12 00:00:00"),
        event("u2", "login", "2025-01-06 01:00:00"), event("u2", "invite_sent", "2025-01-07 00:00:00"),
        event("u2", "page_viewed", "2025-01-12 00:00:00"),
        event("u1", "experiment exposure", "2025-01-06 05:00:00",
              properties='{"experiment": "exp1", "variant": "ctl\'x"}'),
        event("u2", "Experiment_Exposure", "2025-01-06 05:00:00",
              properties='{"experiment": "exp1", "variant": "b"}'),
    ]
    milestones = [
        milestone("login", 1, weight=1.0, triggered_by_event="login"),
        milestone("core", 2, weight=2.0, triggered_by_event="core", is_activation=True),
    ]
    dataset = Dataset(users, events, milestones, [])
    marts = dbt_builder.build(dataset, vars=vars)
    full_vars = dict(vars, activation_user_passthrough_columns=["company_size"])
    return {
        "marts": marts, "bi": dbt_builder.read_bi_marts(),
        "ref": compute(users, events, milestones, [], full_vars),
        "bi_ref": compute_bi(users, events, milestones, [], full_vars),
        "experiments": dbt_builder.query("select * from main_activation.activation_experiments"),
    }


def test_event_names_in_vars_are_normalised_like_event_names(written_names_build):
    assert_marts_match_reference(written_names_build["marts"], written_names_build["ref"])
    assert_bi_marts_match_reference(written_names_build["bi"], written_names_build["bi_ref"])
    users = {r["user_id"]: r for r in written_names_build["marts"]["users"]}
    # "Invite Sent" matches `Invite Sent`, `invite sent` and `invite_sent`.
    assert (users["u1"]["invites_sent"], users["u2"]["invites_sent"], users["u3"]["invites_sent"]) == (2, 1, 0)
    # " Paid-Upgrade " matches `paid upgrade`.
    assert (users["u1"]["is_converted_to_paid"], users["u2"]["is_converted_to_paid"]) == (True, False)


def test_activity_event_written_capitalised_counts_as_activity(written_names_build):
    # u1 activated 2025-01-06 02:00 and logged in again on 2025-01-10 (`LOGIN`): retained
    # at D7; u2 never activated. ["Login"] matched nothing before.
    retention = {r["window_days"]: r for r in written_names_build["bi"]["retention"]}
    assert retention[7]["retained_users"] == 1


def test_exposure_event_and_control_variant_with_a_quote(written_names_build):
    experiment = _one(written_names_build["experiments"], experiment_id="exp1")
    assert experiment["exposed_users"] == 2 and experiment["variants"] == 2
    assert experiment["has_control"] in (True, 1)


# ---------------------------------------------------------------- bad var values


def test_bad_vars_are_reported_together_naming_each_var(dbt_builder):
    bad = {
        "activation_lookback_days": "abc",
        "activation_pql_recency_days": -5,
        "activation_pql_daily_days": True,
        "activation_pql_decay": "NAN_PLACEHOLDER",
        "activation_pql_bands": [{"band": "a", "min_score": 0}, {"band": "b", "min_score": "INF_PLACEHOLDER"}],
        "activation_status_bands": [{"status": "a", "min_score": "NAN_PLACEHOLDER"}],
        "activation_as_of": "2025-01-01'",
        "activation_kpi_period": "quarter",
        "activation_cohort_grain": "year",
        "activation_status_score_basis": "raw",
        "activation_free_plan_tiers": "free",
        "activation_activity_events": ["login", "--"],
        "activation_user_passthrough_columns": ["company_size' as x, '"],
        "activation_stats_max_groups": 1.5,
        "activation_future_tolerance_hours": "-INF_PLACEHOLDER",
        "activation_start_date": "2025-01-01 00:00:00",
    }
    message = _compile_error(dbt_builder, bad, raw={
        "NAN_PLACEHOLDER": ".nan", "INF_PLACEHOLDER": ".inf", "-INF_PLACEHOLDER": "-.inf"})
    expected = [
        "var activation_lookback_days = 'abc' is not a whole number from 0",
        "var activation_pql_recency_days = -5 is not a whole number from 0",
        "var activation_pql_daily_days = True is not a whole number",
        "var activation_pql_decay = nan is not a number between 0 and 1",
        "activation_pql_bands: band 'b' has min_score inf, not a finite number",
        "activation_status_bands: status 'a' has min_score nan, not a finite number",
        "var activation_as_of = '2025-01-01'' is not a timestamp",
        "var activation_kpi_period = 'quarter' is not one of day, week, month",
        "var activation_cohort_grain = 'year' is not one of day, week, month",
        "var activation_status_score_basis = 'raw' is not one of pct, score",
        "var activation_free_plan_tiers = 'free' is not a list",
        "var activation_activity_events item 2 ('--') is not an event name",
        "var activation_user_passthrough_columns item 1 ('company_size' as x, '') is not a plain column name",
        "var activation_stats_max_groups = 1.5 is not a whole number from 2 to 20",
        "var activation_future_tolerance_hours = -inf is not a whole number",
        "var activation_start_date = '2025-01-01 00:00:00' is not a date YYYY-MM-DD",
    ]
    for phrase in expected:
        assert phrase in message, (phrase, message)
    assert f"({len(expected)} problem(s))" in message
    assert message.count("Fix:") >= len(expected)


def test_passthrough_column_named_like_a_package_column_is_rejected(dbt_builder):
    """A passthrough column the users models already have would be a duplicate column:
    the build stops naming the item, the model that has the column and the fix."""
    message = _compile_error(dbt_builder, {
        "activation_user_passthrough_columns": ["company_size", "Plan_Tier", "is_activated", "signup_type"]})
    expected = [
        "item 2 ('Plan_Tier') is a column stg_activation__users already has",
        "item 3 ('is_activated') is a column int_activation__user_summaries already has",
        "item 4 ('signup_type') is a column",
    ]
    for phrase in expected:
        assert phrase in message, (phrase, message)
    assert "company_size" not in message
    assert "(3 problem(s))" in message
    assert message.count("Fix: leave it out of the list") == 3


@pytest.mark.parametrize("lookback", ["abc", -5])
def test_bad_lookback_days_stops_the_model_reading_it(dbt_builder, lookback):
    # activation_late_events reads the var itself (no milestone check involved).
    message = _compile_error(dbt_builder, {"activation_lookback_days": lookback}, select="activation_late_events")
    assert "activation_lookback_days" in message and str(lookback) in message and "Fix:" in message


def test_impossible_as_of_date_is_rejected_at_compile_time(dbt_builder):
    message = _compile_error(dbt_builder, {"activation_as_of": "2025-02-30"}, select="int_activation__as_of")
    assert "var activation_as_of = '2025-02-30' is not a timestamp" in message


def test_impossible_start_date_is_rejected_at_compile_time(dbt_builder):
    message = _compile_error(dbt_builder, {"activation_start_date": "2024-02-30'"},
                             select="int_activation__events_classified")
    assert "var activation_start_date = '2024-02-30'' is not a date YYYY-MM-DD" in message and "Fix:" in message
