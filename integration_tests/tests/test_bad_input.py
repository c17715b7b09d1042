"""Bad configuration stops the build with a message naming the milestone and the fix;
bad data never stops it silently."""

import json

import pytest
from engines import get_engine_name
from harness import (
    RAW_COLUMNS,
    BuildFailed,
    Dataset,
    assert_marts_match_reference,
    event,
    milestone,
    requirement,
    user,
)
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
    # Weights arrive as text so that every engine's raw DOUBLE column holds the IEEE
    # value (a float NaN in the DuckDB harness's insert frame would become null).
    "NaN weight": (
        [milestone("m1", 1, weight="NaN", triggered_by_event="login")], [],
        ["milestone 'm1'", "weight NaN is not a finite number"]),
    "infinite weight": (
        [milestone("m1", 1, weight="Infinity", triggered_by_event="login")], [],
        ["milestone 'm1'", "weight Infinity is not a finite number"]),
    "negative infinite weight": (
        [milestone("m1", 1, weight="-Infinity", triggered_by_event="login")], [],
        ["milestone 'm1'", "weight -Infinity is not a finite number"]),
    "timeframe in days over the bound": (
        [milestone("m1", 1, timeframe="25000d", triggered_by_event="login")], [],
        ["milestone 'm1'", "timeframe '25000d'", "3650 days"]),
    "timeframe in hours over the bound": (
        [milestone("m1", 1, timeframe="87601h", triggered_by_event="login")], [],
        ["milestone 'm1'", "timeframe '87601h'", "87600h"]),
    "timeframe_days over the bound": (
        [milestone("m1", 1, timeframe=None, timeframe_days=25000, triggered_by_event="login")], [],
        ["milestone 'm1'", "timeframe_days 25000", "3650 days"]),
    "level out of range": (
        [milestone("m1", -1, triggered_by_event="login")], [],
        ["milestone 'm1'", "level -1"]),
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


# Property keys with characters that are special in a JSON path ($."k", $['k'], JSON
# pointer /k), in SQL literals or outside ASCII; values with quotes, backslashes,
# braces and Unicode. Each pair is one milestone; u1's event carries the exact pair,
# u2's the same key with another value. Milestone ids and event names carry the same
# characters (SPEC §9: configuration strings are data).
SPECIAL_PROPERTIES = [
    ('say "hi"', 'he said "yes"'),
    ("back\\slash", "C:\\path\\file"),
    ("o'key", "o'brien"),
    ("dotted.key", "{not: json}"),
    ("arr[0]", "[1, 2]"),
    ("with space", "  padded value "),
    ("検索キー", "café ☕ 検索"),
    ('q"/~0', "}{"),
    ("{brace}", "$.x"),
]


def _special_dataset():
    users = [user("u1", "2025-01-01 00:00:00"), user("u2", "2025-01-01 00:00:00")]
    milestones, requirements, events = [], [], []
    for index, (key, value) in enumerate(SPECIAL_PROPERTIES, start=1):
        milestone_id = f"m{index} {key} '{value}'"
        event_name = f'Prop "{key}" {index}'
        milestones.append(milestone(milestone_id, index, triggered_by_event=None))
        requirements.append(requirement(milestone_id, event_name, property_key=key, property_value=value))
        at = f"2025-01-01 {index:02d}:00:00"
        events.append(event("u1", event_name, at, f"e1-{index}",
                            json.dumps({"other": 1, key: value}, ensure_ascii=False)))
        events.append(event("u2", event_name, at, f"e2-{index}", json.dumps({key: value + "x", "other": value})))
    return Dataset(users, events, milestones, requirements)


def test_property_keys_and_values_with_special_characters_work(dbt_builder):
    dataset = _special_dataset()
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, {})
    reached = {(r["user_id"], r["milestone_id"]) for r in ref["user_milestones"] if r["is_reached"]}
    assert reached == {("u1", m["milestone_id"]) for m in dataset.milestones}
    marts = dbt_builder.build(dataset)
    assert_marts_match_reference(marts, ref)


@pytest.mark.skipif(get_engine_name() != "spark", reason="only Spark's JSON path cannot express the key")
def test_property_key_spark_cannot_express_is_rejected(dbt_builder):
    milestones = [milestone("m1", 1)]
    requirements = [requirement("m1", "login", property_key="o'k.x", property_value="v")]
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, milestones, requirements))
    message = str(failure.value)
    assert "milestone 'm1'" in message and "o'k.x" in message and "Spark" in message, message


def _build_with_columns(dbt_builder, dataset, columns, vars=None):
    """Build with raw tables whose columns are `columns` ({table: [names]}) instead of the
    harness's fixed set (the rows keep only those columns)."""
    dbt_builder.load(dataset)
    tables = {}
    for table, names in columns.items():
        table_columns = {name: RAW_COLUMNS[table][name] for name in names}
        rows = [{name: row.get(name) for name in names} for row in dataset.tables()[table]]
        tables[table] = (table_columns, rows)
    dbt_builder.engine.write_raw_tables(tables)
    dbt_builder.run_models(vars=vars, full_refresh=True)


def test_users_table_without_a_required_column_names_it(dbt_builder):
    names = [name for name in RAW_COLUMNS["users"] if name != "install_source"]
    with pytest.raises(BuildFailed) as failure:
        _build_with_columns(dbt_builder, Dataset(USERS, EVENTS, GOOD, []), {"users": names})
    message = str(failure.value)
    assert "'install_source'" in message and "users" in message, message
    assert "activation_install_source_column" in message and "to null" in message, message
    assert "Binder Error" not in message and "does not exist" not in message, message


def test_events_table_without_the_time_column_names_it_and_the_var(dbt_builder):
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, GOOD, []),
                          vars={"activation_event_timestamp_column": "occurred_at"})
    message = str(failure.value)
    assert "occurred_at" in message and "activation_event_timestamp_column" in message, message
    assert "events" in message, message


def test_column_name_var_must_be_a_plain_identifier(dbt_builder):
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, GOOD, []),
                          vars={"activation_inviter_column": "inviter_user_id) as x, (1"})
    message = str(failure.value)
    assert "activation_inviter_column" in message and "plain column name" in message, message


def test_bad_configuration_stops_the_event_models(dbt_builder):
    # A good build first, so stale tables from it would show if the bad one let them run.
    dbt_builder.build(Dataset(USERS, EVENTS, GOOD, []))
    stopped = ["int_activation__events_classified", "activation_data_quality",
               "activation_quarantined_events", "activation_quarantined_users", "activation_users"]
    bad = [milestone("m1", 1, weight=-1, triggered_by_event="login")]
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, EVENTS, bad, []), command="build")
    assert "weight -1" in str(failure.value)
    results = failure.value.result.result.results  # dbt's run results (run_results.json)
    status = {result.node.unique_id.split(".")[-1]: str(result.status) for result in results}
    for name in stopped:
        assert status.get(name) == "skipped", (name, status.get(name))
    assert status["int_activation__milestones"] == "error"
