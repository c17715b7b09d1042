"""Events tables in a tracker's layout (var `activation_events_layout`, README "Tracker layouts").

The generator writes the same events rows in each layout (scripts/generate_data.py
`events_in_layout`): renamed columns, and in the Segment and RudderStack layouts the
properties spread over one column per key. Built through the layout with only vars set,
the per-user marts must equal the canonical build of the same logical data row for row,
and the Python reference on it. That is the test of every mapping: a layout reading a
wrong column, or a property column left out, changes the milestones reached.

The same logical data is not always the same canonical rows:
- Segment and RudderStack cannot hold a properties text that is not a JSON object
  (invalid JSON among the generator's bad rows): those rows have no properties there.
- Mixpanel counts rows as one event only when name, distinct_id, time and insert_id are
  all equal: an insert id re-sent with another time is another event there.
`canonical_equivalent` writes those differences into the canonical rows, each stated
above; every other layout must give the canonical build of the unchanged data.
"""

import importlib.util
import json
import random
import sys
from pathlib import Path

import pytest
from harness import PER_USER_MARTS_SELECTION, BuildFailed, Dataset, assert_marts_match_reference, assert_same_tables
from reference.activation_reference import compute, parse_properties, parse_timestamp, property_as_text
from test_incremental import BOOKKEEPING_COLUMNS, build_in_batches, generated_dataset, plan_batches
from test_tracker_fixtures import derived_users

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("generate_data", ROOT / "scripts" / "generate_data.py")
generator = sys.modules.setdefault("generate_data", importlib.util.module_from_spec(_spec))
if not hasattr(generator, "events_in_layout"):
    _spec.loader.exec_module(generator)

LAYOUT_VARS = {  # the vars a user of each layout sets, besides activation_events_layout
    "segment": {"activation_event_property_columns": generator.PROPERTY_KEYS},
    "rudderstack": {"activation_event_property_columns": generator.PROPERTY_KEYS},
    "amplitude": {},
    "mixpanel": {},
    "snowplow": {"activation_event_properties_column": generator.SNOWPLOW_PROPERTIES_COLUMN},
    "posthog": {},
}
# Layouts whose mapping needs an engine's own SQL (the JSON object of property columns,
# the Mixpanel id): run on every engine. The others only rename columns.
ENGINE_SPECIFIC = ("segment", "mixpanel")
WHITESPACE = " \t\n\x0b\x0c\r"


def layout_table(events, layout):
    """(column types, rows) of the events in `layout`, as the generator writes them."""
    import pandas as pd

    frame = pd.DataFrame(events, columns=generator.EVENT_COLUMNS)
    table = generator.events_in_layout(frame, layout)
    rows = [{k: (None if v is None or v != v else v) for k, v in row.items()} for row in table.to_dict("records")]
    return {column: "varchar" for column in table.columns}, rows


def canonical_equivalent(events, layout):
    """The canonical events rows holding what the layout's table holds (module docstring)."""
    rows = [dict(row) for row in events]
    if layout in ("segment", "rudderstack"):
        for row in rows:
            try:
                is_object = isinstance(json.loads(row["properties"]), dict) if row["properties"] is not None else False
            except ValueError:
                is_object = False
            row["properties"] = json.dumps(generator.spread_properties(row["properties"])) if is_object else None
    if layout == "mixpanel":
        for row in rows:
            user_id = (row["user_id"] or "").strip(WHITESPACE)
            event_at = parse_timestamp(row["event_timestamp"])
            if row["event_id"] and (row["event_id"]).strip(WHITESPACE) and user_id and row["event_name"] is not None \
                    and event_at is not None:
                row["event_id"] = "|".join([row["event_id"].strip(WHITESPACE), user_id, row["event_name"],
                                            event_at.isoformat()])
            elif row["event_id"] and row["event_id"].strip(WHITESPACE):
                row["event_id"] = None  # the SQL id is null then: found by content (the row is quarantined)
    return rows


@pytest.fixture(scope="module")
def generated(dbt_builder):
    return generated_dataset(dbt_builder.workdir, 61, users=20, events_per_user=10, days=14)


COMPARED_MARTS = ("activation_users", "activation_user_milestones", "activation_cohort_completion",
                  "activation_funnel", "activation_pql_score_history")
# The builds compared here make those marts and the ones `read_marts` returns, with
# everything they are built from: a layout (or several tables) changes how the events
# are read, which every one of them sees; the other marts read the same intermediate
# models and cost a build its time twice over, most on Spark.
COMPARED_MARTS_SELECTION = " ".join([PER_USER_MARTS_SELECTION, *(f"+{name}" for name in COMPARED_MARTS)])


def per_user_marts(dbt_builder):
    return {name: rows for name, rows in dbt_builder.read_all_marts().items() if name in COMPARED_MARTS}


@pytest.mark.parametrize("layout", [
    pytest.param(layout, marks=() if layout in ENGINE_SPECIFIC else pytest.mark.engine_independent)
    for layout in LAYOUT_VARS
])
def test_layout_builds_the_canonical_marts(dbt_builder, generated, layout):
    dataset, vars = generated
    equivalent = Dataset(users=dataset.users, events=canonical_equivalent(dataset.events, layout),
                         milestones=dataset.milestones, requirements=dataset.requirements)
    dbt_builder.load(equivalent)
    dbt_builder.run_models(vars, full_refresh=True, select=COMPARED_MARTS_SELECTION)
    canonical = per_user_marts(dbt_builder)
    assert canonical["activation_users"] and canonical["activation_user_milestones"]

    layout_vars = dict(vars, activation_events_layout=layout, **LAYOUT_VARS[layout])
    dbt_builder.engine.write_raw_tables({"events": layout_table(dataset.events, layout)})
    dbt_builder.run_models(layout_vars, full_refresh=True, select=COMPARED_MARTS_SELECTION)
    assert_same_tables(per_user_marts(dbt_builder), canonical, label=layout)
    assert_marts_match_reference(dbt_builder.read_marts(), compute(
        equivalent.users, equivalent.events, equivalent.milestones, equivalent.requirements, vars))

    if layout == "segment":
        # The stored rows were read with these property columns: another list stops a
        # plain run, naming the var and the fix.
        with pytest.raises(BuildFailed) as stopped:
            dbt_builder.run_models(dict(layout_vars, activation_event_property_columns=generator.PROPERTY_KEYS[1:]))
        assert "activation_event_property_columns" in str(stopped.value), stopped.value
        assert "--full-refresh" in str(stopped.value), stopped.value


@pytest.mark.engine_independent
def test_layout_differences_matter(generated):
    """The equivalents above differ from the plain data where the docstring says, so a
    layout ignoring them (e.g. Mixpanel ids without the time) could not pass."""
    dataset, _ = generated
    assert canonical_equivalent(dataset.events, "amplitude") == dataset.events
    mixpanel = canonical_equivalent(dataset.events, "mixpanel")
    plain_ids = {row["event_id"] for row in dataset.events if row["event_id"]}
    composite_ids = {row["event_id"] for row in mixpanel if row["event_id"]}
    assert len(composite_ids) > len(plain_ids)  # re-sent ids with another time are events of their own
    segment = canonical_equivalent(dataset.events, "segment")
    assert any(a["properties"] is not None and b["properties"] is None for a, b in zip(dataset.events, segment))


def test_layout_missing_column_names_the_column_the_var_and_the_layout(dbt_builder, generated):
    """The canonical table read as Amplitude: every missing column named with its var."""
    dataset, vars = generated
    dbt_builder.load(dataset)
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.run_models(dict(vars, activation_events_layout="amplitude"), full_refresh=True)
    message = str(failure.value)
    for column, var in [("uuid", "activation_event_id_column"), ("event_type", "activation_event_name_column"),
                        ("event_time", "activation_event_timestamp_column"),
                        ("event_properties", "activation_event_properties_column")]:
        assert f"'{column}'" in message and var in message, (column, message)
    assert "layout amplitude" in message and "activation_events_layout" in message, message


def test_users_derived_from_events_incremental_equals_full_refresh(dbt_builder, generated):
    """`activation_users_from: events` over loads in time order with late and duplicate
    rows: a user's first event (the signup) can arrive late and move created_at earlier;
    every mart must end as the full refresh's, which must match the reference on the
    users derived in Python."""
    dataset, vars = generated
    vars = dict(vars, activation_users_from="events", activation_user_passthrough_columns=[],
                activation_signup_event="login", activation_plan_tier_trait="plan",
                activation_event_passthrough_properties=["step", "document_type"])
    events = Dataset(users=[], events=dataset.events, milestones=dataset.milestones,
                     requirements=dataset.requirements)
    dbt_builder.load(events)
    dbt_builder.run_models(vars, full_refresh=True)
    expected = dbt_builder.read_all_marts()
    assert any(row["plan_tier"] for row in expected["activation_users"])
    # The passthrough properties as columns of the staged events, one per key.
    staged = dbt_builder.query("select event_id, property_step, property_document_type, properties "
                               "from main_activation_staging.stg_activation__events")
    counts = {}
    for row in staged:
        key = (row["property_step"], row["property_document_type"])
        counts[key] = counts.get(key, 0) + 1
    expected_counts = {}
    for event in dataset.events:
        valid, parsed = parse_properties(event["properties"])
        key = (property_as_text(parsed, "step"), property_as_text(parsed, "document_type")) if valid else (None, None)
        expected_counts[key] = expected_counts.get(key, 0) + 1
    assert counts == expected_counts and len(counts) > 3, counts

    users = derived_users(dataset.events, lambda row: row, "properties", vars)
    assert_marts_match_reference(dbt_builder.read_marts(), compute(
        users, dataset.events, dataset.milestones, dataset.requirements, vars))

    batches = plan_batches(dataset.events, random.Random(611))
    incremental = build_in_batches(dbt_builder, events, batches, vars)
    assert_same_tables(incremental, expected, skipped=BOOKKEEPING_COLUMNS, label="incremental")



@pytest.mark.engine_independent
def test_readme_layout_examples_set_only_package_vars():
    """Every vars block of the README's "Tracker layouts" and "Several events tables"
    parses and names only vars of the package, with a layout the package knows."""
    import re

    import yaml

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Tracker layouts"):readme.index("### Vars")]
    specs = (ROOT / "macros" / "activation_var.sql").read_text()
    known = set(re.findall(r"^        '(activation_[a-z_]+)': \{'kind'", specs, flags=re.M))
    assert "activation_event_relations" in known and len(known) > 40
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 6
    for block in blocks:
        vars = yaml.safe_load(block)["vars"]
        assert set(vars) <= known, set(vars) - known
        assert vars.get("activation_events_layout", "canonical") in (*LAYOUT_VARS, "canonical")
