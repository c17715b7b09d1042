"""Bad configuration stops the build with a message naming the milestone and the fix;
bad data never stops it silently."""

import pytest
from harness import BuildFailed, Dataset, event, milestone, requirement, user
from reference.activation_reference import ConfigError, compute

USERS = [user("u1", "2025-01-01 00:00:00")]
EVENTS = [event("u1", "login", "2025-01-01 01:00:00", "e1")]
GOOD = [milestone("m1", 1, triggered_by_event="login"),
        milestone("m2", 2, triggered_by_event="search")]

BAD_CONFIGURATIONS = {
    "unknown gate": (
        [milestone("m1", 1, triggered_by_event="login", requires_milestone_id="nope")], [],
        ["milestone 'm1'", "unknown gate 'nope'"]),
    "gate cycle": (
        [milestone("m1", 1, triggered_by_event="login", requires_milestone_id="m2"),
         milestone("m2", 2, triggered_by_event="search", requires_milestone_id="m1")], [],
        ["milestone 'm1'", "gate cycle"]),
    "self gate": (
        [milestone("m1", 1, triggered_by_event="login", requires_milestone_id="m1")], [],
        ["milestone 'm1'", "gate cycle"]),
    "negative weight": (
        [milestone("m1", 1, weight=-1, triggered_by_event="login")], [],
        ["milestone 'm1'", "weight -1"]),
    "min_count below one": (
        [milestone("m1", 1)], [requirement("m1", "login", min_count=0)],
        ["milestone 'm1'", "min_count 0"]),
    "bad timeframe": (
        [milestone("m1", 1, timeframe="soon", triggered_by_event="login")], [],
        ["milestone 'm1'", "timeframe 'soon'"]),
    "duplicate id": (
        [milestone("m1", 1, triggered_by_event="login"), milestone("m1", 2, triggered_by_event="search")], [],
        ["milestone 'm1'", "duplicate milestone_id"]),
    "requirement for unknown milestone": (
        GOOD, [requirement("ghost", "login")],
        ["unknown milestone 'ghost'"]),
    "no trigger and no requirements": (
        [milestone("m1", 1)], [],
        ["milestone 'm1'", "no triggered_by_event"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGURATIONS))
def test_bad_configuration_fails_the_build_naming_the_milestone(dbt_builder, case):
    milestones, requirements, expected_phrases = BAD_CONFIGURATIONS[case]
    with pytest.raises(ConfigError):
        compute(USERS, EVENTS, milestones, requirements, {})
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, milestones, requirements))
    message = str(failure.value)
    for phrase in expected_phrases:
        assert phrase in message, message
    assert "Fix:" in message or "Invalid milestone configuration" in message


def test_several_problems_are_reported_together(dbt_builder):
    milestones = [milestone("m1", 1, weight=-2, timeframe="7 weeks", triggered_by_event="x"),
                  milestone("m2", 2, triggered_by_event="y", requires_milestone_id="zz")]
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, milestones, []))
    message = str(failure.value)
    assert "3 problem(s)" in message and "m1" in message and "m2" in message


def test_unknown_first_value_milestone_var_fails(dbt_builder):
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, GOOD, []),
                          vars={"activation_first_value_milestone": "nope"})
    assert "activation_first_value_milestone" in str(failure.value)


def test_no_valid_timestamp_and_no_as_of_is_a_clear_error(dbt_builder):
    events = [event("u1", "login", "not a time", "e1"), event("u1", "login", None, "e2")]
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, events, GOOD, []))
    assert "No event has a valid timestamp" in str(failure.value)


def test_no_valid_timestamp_with_as_of_quarantines_and_builds(dbt_builder):
    events = [event("u1", "login", "not a time", "e1")]
    marts = dbt_builder.build(Dataset(USERS, events, GOOD, []), vars={"activation_as_of": "2025-02-01"})
    assert [r["quarantine_reason"] for r in marts["quarantined_events"]] == ["invalid_timestamp"]
    assert marts["users"][0]["milestones_reached"] == 0


def test_empty_events_give_empty_results_not_an_error(dbt_builder):
    marts = dbt_builder.build(Dataset(USERS, [], GOOD, []))
    assert marts["quarantined_events"] == []
    assert all(not r["is_reached"] for r in marts["user_milestones"])
    assert marts["users"][0]["as_of"] is None


def test_empty_users_and_events_give_empty_marts(dbt_builder):
    marts = dbt_builder.build(Dataset([], [], GOOD, []))
    assert marts["users"] == [] and marts["user_milestones"] == []
