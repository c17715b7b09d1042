"""Several events tables read together (var `activation_event_relations`, README
"Several events tables").

The generator's events are split over three tables, as a web, an app and a server-side
pipeline would load them, with some event ids sent by two pipelines. Duplicates are
found within one table only, so the same logical data in one table is the split rows
with each table's event ids made its own (`one_table_equivalent`). Built from the three
tables with only the var set, the per-user marts must equal the one-table build row for
row and the Python reference on it; per table, the quarantine and data-quality counts
must equal the Python reference run on that table's rows alone.
"""

import datetime as dt
import random
import zlib
from collections import Counter

import pytest
from harness import (
    RAW_COLUMNS,
    BuildFailed,
    Dataset,
    assert_marts_match_reference,
    assert_same_tables,
    event,
    milestone,
    requirement,
    user,
)
from reference.activation_reference import compute, parse_timestamp
from test_event_layouts import COMPARED_MARTS_SELECTION, layout_table, per_user_marts
from test_incremental import LOOKBACK_DAYS, assert_plain_run_applies_everything, generated_dataset

WHITESPACE = " \t\n\x0b\x0c\r"
# How the tables are named in the var: a string with the schema, a mapping with a name of
# its own, a bare table name (the schema of the events source).
RELATIONS = ["raw.events_web", {"schema": "raw", "identifier": "events_app", "name": "app"}, "events_server"]
TABLES = {"raw.events_web": "events_web", "app": "events_app", "events_server": "events_server"}


def _trimmed(value):
    return value.strip(WHITESPACE) if isinstance(value, str) else value


def split_events(events, rng):
    """{source_relation: rows}: each row goes to one table by its event id (else its user
    id, else at random), so the copies the generator made stay in one table; then some
    rows with an id are sent again by a second table."""
    names = list(TABLES)
    tables = {name: [] for name in names}
    for row in events:
        key = _trimmed(row["event_id"]) or _trimmed(row["user_id"])
        name = names[zlib.crc32(key.encode()) % len(names)] if key else rng.choice(names)
        tables[name].append(dict(row))
    with_ids = [(name, row) for name in names for row in tables[name] if _trimmed(row["event_id"])]
    for name, row in rng.sample(with_ids, 15):
        other = rng.choice([n for n in names if n != name])
        tables[other].append(dict(row))
    return tables


def one_table_equivalent(tables):
    """The rows of all tables in one table, each table's event ids prefixed with its
    name: what the package must make of the tables (no duplicates across tables)."""
    rows = []
    for name, table_rows in tables.items():
        for row in table_rows:
            event_id = _trimmed(row["event_id"])
            rows.append(dict(row, event_id=f"{name}|{event_id}" if event_id else row["event_id"]))
    return rows


@pytest.fixture(scope="module")
def generated(dbt_builder):
    return generated_dataset(dbt_builder.workdir, 67, users=24, events_per_user=10, days=14)


def write_tables(dbt_builder, tables, columns=None, rows_of=None):
    """Write each table of `tables` ({source_relation: rows}) and empty the events source,
    so a build that read the source instead would find nothing."""
    columns = columns or RAW_COLUMNS["events"]
    dbt_builder.engine.write_raw_tables({TABLES[name]: (columns, rows_of(rows) if rows_of else rows)
                                         for name, rows in tables.items()})
    dbt_builder.engine.write_raw_tables({"events": (columns, [])})


def quality_by_table(dbt_builder):
    counts = Counter()
    for row in dbt_builder.query("select * from main_activation.activation_data_quality where table_name = 'events'"):
        counts[(row["source_relation"], row["outcome"], row["reason"])] += row["row_count"]
    return counts


def test_several_tables_build_the_one_table_marts(dbt_builder, generated):
    dataset, vars = generated
    tables = split_events(dataset.events, random.Random(5))
    assert all(len(rows) > 20 for rows in tables.values())
    equivalent = Dataset(users=dataset.users, events=one_table_equivalent(tables),
                         milestones=dataset.milestones, requirements=dataset.requirements)
    dbt_builder.load(equivalent)
    dbt_builder.run_models(vars, full_refresh=True, select=COMPARED_MARTS_SELECTION)
    one_table = per_user_marts(dbt_builder)
    assert one_table["activation_users"] and one_table["activation_user_milestones"]

    relation_vars = dict(vars, activation_event_relations=RELATIONS)
    write_tables(dbt_builder, tables)
    dbt_builder.run_models(relation_vars, full_refresh=True, select=COMPARED_MARTS_SELECTION)
    # The data tests of the models holding source_relation, with the per-table
    # reconciliation tests and the per-table row count of the staged events.
    dbt_builder.run_models(relation_vars, command="test", select=(
        "stg_activation__events int_activation__events activation_quarantined_events activation_data_quality"))
    assert_same_tables(per_user_marts(dbt_builder), one_table, label="three tables")
    assert_marts_match_reference(dbt_builder.read_marts(), compute(
        equivalent.users, equivalent.events, equivalent.milestones, equivalent.requirements, vars))

    # Per table: quarantine and where every row went, against the reference on that
    # table's rows alone.
    quality = quality_by_table(dbt_builder)
    quarantined = Counter((row["source_relation"], row["quarantine_reason"]) for row in dbt_builder.query(
        "select source_relation, quarantine_reason from main_activation.activation_quarantined_events"))
    for name, rows in tables.items():
        ref = compute(dataset.users, rows, dataset.milestones, dataset.requirements, vars)
        assert quality[(name, "staged", "")] == ref["staged_events_count"], name
        assert quality[(name, "duplicate_removed", "")] == ref["duplicate_events_removed"], name
        reasons = Counter(row["reason"] for row in ref["events_quarantine"])
        assert {reason: quarantined[(name, reason)] for reason in reasons} == dict(reasons), name
        assert sum(count for (table, _), count in quarantined.items() if table == name) == sum(reasons.values())
        assert sum(count for (table, _, _), count in quality.items() if table == name) == len(rows), name
    assert {table for table, _, _ in quality} == set(TABLES)

    # The ids sent by two tables are two events each: deduplicating across tables would
    # stage fewer events than the reference above.
    shared = Counter(_trimmed(row["event_id"]) for rows in tables.values() for row in rows
                     if _trimmed(row["event_id"]))
    assert compute(dataset.users, [row for rows in tables.values() for row in rows], dataset.milestones,
                   dataset.requirements, vars)["staged_events_count"] \
        < sum(quality[(name, "staged", "")] for name in TABLES), shared.most_common(3)

    # Another list of tables stops a plain run, naming the var and the fix.
    with pytest.raises(BuildFailed) as stopped:
        dbt_builder.run_models(dict(vars, activation_event_relations=RELATIONS[:2]))
    assert "activation_event_relations" in str(stopped.value) and "--full-refresh" in str(stopped.value)


@pytest.mark.engine_independent
def test_same_event_id_in_two_tables_is_two_events(dbt_builder):
    """Hand-written: one event id in two tables, and twice in one of them. A milestone
    of two invites is reached only if the two tables' events both count."""
    row = event("u1", "invite_sent", "2025-01-02 10:00:00", event_id="e1")
    tables = {"raw.events_web": [row, dict(row)], "app": [dict(row, event_timestamp="2025-01-02 11:00:00")],
              "events_server": []}
    dataset = Dataset(users=[user("u1", "2025-01-01 00:00:00")], events=one_table_equivalent(tables),
                      milestones=[milestone("two_invites", 1, is_activation=True)],
                      requirements=[requirement("two_invites", "invite_sent", min_count=2)])
    vars = {"activation_as_of": "2025-01-10"}
    dbt_builder.load(dataset)
    write_tables(dbt_builder, tables)
    dbt_builder.run_models(dict(vars, activation_event_relations=RELATIONS), full_refresh=True, command="build")
    assert quality_by_table(dbt_builder) == Counter({("raw.events_web", "staged", ""): 1,
                                                     ("raw.events_web", "duplicate_removed", ""): 1,
                                                     ("app", "staged", ""): 1})
    ref = compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements, vars)
    assert [row["reached_at"] is not None for row in ref["user_milestones"]] == [True]
    assert_marts_match_reference(dbt_builder.read_marts(), ref)


def test_missing_column_names_the_table_the_column_and_the_var(dbt_builder, generated):
    dataset, vars = generated
    tables = split_events(dataset.events, random.Random(5))
    dbt_builder.load(dataset)
    write_tables(dbt_builder, tables)
    columns = {name: type_ for name, type_ in RAW_COLUMNS["events"].items() if name != "user_id"}
    app_rows = [{k: v for k, v in row.items() if k != "user_id"} for row in tables["app"]]
    dbt_builder.engine.write_raw_tables({"events_app": (columns, app_rows)})
    with pytest.raises(BuildFailed) as stopped:
        dbt_builder.run_models(dict(vars, activation_event_relations=RELATIONS), full_refresh=True)
    message = str(stopped.value)
    assert "events_app" in message and "'user_id'" in message and "activation_event_user_id_column" in message
    assert "events_web" not in message.split("Missing or invalid columns")[1].split("\n")[0], message


def test_property_columns_missing_from_one_table_read_as_null(dbt_builder, generated):
    """Segment layout: a property column one table does not have (its rows have no value
    for it) reads as null there; a column no table has stops the build."""
    from test_event_layouts import LAYOUT_VARS, generator

    dataset, vars = generated
    tables = split_events(dataset.events, random.Random(5))
    dropped = generator.PROPERTY_KEYS[0]
    column_types, _ = layout_table(dataset.events[:1], "segment")

    def segment_rows(rows):
        return layout_table(rows, "segment")[1]

    for name, rows in tables.items():
        if name == "app":
            for row in rows:
                row["properties"] = None  # no properties at all: the column can go
    equivalent = Dataset(users=dataset.users, events=one_table_equivalent(tables),
                         milestones=dataset.milestones, requirements=dataset.requirements)
    layout_vars = dict(vars, activation_events_layout="segment", **LAYOUT_VARS["segment"])
    dbt_builder.load(equivalent)
    dbt_builder.engine.write_raw_tables({"events": (column_types, segment_rows(equivalent.events))})
    dbt_builder.run_models(layout_vars, full_refresh=True, select=COMPARED_MARTS_SELECTION)
    one_table = per_user_marts(dbt_builder)

    written = {}
    for name, rows in tables.items():
        types, table_rows = layout_table(rows, "segment")
        if name == "app":
            types = {k: v for k, v in types.items() if k != dropped}
            table_rows = [{k: v for k, v in r.items() if k != dropped} for r in table_rows]
        written[TABLES[name]] = (types, table_rows)
    dbt_builder.engine.write_raw_tables(written)
    dbt_builder.engine.write_raw_tables({"events": (column_types, [])})
    dbt_builder.run_models(dict(layout_vars, activation_event_relations=RELATIONS), full_refresh=True,
                           select=COMPARED_MARTS_SELECTION)
    assert_same_tables(per_user_marts(dbt_builder), one_table, label="segment, three tables")

    with pytest.raises(BuildFailed) as stopped:
        dbt_builder.run_models(dict(layout_vars, activation_event_relations=RELATIONS,
                                    activation_event_property_columns=[*LAYOUT_VARS["segment"][
                                        "activation_event_property_columns"], "no_such_column"]), full_refresh=True)
    assert "'no_such_column'" in str(stopped.value) and "activation_event_property_columns" in str(stopped.value)


def test_load_time_watermark_is_kept_per_table(dbt_builder, generated):
    """Each table loads on its own clock. The server table was last loaded on 06-01, the
    web table on 06-03; rows the server pipeline loads on 06-02, dated long before the
    lookback window, must be applied by a plain run (a watermark shared by the tables,
    06-03, would leave them out and the run would stop)."""
    dataset, vars = generated
    vars = dict(vars, activation_event_loaded_at_column="loaded_at", activation_event_relations=RELATIONS)
    tables = split_events(dataset.events, random.Random(5))
    columns = dict(RAW_COLUMNS["events"], loaded_at="varchar")
    times = [parse_timestamp(r["event_timestamp"]) for r in dataset.events]
    window_start = max(t for t in times if t).date() - dt.timedelta(days=LOOKBACK_DAYS)
    old_rows = [row for row in tables["events_server"]
                if parse_timestamp(row["event_timestamp"]) and parse_timestamp(row["event_timestamp"]).date() < window_start]
    assert len(old_rows) >= 4
    held_back = old_rows[-3:]
    first = {name: [r for r in rows if not any(r is h for h in held_back)] for name, rows in tables.items()}
    loaded_on = {"raw.events_web": "2025-06-03 00:00:00", "app": "2025-06-03 00:00:00",
                 "events_server": "2025-06-01 00:00:00"}
    dbt_builder.load(dataset)
    write_tables(dbt_builder, first, columns=columns)
    for name, rows in first.items():
        dbt_builder.engine.write_raw_tables({TABLES[name]: (columns, [dict(r, loaded_at=loaded_on[name]) for r in rows])})
    dbt_builder.run_models(vars, full_refresh=True)
    dbt_builder.engine.append_raw_rows("events_server", columns,
                                       [dict(r, loaded_at="2025-06-02 00:00:00") for r in held_back])
    assert_plain_run_applies_everything(dbt_builder, vars)


@pytest.mark.engine_independent
@pytest.mark.parametrize("item, phrase", [
    ("a.b.c.d", "has more than three dot-separated parts"),
    ("raw.events; drop table x", "has no table name of letters"),
    ({"identifier": "events", "schema": "raw'"}, "has a schema name that is not"),
    ({"identifier": "events", "table": "x"}, "has the key 'table'"),
    (5, "is neither a text nor a mapping"),
])
def test_bad_relation_items_are_named(dbt_builder, item, phrase):
    from test_var_safety import _compile_error

    message = _compile_error(dbt_builder, {"activation_event_relations": ["raw.events", item]})
    assert "var activation_event_relations item 2" in message and phrase in message, message
    assert "Fix:" in message


@pytest.mark.engine_independent
def test_two_items_with_one_name_are_rejected(dbt_builder):
    from test_var_safety import _compile_error

    message = _compile_error(dbt_builder, {"activation_event_relations": [
        "raw.events", {"schema": "other", "identifier": "events", "name": "raw.events"}]})
    assert "item 2" in message and "has the name 'raw.events' of an earlier item" in message, message
