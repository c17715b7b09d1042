"""Account marts (SPEC §10): accounts and their activation rule, the account rolling PQL
score and its hand-offs, account cohort completion.

Every column of the four marts is compared with the Python reference
(reference/accounts_reference.py, from the raw rows through the per-user and BI
references) on a hand-written data set built under each activation rule and both
score aggregates, and on random data (hypothesis); the hand-written set is also
checked against values worked out here by hand, on the reference and on the marts.
The account marts are off by default (`activation_accounts_enabled`).
"""

import datetime as dt
import hashlib
import math
import os

import pytest
from harness import BASE_VARS, Dataset, event, milestone, user
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference.accounts_reference import ACCOUNT_MART_KEYS, compute_accounts
from reference.stats_reference import values_agree

ACCOUNT_MARTS = tuple(ACCOUNT_MART_KEYS)
SELECT = " ".join(f"+activation_{name}" for name in ACCOUNT_MARTS)
ON = {"activation_accounts_enabled": True}
AS_OF = "2025-03-31 00:00:00"
STATISTIC_COLUMNS = {"pql_score", "activated_user_share", "completion_rate"}


def build_accounts(dbt_builder, dataset, vars):
    dbt_builder.load(dataset)
    dbt_builder.run_models(vars, full_refresh=True, select=SELECT)
    return {name: dbt_builder.query(f"select * from main_activation.activation_{name}") for name in ACCOUNT_MARTS}


def reference_of(dataset, vars):
    return compute_accounts(dataset.users, dataset.events, dataset.milestones, dataset.requirements,
                            dict(BASE_VARS, **vars))


def same(column, actual, expected):
    if isinstance(expected, dt.datetime) or isinstance(actual, dt.datetime):
        return type(actual) is type(expected) and actual == expected
    if column in STATISTIC_COLUMNS and isinstance(expected, float) and actual is not None:
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    return values_agree(column, actual, expected)


def assert_accounts_match(actual, expected):
    """Same keys, same columns, equal values in each of the four marts."""
    problems = []
    for name, key in ACCOUNT_MART_KEYS.items():
        rows = {tuple(r[k] for k in key): r for r in actual[name]}
        assert len(rows) == len(actual[name]), f"activation_{name}: duplicate keys"
        wanted = {tuple(r[k] for k in key): r for r in expected[name]}
        assert set(rows) == set(wanted), (
            f"activation_{name}: missing {sorted(set(wanted) - set(rows), key=str)[:5]}, "
            f"unexpected {sorted(set(rows) - set(wanted), key=str)[:5]}")
        if actual[name]:
            assert set(actual[name][0]) == set(expected[name][0]), (
                f"activation_{name}: columns {sorted(actual[name][0])}, reference {sorted(expected[name][0])}")
        for k, exp in wanted.items():
            for column, value in exp.items():
                if not same(column, rows[k][column], value):
                    problems.append(f"activation_{name} {k}: {column} = {rows[k][column]!r}, reference {value!r}")
    assert not problems, "\n".join(problems[:20])


# ------------------------------------------------------------------ hand-written

def accounts_dataset():
    """m1 (weight 30, 7 days, the activation milestone) by event `a`, m2 (weight 25, 14
    days) by `b`; rolling PQL defaults: full weight for 7 days after the reach day, half
    from the 8th; bands nurture 0, sdr_outreach 21, ae_handoff 51.

    - one: o1 activates on 01-07; o2 signs up after as_of (not a user yet).
    - two: t1 reaches m1 and m2 at once on 01-08 (55: two bands in one step); t2 signs
      up on 01-20 and activates on 01-21.
    - three: h1 activates on 01-10 at the very instant h2 signs up; h2 activates on
      01-14; h3 signs up on 02-01 and activates on 02-03.
    - four: f1 reaches m3 (weight 10) on 01-09, starting in the lowest band, then
      activates on 01-10.
    - n1 has no account_id."""
    users = [
        user("o1", "2025-01-06 00:00:00", account_id="one"),
        user("o2", "2025-04-05 00:00:00", account_id="one"),
        user("t1", "2025-01-06 00:00:00", account_id="two"),
        user("t2", "2025-01-20 00:00:00", account_id="two"),
        user("h1", "2025-01-06 00:00:00", account_id="three"),
        user("h2", "2025-01-10 00:00:00", account_id="three"),
        user("h3", "2025-02-01 00:00:00", account_id="three"),
        user("f1", "2025-01-06 00:00:00", account_id="four"),
        user("n1", "2025-01-06 00:00:00", account_id=None),
    ]
    events = [
        event("o1", "a", "2025-01-07 10:00:00"),
        event("t1", "a", "2025-01-08 12:00:00"), event("t1", "b", "2025-01-08 12:00:00"),
        event("t2", "a", "2025-01-21 09:00:00"),
        event("h1", "a", "2025-01-10 00:00:00"),
        event("h2", "a", "2025-01-14 00:00:00"),
        event("h3", "a", "2025-02-03 00:00:00"),
        event("f1", "c", "2025-01-09 08:00:00"), event("f1", "a", "2025-01-10 08:00:00"),
        event("n1", "a", "2025-01-07 00:00:00"),
    ]
    milestones = [milestone("m1", 1, weight=30, timeframe="7d", triggered_by_event="a", is_activation=True),
                  milestone("m2", 2, weight=25, timeframe="14d", triggered_by_event="b"),
                  milestone("m3", 3, weight=10, timeframe="7d", triggered_by_event="c")]
    return Dataset(users, events, milestones, [])


RULES = {
    "any_sum": {"activation_account_activation_rule": "any"},
    "all_max": {"activation_account_activation_rule": "all", "activation_account_pql_aggregate": "max"},
    "share_sum": {"activation_account_activation_rule": "min_share", "activation_account_min_share": 0.5},
    "users_max": {"activation_account_activation_rule": "min_users", "activation_account_min_users": 3,
                  "activation_account_pql_aggregate": "max"},
}


@pytest.fixture(scope="module", autouse=True)
def account_tables_dropped_after(dbt_builder):
    """The account marts are off by default: leave none behind for a later test that reads
    every mart of the schema (the tests of this module share one worker)."""
    yield
    dbt_builder.reset()


@pytest.fixture(scope="module")
def built(dbt_builder):
    """The hand-written set built under each rule (one parse: the rule vars are read in SQL only)."""
    dataset = accounts_dataset()
    out = {}
    for name, rule in RULES.items():
        vars = dict(ON, activation_as_of=AS_OF, **rule)
        out[name] = (build_accounts(dbt_builder, dataset, vars), reference_of(dataset, vars))
    return out


def tables(built, rule, source):
    marts, reference = built[rule]
    return reference if source == "reference" else marts


def one(rows, **where):
    found = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(found) == 1, (where, found)
    return found[0]


def at(text):
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_account_marts_equal_reference(built, rule):
    assert_accounts_match(*built[rule])


@pytest.mark.parametrize("source", ["reference", "marts"])
@pytest.mark.parametrize("rule, activated", [
    ("any_sum", {"one": "2025-01-07 10:00:00", "two": "2025-01-08 12:00:00", "three": "2025-01-10 00:00:00",
                 "four": "2025-01-10 08:00:00"}),
    # all: two is met while t1 is its only user and stays met; three's h2 joins as h1
    # activates (1 of 2), so it waits for h2
    ("all_max", {"one": "2025-01-07 10:00:00", "two": "2025-01-08 12:00:00", "three": "2025-01-14 00:00:00",
                 "four": "2025-01-10 08:00:00"}),
    ("share_sum", {"one": "2025-01-07 10:00:00", "two": "2025-01-08 12:00:00", "three": "2025-01-10 00:00:00",
                   "four": "2025-01-10 08:00:00"}),
    # three users: only three has them, from h3's activation
    ("users_max", {"one": None, "two": None, "three": "2025-02-03 00:00:00", "four": None}),
])
def test_activation_rules_by_hand(built, rule, activated, source):
    accounts = tables(built, rule, source)["accounts"]
    assert sorted(a["account_id"] for a in accounts) == ["four", "one", "three", "two"]  # n1 has no account
    for account_id, when in activated.items():
        row = one(accounts, account_id=account_id)
        assert row["activated_at"] == (None if when is None else at(when)), (account_id, row)
        assert row["is_activated"] is (when is not None)
    sizes = {a["account_id"]: (a["users"], a["activated_users"]) for a in accounts}
    assert sizes == {"one": (1, 1), "two": (2, 2), "three": (3, 3), "four": (1, 1)}  # o2 signs up after as_of
    assert one(accounts, account_id="one")["account_created_at"] == at("2025-01-06 00:00:00")
    assert all(a["cohort_date"] == dt.date(2025, 1, 6) for a in accounts)  # a Monday


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


@pytest.mark.parametrize("source", ["reference", "marts"])
def test_summed_score_history_and_handoffs_by_hand(built, source):
    marts = tables(built, "any_sum", source)
    history = sorted((r["account_id"], r["valid_from"], r["pql_score"], r["pql_band"])
                     for r in marts["account_pql_score_history"] if r["account_id"] == "two")
    d = dt.date
    # t1: 55 from 01-08, 27.5 from 01-16; t2: 30 from 01-21, 15 from 01-29
    assert history == [("two", d(2025, 1, 8), 55.0, "ae_handoff"), ("two", d(2025, 1, 16), 27.5, "sdr_outreach"),
                       ("two", d(2025, 1, 21), 57.5, "ae_handoff"), ("two", d(2025, 1, 29), 42.5, "sdr_outreach")]
    handoffs = sorted((h["account_id"], h["crossed_on"], h["from_band"], h["to_band"], h["pql_score"], h["handoff_id"])
                      for h in marts["account_pql_handoffs"])
    assert handoffs == sorted([
        ("one", d(2025, 1, 7), "nurture", "sdr_outreach", 30.0, md5("one|sdr_outreach|2025-01-07")),
        # two bands in one step is one crossing; after falling back, a new one with its own key
        ("two", d(2025, 1, 8), "nurture", "ae_handoff", 55.0, md5("two|ae_handoff|2025-01-08")),
        ("two", d(2025, 1, 21), "sdr_outreach", "ae_handoff", 57.5, md5("two|ae_handoff|2025-01-21")),
        # h1 30 on 01-10; h1 + h2 60 on 01-14; h1 decays (45), h2 decays (30); h3 joins: 60
        ("three", d(2025, 1, 10), "nurture", "sdr_outreach", 30.0, md5("three|sdr_outreach|2025-01-10")),
        ("three", d(2025, 1, 14), "sdr_outreach", "ae_handoff", 60.0, md5("three|ae_handoff|2025-01-14")),
        ("three", d(2025, 2, 3), "sdr_outreach", "ae_handoff", 60.0, md5("three|ae_handoff|2025-02-03")),
        # four starts in the lowest band (10 on 01-09: no crossing), then 40
        ("four", d(2025, 1, 10), "nurture", "sdr_outreach", 40.0, md5("four|sdr_outreach|2025-01-10")),
    ])
    four = sorted((r["valid_from"], r["pql_score"], r["pql_band"]) for r in marts["account_pql_score_history"]
                  if r["account_id"] == "four")
    assert four == [(d(2025, 1, 9), 10.0, "nurture"), (d(2025, 1, 10), 40.0, "sdr_outreach"),
                    (d(2025, 1, 17), 35.0, "sdr_outreach"), (d(2025, 1, 18), 20.0, "nurture")]
    current = one(marts["account_pql_score_history"], account_id="three", is_current=True)
    assert (current["valid_from"], current["pql_score"], current["valid_to"]) == (d(2025, 2, 11), 45.0, None)


@pytest.mark.parametrize("source", ["reference", "marts"])
def test_max_score_history_by_hand(built, source):
    marts = tables(built, "all_max", source)
    d = dt.date
    three = sorted((r["valid_from"], r["pql_score"], r["pql_band"]) for r in marts["account_pql_score_history"]
                   if r["account_id"] == "three")
    # max: 30 from 01-10 (h2's 30 on 01-14 and h1's decay on 01-18 leave it 30: no row),
    # 15 from 01-22, 30 from 02-03, 15 from 02-11
    assert three == [(d(2025, 1, 10), 30.0, "sdr_outreach"), (d(2025, 1, 22), 15.0, "nurture"),
                     (d(2025, 2, 3), 30.0, "sdr_outreach"), (d(2025, 2, 11), 15.0, "nurture")]
    two = sorted((r["valid_from"], r["pql_score"]) for r in marts["account_pql_score_history"]
                 if r["account_id"] == "two")
    assert two == [(d(2025, 1, 8), 55.0), (d(2025, 1, 16), 27.5), (d(2025, 1, 21), 30.0), (d(2025, 1, 29), 27.5)]
    crossings = sorted((h["account_id"], h["crossed_on"], h["to_band"]) for h in marts["account_pql_handoffs"])
    assert crossings == [("four", d(2025, 1, 10), "sdr_outreach"),
                         ("one", d(2025, 1, 7), "sdr_outreach"), ("three", d(2025, 1, 10), "sdr_outreach"),
                         ("three", d(2025, 2, 3), "sdr_outreach"), ("two", d(2025, 1, 8), "ae_handoff")]


@pytest.mark.parametrize("source", ["reference", "marts"])
def test_cohort_completion_by_hand(built, source):
    rows = tables(built, "all_max", source)["account_cohort_completion"]
    assert {r["cohort_date"] for r in rows} == {dt.date(2025, 1, 6)}
    assert len(rows) == 4 * 3  # activation, m1, m2, m3 x d7, d30, d90

    def rate(goal_type, goal_id, window):
        row = one(rows, goal_type=goal_type, goal_id=goal_id, window_name=window)
        return row["cohort_accounts"], row["eligible_accounts"], row["completed_accounts"], row["is_mature"]

    # all four accounts began 2025-01-06 00:00: d7 and d30 have closed by 03-31, d90
    # (04-06) has not. Activation under `all`: one 01-07, two 01-08, three 01-14 (8 days),
    # four 01-10
    assert rate("activation", "activation", "d7") == (4, 4, 3, True)
    assert rate("activation", "activation", "d30") == (4, 4, 4, True)
    assert rate("activation", "activation", "d90") == (4, 0, 0, False)
    # m2: only t1 reached it, and two's only user then was t1
    assert rate("milestone", "m2", "d30") == (4, 4, 1, True)
    assert one(rows, goal_type="milestone", goal_id="m2", window_name="d90")["completion_rate"] is None
    row = one(rows, goal_type="activation", goal_id="activation", window_name="d7")
    assert math.isclose(row["completion_rate"], 3 / 4) and row["milestone_level"] is None
    assert one(rows, goal_type="milestone", goal_id="m2", window_name="d7")["milestone_level"] == 2


def test_account_models_are_off_by_default(dbt_builder):
    listed = dbt_builder.run_dbt_with_vars(["ls", "--resource-type", "model", "--output", "name"], {}).result
    names = {str(line).split(".")[-1] for line in listed}
    assert "activation_users" in names
    assert not {f"activation_{name}" for name in ACCOUNT_MARTS} & names
    assert "int_activation__account_goals" not in names


# -------------------------------------------------------------------------- randomised

BASE = dt.datetime(2025, 1, 1)
PROFILES = [
    {"activation_account_activation_rule": "any"},
    {"activation_account_activation_rule": "all", "activation_account_pql_aggregate": "max"},
    {"activation_account_activation_rule": "min_users", "activation_account_min_users": 2},
    {"activation_account_activation_rule": "min_share", "activation_account_min_share": 0.34,
     "activation_account_pql_aggregate": "max", "activation_pql_recency_days": 3, "activation_pql_decay": 0.25},
]


@st.composite
def account_datasets(draw):
    users, events = [], []
    for index in range(draw(st.integers(1, 14))):
        user_id = f"u{index}"
        created = BASE + dt.timedelta(days=draw(st.integers(0, 60)), hours=draw(st.sampled_from([0, 0, 6])))
        users.append(user(user_id, created.strftime("%Y-%m-%d %H:%M:%S"),
                          account_id=draw(st.sampled_from(["a", "a", "b", "c", None]))))
        for name, offset in draw(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                                                    st.sampled_from([0, 3600, 86400, 3 * 86400, 9 * 86400])),
                                          max_size=4)):
            at_ = created + dt.timedelta(seconds=offset)
            events.append(event(user_id, name, at_.strftime("%Y-%m-%d %H:%M:%S")))
    milestones = [milestone("m1", 1, weight=draw(st.sampled_from([10, 30])), timeframe="7d", triggered_by_event="a",
                            is_activation=True),
                  milestone("m2", 2, weight=draw(st.sampled_from([25, 0.5])), timeframe="2d", triggered_by_event="b")]
    vars = dict(draw(st.sampled_from(PROFILES)), activation_as_of="2025-03-15 00:00:00", **ON)
    return Dataset(users, events, milestones, []), vars


@settings(max_examples=int(os.environ.get("ACTIVATION_HYPOTHESIS_ACCOUNT_EXAMPLES", "4")), deadline=None,
          database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=account_datasets())
def test_account_marts_equal_reference_on_random_data(dbt_builder, case):
    dataset, vars = case
    assert_accounts_match(build_accounts(dbt_builder, dataset, vars), reference_of(dataset, vars))
