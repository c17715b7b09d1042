"""User traits from a table of their own (var `activation_user_traits_relation`), for
users derived from the events: Segment or RudderStack `identifies`, Mixpanel people.

The traits are columns of that table named by the trait vars; each is the value of the
user's latest row that has it (rows without a readable time are the oldest; ties: the
smallest value). Built that way, the marts must equal a build from a users table
holding the users derived in Python (created_at from the events, traits by that rule
from the identifies rows), and the Python reference on it.
"""

import datetime as dt
import random

import pytest
from harness import RAW_COLUMNS, BuildFailed, Dataset, assert_marts_match_reference, assert_same_tables
from reference.activation_reference import compute, parse_timestamp
from test_event_layouts import per_user_marts
from test_incremental import assert_plain_run_applies_everything, generated_dataset
from test_tracker_fixtures import derived_users

WHITESPACE = " \t\n\x0b\x0c\r"
TRAIT_COLUMNS = {"plan_tier": "plan", "account_id": "company_id", "install_source": "utm_source"}
IDENTIFIES_COLUMNS = {"user_id": "varchar", "anonymous_id": "varchar", "timestamp": "varchar",
                      "plan": "varchar", "company_id": "varchar", "utm_source": "varchar"}
TRAIT_VARS = {"activation_plan_tier_trait": "plan", "activation_account_trait": "company_id",
              "activation_install_source_trait": "utm_source"}


@pytest.fixture(scope="module")
def generated(dbt_builder):
    return generated_dataset(dbt_builder.workdir, 71, users=24, events_per_user=8, days=14)


def identifies_rows(users, rng):
    """Identify calls: one to four a user at random times, each trait set or not; some
    with an unreadable or no time, a padded user id, a user with no events, no user."""
    rows = []
    start = dt.datetime(2025, 6, 1)
    for user in users:
        for _ in range(rng.randint(1, 4)):
            time = start + dt.timedelta(minutes=rng.randint(0, 20000))
            time_text = rng.choice([time.strftime("%Y-%m-%d %H:%M:%S")] * 6 + [None, "not a time"])
            user_id = user["user_id"] if rng.random() < 0.8 else f"  {user['user_id']}\t"
            rows.append({"user_id": user_id, "anonymous_id": f"anon-{rng.randint(0, 99)}", "timestamp": time_text,
                         "plan": rng.choice(["free", "pro", "team", None]),
                         "company_id": rng.choice(["c1", "c2", None, None]),
                         "utm_source": rng.choice(["ads", "seo", "partner", None])})
    rows.append({"user_id": "nobody_with_events", "anonymous_id": None, "timestamp": "2025-06-02 00:00:00",
                 "plan": "pro", "company_id": "c9", "utm_source": "ads"})
    rows.append({"user_id": None, "anonymous_id": "anon-x", "timestamp": "2025-06-02 00:00:00",
                 "plan": "pro", "company_id": "c9", "utm_source": "ads"})
    return rows


def latest_traits(rows):
    """{user_id: {users column: value}} by the rule of the module docstring."""
    chosen = {}
    for row in rows:
        user_id = (row["user_id"] or "").strip(WHITESPACE) or None
        if user_id is None:
            continue
        at = parse_timestamp(row["timestamp"])
        rank = (at is not None, at or dt.datetime.min)
        for column, trait in TRAIT_COLUMNS.items():
            value = row[trait]
            if value is None:
                continue
            best = chosen.setdefault(user_id, {}).get(column)
            if best is None or rank > best[0] or (rank == best[0] and value < best[1]):
                chosen[user_id][column] = (rank, value)
    return {user_id: {column: value for column, (_, value) in traits.items()} for user_id, traits in chosen.items()}


def test_traits_table_gives_the_latest_traits(dbt_builder, generated):
    dataset, vars = generated
    vars = dict(vars, activation_users_from="events", activation_user_passthrough_columns=[],
                activation_signup_event="login")
    identifies = identifies_rows(dataset.users, random.Random(3))
    traits = latest_traits(identifies)
    users = derived_users(dataset.events, lambda row: row, "properties", vars)
    for row in users:
        row.update(traits.get(row["user_id"], {}))
    # The data tells the rule apart: some latest rows lack a trait an older row has,
    # some users have rows with no readable time, some traits differ between rows.
    assert sum(1 for row in users if row["plan_tier"]) > 10
    assert any(r["timestamp"] is None for r in identifies) and any(r["timestamp"] == "not a time" for r in identifies)

    table_users = Dataset(users=users, events=dataset.events, milestones=dataset.milestones,
                          requirements=dataset.requirements)
    dbt_builder.load(table_users)
    dbt_builder.run_models(dict(vars, activation_users_from="table"), full_refresh=True)
    expected = per_user_marts(dbt_builder)

    dbt_builder.engine.write_raw_tables({"identifies": (IDENTIFIES_COLUMNS, identifies),
                                         "users": (RAW_COLUMNS["users"], [])})
    traits_vars = dict(vars, activation_user_traits_relation="raw.identifies", **TRAIT_VARS)
    dbt_builder.run_models(traits_vars, full_refresh=True, command="build")
    assert_same_tables(per_user_marts(dbt_builder), expected, label="traits table")
    assert_marts_match_reference(dbt_builder.read_marts(), compute(
        users, dataset.events, dataset.milestones, dataset.requirements, vars))

    # A later identify call changes plans: a plain run applies it as a full refresh does.
    changed = [{"user_id": row["user_id"], "anonymous_id": None, "timestamp": "2025-07-01 00:00:00",
                "plan": "enterprise", "company_id": None, "utm_source": None} for row in users[:5]]
    dbt_builder.engine.append_raw_rows("identifies", IDENTIFIES_COLUMNS, changed)
    incremental = assert_plain_run_applies_everything(dbt_builder, traits_vars)
    assert sum(1 for row in incremental["activation_users"] if row["plan_tier"] == "enterprise") == 5


@pytest.mark.engine_independent
def test_traits_table_missing_column_names_it(dbt_builder, generated):
    dataset, vars = generated
    dbt_builder.load(Dataset(users=[], events=dataset.events, milestones=dataset.milestones,
                             requirements=dataset.requirements))
    columns = {k: v for k, v in IDENTIFIES_COLUMNS.items() if k != "company_id"}
    dbt_builder.engine.write_raw_tables({"identifies": (columns, [])})
    with pytest.raises(BuildFailed) as stopped:
        dbt_builder.run_models(dict(vars, activation_users_from="events", activation_user_passthrough_columns=[],
                                    activation_user_traits_relation={"schema": "raw", "identifier": "identifies"},
                                    **TRAIT_VARS), full_refresh=True)
    message = str(stopped.value)
    assert "user traits table" in message and "'company_id'" in message and "activation_account_trait" in message


@pytest.mark.engine_independent
def test_traits_table_needs_users_from_events(dbt_builder, generated):
    dataset, vars = generated
    dbt_builder.load(dataset)
    with pytest.raises(BuildFailed) as stopped:
        dbt_builder.run_models(dict(vars, activation_user_traits_relation="raw.identifies"), full_refresh=True)
    assert "activation_users_from" in str(stopped.value) and "activation_user_traits_relation" in str(stopped.value)
