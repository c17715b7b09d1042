"""Real trackers' rows (integration_tests/fixtures/sources: Mixpanel, Amplitude, Segment, Snowplow as
landed in a warehouse) built end to end with only vars set, users derived from the
events (`activation_users_from: events`, README "Tracker layouts").

Each fixture's table is loaded as it is (every column text). The reference side maps
the rows to canonical events by hand, from each layout's documented columns, derives
the users (first signup event or first event seen, traits from the user's first event
having them) and runs the Python reference on them: every per-user mart and the
quarantine and reconciliation counts must agree. The milestones are made from each
fixture's own event names so that some are reached. On DuckDB and PostgreSQL the build
is `dbt build`, so every data test of the package runs on the derived users too.
"""

import csv
import json
from pathlib import Path

import pytest
from engines import get_engine_name
from harness import Dataset, assert_marts_match_reference
from reference.activation_reference import (
    clean_text,
    compute,
    normalise_event_name,
    parse_properties,
    parse_timestamp,
    property_as_text,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


def _properties(row, columns):
    return json.dumps({column: row[column] for column in columns})


def _mixpanel_id(row):
    event_at = parse_timestamp(row["time"])
    parts = [clean_text(row["insert_id"]), clean_text(row["distinct_id"]), row["name"]]
    if parts[0] is None or None in parts or event_at is None:
        return None
    return "|".join([*parts, event_at.isoformat()])


# fixture -> (file, vars, canonical events of a raw row, the raw column holding the traits)
CASES = {
    "mixpanel": ("mixpanel_event.csv",
                 {"activation_events_layout": "mixpanel", "activation_signup_event": "playthrough_30",
                  "activation_install_source_trait": "Operating System",
                  "activation_event_passthrough_properties": ["Operating System", "video_id"]},
                 lambda row: {"event_id": _mixpanel_id(row), "user_id": row["distinct_id"], "event_name": row["name"],
                              "event_timestamp": row["time"], "properties": row["properties"]},
                 "properties"),
    "amplitude": ("amplitude_event_data.csv",
                  {"activation_events_layout": "amplitude", "activation_install_source_trait": "Cohort"},
                  lambda row: {"event_id": row["uuid"], "user_id": row["user_id"], "event_name": row["event_type"],
                               "event_timestamp": row["event_time"], "properties": row["event_properties"]},
                  "user_properties"),
    "segment": ("segment_example_pages.csv",
                {"activation_events_layout": "segment", "activation_event_name_column": "path",
                 "activation_event_property_columns": ["url", "title", "referrer"]},
                lambda row: {"event_id": row["id"], "user_id": row["user_id"], "event_name": row["path"],
                             "event_timestamp": row["timestamp"],
                             "properties": _properties(row, ["url", "title", "referrer"])},
                "properties"),
    "snowplow": ("snowplow_web_events.csv",
                 {"activation_events_layout": "snowplow",
                  "activation_event_property_columns": ["page_urlhost", "page_urlpath", "page_title"],
                  "activation_account_trait": "page_urlhost", "activation_plan_tier_trait": "page_title"},
                 lambda row: {"event_id": row["event_id"], "user_id": row["user_id"], "event_name": row["event_name"],
                              "event_timestamp": row["derived_tstamp"],
                              "properties": _properties(row, ["page_urlhost", "page_urlpath", "page_title"])},
                 "properties"),
}
TRAITS = {"activation_account_trait": "account_id", "activation_plan_tier_trait": "plan_tier",
          "activation_install_source_trait": "install_source"}


def read_fixture(name):
    with open(FIXTURES / name, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
        return {column: "varchar" for column in reader.fieldnames}, rows


def derived_users(raw_rows, to_event, traits_column, vars):
    """Users as the README defines them for `activation_users_from: events`."""
    signup = normalise_event_name(vars.get("activation_signup_event"))
    seen = {}
    for raw in raw_rows:
        event = to_event(raw)
        user_id, name = clean_text(event["user_id"]), normalise_event_name(event["event_name"])
        event_at = parse_timestamp(event["event_timestamp"])
        if user_id is None or name is None or event_at is None:
            continue
        user = seen.setdefault(user_id, {"first": event_at, "signup": None, "traits": {}})
        user["first"] = min(user["first"], event_at)
        if signup is not None and name == signup:
            user["signup"] = event_at if user["signup"] is None else min(user["signup"], event_at)
        traits_text = event["properties"] if traits_column == "properties" else raw[traits_column]
        valid, parsed = parse_properties(traits_text)
        for var, column in TRAITS.items():
            value = property_as_text(parsed, vars[var]) if valid and vars.get(var) else None
            if value is not None:
                user["traits"][column] = min(user["traits"].get(column, (event_at, value)), (event_at, value))
    return [{"user_id": user_id, "created_at": (user["signup"] or user["first"]).isoformat(sep=" "),
             "account_id": None, "plan_tier": None, "install_source": None, "inviter_user_id": None,
             "company_size": None, **{column: value for column, (_, value) in user["traits"].items()}}
            for user_id, user in seen.items()]


def fixture_milestones(events):
    """Two milestones from the fixture's most frequent event names: the first needs
    one event within 30 days of signup, the second two of the next name."""
    counts = {}
    for event in events:
        name = normalise_event_name(event["event_name"])
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    names = sorted(counts, key=lambda name: (-counts[name], name))[:2]
    milestones = [{"milestone_id": f"used_{i}", "definition": f"uses {name}", "level": i, "weight": 1.0,
                   "timeframe": "30d", "timeframe_days": None, "triggered_by_event": None,
                   "is_activation": i == 1, "requires_milestone_id": None}
                  for i, name in enumerate(names, start=1)]
    requirements = [{"milestone_id": f"used_{i}", "path_id": 1, "event_name": name, "min_count": i,
                     "property_key": None, "property_value": None}
                    for i, name in enumerate(names, start=1)]
    return milestones, requirements


@pytest.mark.parametrize("fixture", list(CASES))
def test_tracker_fixture_builds_with_vars_only(dbt_builder, fixture):
    file_name, layout_vars, to_event, traits_column = CASES[fixture]
    columns, raw_rows = read_fixture(file_name)
    events = [to_event(row) for row in raw_rows]
    users = derived_users(raw_rows, to_event, traits_column, layout_vars)
    milestones, requirements = fixture_milestones(events)
    assert users and milestones

    # The canonical tables hold the reference's input; the events table is then replaced
    # by the fixture as it is, and the users table is not read.
    dbt_builder.load(Dataset(users=[], events=[], milestones=milestones, requirements=requirements))
    dbt_builder.engine.write_raw_tables({"events": (columns, raw_rows)})
    vars = dict(layout_vars, activation_users_from="events", activation_user_passthrough_columns=[])
    # `dbt build` as a user runs it (the package's unit tests are off in a user's
    # project): every data test holds on derived users too (e.g. the users
    # reconciliation counts the events' user ids). Spark and the Snowflake emulator
    # pay per test: there the models only (the SQL is the same).
    if get_engine_name() in ("spark", "snowflake"):
        dbt_builder.run_models(vars, full_refresh=True)
    else:
        dbt_builder.run_dbt_with_vars(["build", "--full-refresh", "--exclude", "resource_type:unit_test"], vars)

    marts = dbt_builder.read_marts()
    assert_marts_match_reference(marts, compute(users, events, milestones, requirements, {}))
    assert any(row["milestone_id"] == "used_1" and row["reached_at"] is not None for row in marts["user_milestones"])
    for column in {TRAITS[var] for var in layout_vars if var in TRAITS}:
        assert any(row[column] is not None for row in marts["users"]), column

    # Passthrough properties: columns property_<key in snake_case> of the staged events.
    keys = layout_vars.get("activation_event_passthrough_properties", [])
    if keys:
        names = ["property_" + "_".join("".join(c if c.isalnum() else " " for c in key.lower()).split())
                 for key in keys]
        staged = dbt_builder.query(f"select {', '.join(names)} from main_activation_staging.stg_activation__events")
        expected = sorted((tuple(property_as_text(parse_properties(event["properties"])[1], key) for key in keys)
                          for event in events), key=repr)
        assert sorted((tuple(row[name] for name in names) for row in staged), key=repr) == expected
        assert any(value is not None for values in expected for value in values)
