"""SPEC §9: the marts hold no raw event properties and no raw text of rejected rows.
The quarantine marts give ids, reasons and dates; the raw values of rejected rows stay
in the staging-schema views `int_activation__quarantined_event_details` and
`int_activation__quarantined_user_details` for debugging."""

import datetime as dt

import pytest
from engines import get_engine_name
from harness import MART_SCHEMA, Dataset, event, milestone, user

STAGING_SCHEMA = f"{MART_SCHEMA}_staging"

# Text that must reach no mart: emails in properties (usable and rejected rows), the
# raw time text of rejected rows, the raw name text of a rejected row, the raw values
# of a rejected users row.
SECRETS = ("@example.com", "garbage-time-TXT-4412", "signup-garbage-TXT-7731", "secret-plan-Kq2",
           "Raw Name-TXT-9981")

USERS = [
    user("u1", "2025-01-01 00:00:00"),
    user("u2", "signup-garbage-TXT-7731", plan_tier="secret-plan-Kq2"),
]
EVENTS = [
    # usable: staged with an email in its properties
    event("u1", "login", "2025-01-01 01:00:00", "e1", '{"email": "jane.doe@example.com"}'),
    # usable experiment exposure: the experiment marts read its properties
    event("u1", "experiment_exposure", "2025-01-01 01:30:00", "e2",
          '{"experiment": "exp1", "variant": "control", "email": "exp.person@example.com"}'),
    event("u1", "login", "2025-01-01 02:00:00", "e3", '{"email": "broken.json@example.com"'),
    event("u1", "login", "garbage-time-TXT-4412", "e4", '{"email": "ts.person@example.com"}'),
    event("ghost", "login", "2025-01-01 03:00:00", "e5", '{"email": "ghost.user@example.com"}'),
    event(None, "Raw Name-TXT-9981", "2025-01-01 04:00:00", "e6", '{"email": "no.user@example.com"}'),
]
MILESTONES = [milestone("m1", 1, triggered_by_event="login")]


def _relations(builder, schema):
    """Every table and view in `schema`."""
    if get_engine_name() == "spark":
        return sorted(t.name for t in builder.engine.spark.catalog.listTables(schema) if not t.isTemporary)
    rows = builder.query(f"select table_name from information_schema.tables where table_schema = '{schema}'")
    return sorted(row["table_name"] for row in rows)


def _columns(builder, schema, relation):
    if get_engine_name() == "spark":
        rows = builder.query(f"describe {schema}.{relation}")
        names = []
        for row in rows:
            if not row["col_name"] or row["col_name"].startswith("#"):
                break
            names.append(row["col_name"])
        return names
    rows = builder.query("select column_name from information_schema.columns "
                         f"where table_schema = '{schema}' and table_name = '{relation}'")
    return [row["column_name"] for row in rows]


def _text_values(builder, schema, relation):
    return [str(value) for row in builder.query(f"select * from {schema}.{relation}") for value in row.values()
            if value is not None]


@pytest.fixture(scope="module")
def built(dbt_builder):
    # `build`: the data tests run too, among them the row reconciliation of the quarantine marts
    dbt_builder.build(Dataset(USERS, EVENTS, MILESTONES, []), vars={"activation_as_of": "2025-01-10 00:00:00"},
                      command="build")
    return dbt_builder


def test_no_mart_holds_raw_properties_or_raw_text(built):
    relations = _relations(built, MART_SCHEMA)
    # the marts of every folder, statistics included, are in the one marts schema
    assert {"activation_quarantined_events", "activation_quarantined_users", "activation_users",
            "activation_segment_tests", "activation_experiments"} <= set(relations)
    problems = []
    for relation in relations:
        for column in _columns(built, MART_SCHEMA, relation):
            if column.lower() == "properties" or column.lower().endswith("_raw"):
                problems.append(f"{relation}.{column}: raw column")
        for text in _text_values(built, MART_SCHEMA, relation):
            problems += [f"{relation}: holds {secret!r} ({text!r})" for secret in SECRETS if secret in text]
    assert not problems, "\n".join(problems)


def test_quarantine_marts_give_ids_reasons_and_dates(built):
    events = built.query(f"select * from {MART_SCHEMA}.activation_quarantined_events")
    assert sorted((r["event_id"], r["user_id"], r["event_name"], r["quarantine_reason"]) for r in events) == [
        ("e3", "u1", "login", "invalid_properties_json"),
        ("e4", "u1", "login", "invalid_timestamp"),
        ("e5", "ghost", "login", "unknown_user"),
        ("e6", None, "raw_name_txt_9981", "missing_user_id"),
    ]
    event_at = {r["event_id"]: r["event_at"] for r in events}
    assert event_at["e4"] is None
    assert event_at["e5"].replace(tzinfo=None) == dt.datetime(2025, 1, 1, 3)
    (rejected_user,) = built.query(f"select * from {MART_SCHEMA}.activation_quarantined_users")
    assert rejected_user == {"user_id": "u2", "account_id": "acct", "created_at": None,
                             "quarantine_reason": "invalid_created_at"}


def test_raw_values_stay_in_the_staging_schema(built):
    assert {"int_activation__quarantined_event_details", "int_activation__quarantined_user_details"} <= set(
        _relations(built, STAGING_SCHEMA))
    details = {r["event_id"]: r for r in built.query(
        f"select * from {STAGING_SCHEMA}.int_activation__quarantined_event_details")}
    assert sorted(details) == ["e3", "e4", "e5", "e6"]
    assert details["e3"]["properties"] == '{"email": "broken.json@example.com"'
    assert details["e4"]["event_timestamp_raw"] == "garbage-time-TXT-4412"
    assert details["e5"]["properties"] == '{"email": "ghost.user@example.com"}'
    assert details["e6"]["event_name_raw"] == "Raw Name-TXT-9981"
    (user_row,) = built.query(f"select * from {STAGING_SCHEMA}.int_activation__quarantined_user_details")
    assert user_row["created_at_raw"] == "signup-garbage-TXT-7731" and user_row["plan_tier"] == "secret-plan-Kq2"
