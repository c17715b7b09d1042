"""Raw tables under other column names, mapped by the column-name vars (README "Your data").

The same generated data (bad rows, duplicates, re-sent event ids) is loaded twice: once
under the canonical column names, once with every users and events column renamed and
the vars naming them. Every table in the marts schema must be the same row for row,
which checks that each var reaches the column it names (a model still reading a fixed
name fails), and against the Python reference (a column read into the wrong output).
The renamed tables hold none of the canonical names. Before they are loaded, the
renamed vars on the canonical tables must fail naming every var whose column is
missing, together; after the build, a plain run with the event id and properties
vars null must stop naming `--full-refresh` (the stored rows were read with them).

Optional columns (event id, properties, account, plan, install source) switched off
with a null var read as null: the renamed tables without those columns, compared with
the Python reference on the same data with those values null (duplicates then found
by content, property filters never met).
"""

import copy

import pytest
from harness import MART_SCHEMA, RAW_COLUMNS, BuildFailed, assert_marts_match_reference
from reference.activation_reference import compute
from test_incremental import BOOKKEEPING_COLUMNS, assert_same_tables, generated_dataset

EVENT_COLUMNS = {  # canonical name -> name in the renamed table, and the var naming it
    "event_id": ("message_id", "activation_event_id_column"),
    "user_id": ("distinct_id", "activation_event_user_id_column"),
    "event_name": ("event", "activation_event_name_column"),
    "event_timestamp": ("occurred_at", "activation_event_timestamp_column"),
    "properties": ("props_json", "activation_event_properties_column"),
}
USER_COLUMNS = {
    "user_id": ("id", "activation_user_id_column"),
    "account_id": ("workspace_id", "activation_account_id_column"),
    "created_at": ("signed_up_at", "activation_created_at_column"),
    "plan_tier": ("plan", "activation_plan_tier_column"),
    "install_source": ("channel", "activation_install_source_column"),
    "inviter_user_id": ("referred_by", "activation_inviter_column"),
}
OPTIONAL_OFF = {
    "events": ("event_id", "properties"),
    "users": ("account_id", "plan_tier", "install_source"),
}


def renamed_table(table, rows, columns, leave_out=()):
    """(columns, rows) of `table` with each canonical column renamed as `columns` says,
    without the canonical columns in `leave_out`."""
    names = {name: columns.get(name, (name, None))[0] for name in RAW_COLUMNS[table] if name not in leave_out}
    types = {names[name]: type_ for name, type_ in RAW_COLUMNS[table].items() if name in names}
    return types, [{names[name]: row[name] for name in names} for row in rows]


def renamed_vars(vars, switched_off=False):
    """`vars` plus the column vars of the renamed tables; `switched_off`: the optional
    columns' vars null."""
    columns = {var: renamed for renamed, var in [*EVENT_COLUMNS.values(), *USER_COLUMNS.values()]}
    if switched_off:
        columns.update({EVENT_COLUMNS.get(name, USER_COLUMNS.get(name))[1]: None
                        for names in OPTIONAL_OFF.values() for name in names})
    return dict(vars, **columns)


@pytest.fixture(scope="module")
def generated(dbt_builder):
    """The data set both tests load (one worker runs both, so each var set is parsed once)."""
    return generated_dataset(dbt_builder.workdir, 61, users=20, events_per_user=10, days=14)


def reference(dataset, vars):
    return compute(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                   dict(vars, activation_user_passthrough_columns=["company_size"]))


def test_renamed_columns_build_the_same_marts(dbt_builder, generated):
    dataset, vars = generated
    dbt_builder.load(dataset)
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.run_models(renamed_vars(vars), full_refresh=True)
    message = str(failure.value)
    for renamed, var in [*EVENT_COLUMNS.values(), *USER_COLUMNS.values()]:
        assert f"'{renamed}'" in message and var in message, (renamed, var, message)

    dbt_builder.run_models(vars, full_refresh=True)
    canonical = dbt_builder.read_all_marts()
    assert canonical["activation_users"] and canonical["activation_quarantined_events"]

    dbt_builder.engine.write_raw_tables({
        "events": renamed_table("events", dataset.events, EVENT_COLUMNS),
        "users": renamed_table("users", dataset.users, USER_COLUMNS),
    })
    dbt_builder.run_models(renamed_vars(vars), full_refresh=True)
    assert_same_tables(dbt_builder.read_all_marts(), canonical, skipped=BOOKKEEPING_COLUMNS, label="renamed")
    # The two builds share the models: a column read into the wrong output shows only
    # against the reference.
    assert_marts_match_reference(dbt_builder.read_marts(), reference(dataset, vars))

    # Column vars that change how the stored rows were read (no event id, no
    # properties): a plain run stops.
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.run_models(renamed_vars(vars, switched_off=True))
    message = str(failure.value)
    assert "--full-refresh" in message and "activation_event_*_column" in message, message


def test_optional_columns_set_to_null_read_as_null(dbt_builder, generated):
    dataset, vars = generated
    without = copy.deepcopy(dataset)
    for table, names in OPTIONAL_OFF.items():
        for row in getattr(without, table):
            row.update(dict.fromkeys(names))
    # The values left out must matter, or the comparison below could not fail.
    assert any(row["event_id"] for row in dataset.events) and any(row["properties"] for row in dataset.events)

    dbt_builder.load(dataset)
    dbt_builder.engine.write_raw_tables({
        "events": renamed_table("events", dataset.events, EVENT_COLUMNS, OPTIONAL_OFF["events"]),
        "users": renamed_table("users", dataset.users, USER_COLUMNS, OPTIONAL_OFF["users"]),
    })
    dbt_builder.run_models(renamed_vars(vars, switched_off=True), full_refresh=True)

    assert_marts_match_reference(dbt_builder.read_marts(), reference(without, vars))
    users = dbt_builder.query(f"select account_id, plan_tier, install_source from {MART_SCHEMA}.activation_users")
    assert users and all(value is None for row in users for value in row.values())
