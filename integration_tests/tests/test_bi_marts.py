"""BI marts (SPEC §5-§6) on hand-written edge cases, every column checked against the
independent Python reference (reference/bi_reference.py) and the rule under test
checked against values written here by hand."""

import datetime as dt

import pytest
from harness import (
    Dataset,
    assert_bi_marts_match_reference,
    assert_marts_match_reference,
    event,
    milestone,
    user,
)
from reference.activation_reference import compute
from reference.bi_reference import compute_bi

D = dt.date


def build_bi(dbt_builder, dataset, vars=None):
    full_vars = dict(vars or {}, activation_user_passthrough_columns=["company_size"])
    marts = dbt_builder.build(dataset, vars=vars)
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, full_vars)
    assert_marts_match_reference(marts, ref)
    bi = dbt_builder.read_bi_marts()
    bi_ref = compute_bi(dataset.users, dataset.events, dataset.milestones, dataset.requirements, full_vars)
    assert_bi_marts_match_reference(bi, bi_ref)
    return bi


def rows(marts, name, **where):
    return [r for r in marts[name] if all(r[k] == v for k, v in where.items())]


POINT_MILESTONES = [
    milestone("login", 1, weight=5, timeframe="7d", triggered_by_event="login"),
    milestone("core", 2, weight=10, timeframe="7d", triggered_by_event="core", is_activation=True),
    milestone("invite", 3, weight=20, timeframe="14d", triggered_by_event="invite_sent"),
    milestone("paid", 4, weight=50, timeframe="30d", triggered_by_event="paid_feature_used"),
]


@pytest.fixture(scope="module")
def point_rubric(dbt_builder):
    users = [
        # u1: everything on one day -> crosses nurture -> ae_handoff in one step (one hand-off row)
        user("u1", "2025-01-06 00:00:00", plan_tier="pro", company_size="1-10"),
        # u2: 35 points, then decays below 21 after the recency window
        user("u2", "2025-01-06 00:00:00", install_source="ads"),
        # u3: signs up so its 7-day windows close exactly at as_of
        user("u3", "2025-01-24 00:00:00", inviter_user_id="u1"),
        # u4: out-of-order reaches (core before login) -> funnel stops at step 1
        user("u4", "2025-01-07 00:00:00", inviter_user_id="u1"),
        # u5: nothing reached, a week without other signups before it
        user("u5", "2025-01-20 12:00:00"),
    ]
    events = [
        event("u1", "login", "2025-01-06 01:00:00"), event("u1", "core", "2025-01-06 02:00:00"),
        event("u1", "invite_sent", "2025-01-06 03:00:00", properties='{"count": 2}'),
        event("u1", "paid_feature_used", "2025-01-06 04:00:00"), event("u1", "page_viewed", "2025-01-10 00:00:00"),
        event("u2", "invite_sent", "2025-01-07 00:00:00"), event("u2", "core", "2025-01-08 00:00:00"),
        event("u2", "login", "2025-01-08 00:00:00"), event("u2", "page_viewed", "2025-01-15 00:00:00"),
        event("u3", "login", "2025-01-31 00:00:00"),
        event("u4", "core", "2025-01-07 01:00:00"), event("u4", "login", "2025-01-07 02:00:00"),
        event("u4", "page_viewed", "2025-01-07 01:00:00"),
    ]
    dataset = Dataset(users, events, POINT_MILESTONES, [])
    return build_bi(dbt_builder, dataset, {
        "activation_as_of": "2025-01-31 00:00:00",
        "activation_invite_count_property": "count",
        "activation_pql_daily_days": 10,
    })


def test_window_closing_exactly_at_as_of_counts(point_rubric):
    (row,) = rows(point_rubric, "cohort_completion", cohort_date=D(2025, 1, 20), milestone_id="login",
                  window_name="d7")
    assert row["cohort_users"] == 2 and row["eligible_users"] == 2
    (young,) = rows(point_rubric, "cohort_completion", cohort_date=D(2025, 1, 20), milestone_id="paid",
                    window_name="d30")
    assert young["eligible_users"] == 0 and young["completion_rate"] is None and not young["is_mature"]
    assert (young["completion_rate_ci_lower"], young["completion_rate_ci_upper"]) == (None, None)


def test_funnel_counts_users_inside_the_longest_window_as_in_progress(point_rubric):
    (step2,) = rows(point_rubric, "funnel", cohort_date=D(2025, 1, 6), breakdown_dimension="all", step_number=2)
    # u1, u2 and u4 signed up less than 30 days (the longest step window) before as_of:
    # in progress, not entered nor dropped (the time-order rule on eligible users:
    # test_funnel_censoring.py)
    assert (step2["cohort_users"], step2["eligible_users"], step2["in_progress_users"]) == (3, 0, 3)
    assert (step2["entered_users"], step2["completed_users"], step2["drop_off_rate"]) == (0, 0, None)
    assert [step2[f"{rate}_ci_{bound}"] for rate in ("drop_off_rate", "conversion_from_start")
            for bound in ("lower", "upper")] == [None] * 4


def test_two_bands_in_one_day_is_one_handoff(point_rubric):
    handoffs = rows(point_rubric, "pql_handoffs", user_id="u1")
    assert [(h["from_band"], h["to_band"]) for h in handoffs] == [("nurture", "ae_handoff")]


def test_score_drops_a_band_as_recency_passes(point_rubric):
    history = rows(point_rubric, "pql_score_history", user_id="u2")
    assert [(h["valid_from"], h["pql_score"], h["pql_band"]) for h in history][:2] == [
        (D(2025, 1, 7), 20.0, "nurture"), (D(2025, 1, 8), 35.0, "sdr_outreach")]
    assert history[-1]["pql_band"] == "nurture" and history[-1]["is_current"]


def test_zero_signup_week_has_null_kpis(point_rubric):
    week = rows(point_rubric, "kpis", period_start=D(2025, 1, 13))
    assert len(week) == 10 and all(k["value"] is None for k in week)
    assert all(k["value_ci_lower"] is None and k["value_ci_upper"] is None for k in week)


def test_viral_counts_the_invite_property(point_rubric):
    (cohort,) = rows(point_rubric, "viral_coefficient", cohort_date=D(2025, 1, 6))
    assert cohort["invites_sent"] == 3 and cohort["invited_signups"] == 2
    # invited signups over invites sent is not a share of users: no interval
    assert not [column for column in cohort if column.startswith("invite_acceptance_rate_ci")]


def test_fractional_rubric_and_no_invites_no_division_error(dbt_builder):
    milestones = [milestone("m1", 1, weight=0.2, triggered_by_event="a"),
                  milestone("m2", 2, weight=0.3, triggered_by_event="b"),
                  milestone("m3", 3, weight=0.25, triggered_by_event="c"),
                  milestone("m4", 4, weight=0.25, triggered_by_event="d")]
    users = [user("u1", "2025-03-03"), user("u2", "2025-03-03")]
    events = [event("u1", "a", "2025-03-03 01:00:00"), event("u1", "b", "2025-03-04 01:00:00"),
              event("u2", "c", "2025-03-05 01:00:00")]
    bi = build_bi(dbt_builder, Dataset(users, events, milestones, []), {
        "activation_pql_bands": [{"band": "low", "min_score": 0, "action": "wait"},
                                 {"band": "pql", "min_score": 0.5, "action": "call"}],
        "activation_status_score_basis": "score",
        "activation_status_bands": [{"status": "not_pql", "min_score": 0, "action": "wait"},
                                    {"status": "pql", "min_score": 0.5, "action": "call"}]})
    assert [h["user_id"] for h in bi["pql_handoffs"]] == ["u1"]
    (cohort,) = bi["viral_coefficient"]
    assert cohort["invites_sent"] == 0 and cohort["viral_coefficient"] is None


def test_bands_above_zero_entering_the_lowest_band_is_no_handoff(dbt_builder):
    # The lowest band starts at 10: a score of 5 has no band. Moving from no band into the
    # lowest band is not a crossing; from no band straight to a higher band is one, with a
    # null from_band.
    milestones = [milestone("m1", 1, weight=5, timeframe="30d", triggered_by_event="a"),
                  milestone("m2", 2, weight=10, timeframe="30d", triggered_by_event="b"),
                  milestone("m3", 3, weight=30, timeframe="30d", triggered_by_event="c")]
    users = [user("u1", "2025-03-03"), user("u2", "2025-03-03")]
    events = [event("u1", "a", "2025-03-03 01:00:00"), event("u1", "b", "2025-03-04 01:00:00"),
              event("u1", "c", "2025-03-05 01:00:00"),
              event("u2", "a", "2025-03-03 01:00:00"), event("u2", "c", "2025-03-04 01:00:00")]
    bi = build_bi(dbt_builder, Dataset(users, events, milestones, []), {
        "activation_as_of": "2025-03-06 00:00:00",
        "activation_pql_bands": [{"band": "warm", "min_score": 10, "action": "email"},
                                 {"band": "hot", "min_score": 30, "action": "call"}]})
    assert [(h["user_id"], h["from_band"], h["to_band"]) for h in bi["pql_handoffs"]] == [
        ("u1", "warm", "hot"), ("u2", None, "hot")]
