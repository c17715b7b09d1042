"""Per-user status rules (SPEC §4) and staging rules (SPEC §2) on hand-written data."""

import datetime as dt

from harness import Dataset, event, milestone, requirement, user
from test_engine_edge_cases import build_and_check, by_key

T = dt.datetime


def test_activation_without_flags_uses_highest_level_and_bands_are_inclusive(dbt_builder):
    milestones = [milestone("m1", 1, weight=31, triggered_by_event="a"),
                  milestone("m2", 2, weight=39, triggered_by_event="b"),
                  milestone("m3", 3, weight=30, triggered_by_event="c"),
                  milestone("m3b", 3, weight=0, triggered_by_event="d")]
    users = [user(u, "2025-01-01 00:00:00") for u in ("p31", "p70", "none", "top")]
    events = [event("p31", "a", "2025-01-01 01:00:00"),
              event("p70", "a", "2025-01-01 01:00:00"), event("p70", "b", "2025-01-01 02:00:00"),
              event("top", "c", "2025-01-02 00:00:00"), event("top", "d", "2025-01-03 00:00:00")]
    marts = build_and_check(dbt_builder, Dataset(users, events, milestones, []))
    rows = by_key(marts["users"], "user_id")
    assert rows["p31"]["activation_score_pct"] == 31 and rows["p31"]["status"] == "engaged"
    assert rows["p70"]["status"] == "pql" and rows["p70"]["status_action"] == "sales handoff"
    assert rows["none"]["status"] == "inactive"
    assert rows["top"]["is_activated"] and rows["top"]["activated_at"] == T(2025, 1, 3)
    assert rows["p70"]["first_value_milestone_id"] == "m1"
    assert rows["p70"]["time_to_first_value_hours"] == 1


def test_fractional_rubric_by_configuration_alone(dbt_builder):
    milestones = [milestone("m1", 1, weight=0.2, triggered_by_event="invite_sent"),
                  milestone("m2", 2, weight=0.3, timeframe="14d", triggered_by_event="document_created"),
                  milestone("m3", 3, weight=0.25, timeframe="30d", triggered_by_event="api_call_success"),
                  milestone("m4", 4, weight=0.25, timeframe="30d", triggered_by_event="task_completed")]
    users = [user("half", "2025-01-01"), user("less", "2025-01-01")]
    events = [event("half", "invite_sent", "2025-01-02"), event("half", "document_created", "2025-01-03"),
              event("less", "invite_sent", "2025-01-02"), event("less", "task_completed", "2025-01-03")]
    vars = {"activation_status_score_basis": "score",
            "activation_first_value_milestone": "m2",
            "activation_status_bands": [{"status": "not_pql", "min_score": 0, "action": "nurture"},
                                        {"status": "pql", "min_score": 0.5, "action": "sales handoff"}]}
    marts = build_and_check(dbt_builder, Dataset(users, events, milestones, []), vars)
    rows = by_key(marts["users"], "user_id")
    assert rows["half"]["status"] == "pql" and rows["less"]["status"] == "not_pql"
    assert rows["half"]["time_to_first_value_hours"] == 48


def test_staging_quarantine_dedup_and_future_tolerance(dbt_builder):
    milestones = [milestone("m1", 1, triggered_by_event="Document Created")]
    users = [user("u1", "2025-01-01T00:00:00+01:00", plan_tier="pro"),
             user("u1", "2025-01-01T00:00:00Z", plan_tier="free"),
             user(" ", "2025-01-01"), user("u2", "yesterday")]
    events = [
        event("u1", "  document CREATED ", "2025-01-02 00:00:00", "x1"),
        event("u1", "document_created", "2025-01-03 00:00:00", "x1"),
        event("u1", "document_created", "2025-01-11 00:00:00", "x2"),
        event("u1", "document_created", "2025-01-11 00:00:01", "x3"),
        event("u2", "document_created", "2025-01-02", "x4"),
        event("u1", "login", "2025-01-02", "x5", "{not json"),
    ]
    marts = build_and_check(dbt_builder, Dataset(users, events, milestones, []),
                            {"activation_as_of": "2025-01-10 00:00:00"})
    reasons = sorted(r["quarantine_reason"] for r in marts["quarantined_events"])
    assert reasons == ["future_timestamp", "invalid_properties_json", "unknown_user"]
    user_reasons = sorted(r["quarantine_reason"] for r in marts["quarantined_users"])
    assert user_reasons == ["duplicate_user_id", "invalid_created_at", "missing_user_id"]
    (kept,) = marts["users"]
    assert kept["created_at"] == T(2024, 12, 31, 23) and kept["plan_tier"] == "pro"
    (reach,) = marts["user_milestones"]
    assert reach["reached_at"] == T(2025, 1, 2)


def test_as_of_defaults_to_latest_valid_event_and_cohort_grains(dbt_builder):
    milestones = [milestone("m1", 1, timeframe="30d", triggered_by_event="a")]
    users = [user("u1", "2025-03-01 10:00:00"), user("u2", "2025-03-31 23:59:59")]
    events = [event("u1", "a", "2025-03-20 00:00:00"), event("u2", "b", "2025-04-02 12:00:00"),
              event("u1", "a", "garbage")]
    for grain, expected in [("day", dt.date(2025, 3, 1)), ("week", dt.date(2025, 2, 24)),
                            ("month", dt.date(2025, 3, 1))]:
        marts = build_and_check(dbt_builder, Dataset(users, events, milestones, []),
                                {"activation_cohort_grain": grain})
        rows = by_key(marts["users"], "user_id")
        assert rows["u1"]["cohort_date"] == expected
        assert rows["u1"]["as_of"] == T(2025, 4, 2, 12)
    window = by_key(marts["user_milestones"], "user_id")
    assert window["u2"]["is_window_open"] and not window["u1"]["is_window_open"]


def test_requirement_rows_override_trigger_and_identical_rows_collapse(dbt_builder):
    milestones = [milestone("m1", 1, triggered_by_event="ignored")]
    requirements = [requirement("m1", "a", min_count=2), requirement("m1", "a", min_count=2)]
    users = [user("u1", "2025-01-01")]
    events = [event("u1", "ignored", "2025-01-01 01:00:00"), event("u1", "a", "2025-01-01 02:00:00"),
              event("u1", "a", "2025-01-01 03:00:00")]
    marts = build_and_check(dbt_builder, Dataset(users, events, milestones, requirements))
    assert marts["user_milestones"][0]["reached_at"] == T(2025, 1, 1, 3)
