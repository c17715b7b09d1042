"""Unit tests of the account marts reference (SPEC §10) against hand-worked values.

Pure Python: no dbt build. Every expected number below is worked out by hand in the
comments beside it; the randomised test checks invariants against the per-user and BI
references on data drawn with fixed seeds.
"""

import datetime as dt
import hashlib
import math
import random

import pytest
from harness import Dataset, event, milestone, user, wilson_by_hand
from reference.accounts_reference import ACCOUNT_DEFAULT_VARS, ACCOUNT_MART_KEYS, compute_accounts
from reference.activation_reference import ConfigError, compute
from reference.bi_reference import compute_bi

T = dt.datetime
D = dt.date
approx = pytest.approx

COLUMNS = {
    "accounts": [
        "account_id", "account_created_at", "cohort_date", "users", "activated_users", "activated_user_share",
        "activated_user_share_ci_lower", "activated_user_share_ci_upper", "is_activated", "activated_at",
        "activation_rule", "as_of",
    ],
    "account_pql_score_history": [
        "account_id", "valid_from", "valid_to", "pql_score", "pql_band", "pql_action", "pql_band_rank", "is_current",
        "as_of",
    ],
    "account_pql_handoffs": [
        "handoff_id", "account_id", "crossed_on", "from_band", "to_band", "pql_action", "pql_score", "as_of",
    ],
    "account_cohort_completion": [
        "cohort_date", "goal_type", "goal_id", "milestone_level", "window_name", "window_days", "cohort_accounts",
        "eligible_accounts", "completed_accounts", "completion_rate", "completion_rate_ci_lower",
        "completion_rate_ci_upper", "is_mature", "as_of",
    ],
}


def run(dataset, **vars):
    return compute_accounts(dataset.users, dataset.events, dataset.milestones, dataset.requirements, vars)


def by_account(rows):
    return {r["account_id"]: r for r in rows}


def one(rows, **key):
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, found)
    return found[0]


# ------------------------------------------------------------------ activation rules

ACTIVATION = milestone("a", 1, weight=30.0, timeframe="30d", triggered_by_event="a", is_activation=True)


def rules_dataset():
    """One activation milestone `a`; as_of 2024-01-20. Accounts:

    A: u1, u2 created 01-01, u4 created 01-03 (never activates), u3 created 01-04;
       activations u1 01-02 10:00, u2 01-05, u3 01-06; z created 01-25 is after as_of.
    S: s1, s2 created 01-01, s3 joins 01-02 (before s1 activates); s1 activates 01-03,
       s3 01-06, s2 never.
    R: as S but r3 joins on 01-04, after r1 activated.
    T: t1, t2 created 01-01, both activate at 01-04 12:00; t3 is created at that very
       timestamp and never activates.
    Q: q1, q2 created 01-01, both activate at 01-04 12:00.
    P: p1 created 01-01 activates 01-02; p2 created 01-01 12:00 activates 01-03.
    O: one user o1 created 01-02, activates 01-03 08:00.
    n1 has no account_id, n2 a blank one: neither belongs to an account.
    """
    accounts = {
        "u1": ("A", "2024-01-01 00:00:00", "2024-01-02 10:00:00"),
        "u2": ("A", "2024-01-01 00:00:00", "2024-01-05 00:00:00"),
        "u3": ("A", "2024-01-04 00:00:00", "2024-01-06 00:00:00"),
        "u4": ("A", "2024-01-03 00:00:00", None),
        "z": ("A", "2024-01-25 00:00:00", None),
        "s1": ("S", "2024-01-01 00:00:00", "2024-01-03 00:00:00"),
        "s2": ("S", "2024-01-01 00:00:00", None),
        "s3": ("S", "2024-01-02 00:00:00", "2024-01-06 00:00:00"),
        "r1": ("R", "2024-01-01 00:00:00", "2024-01-03 00:00:00"),
        "r2": ("R", "2024-01-01 00:00:00", None),
        "r3": ("R", "2024-01-04 00:00:00", "2024-01-06 00:00:00"),
        "t1": ("T", "2024-01-01 00:00:00", "2024-01-04 12:00:00"),
        "t2": ("T", "2024-01-01 00:00:00", "2024-01-04 12:00:00"),
        "t3": ("T", "2024-01-04 12:00:00", None),
        "q1": ("Q", "2024-01-01 00:00:00", "2024-01-04 12:00:00"),
        "q2": ("Q", "2024-01-01 00:00:00", "2024-01-04 12:00:00"),
        "p1": ("P", "2024-01-01 00:00:00", "2024-01-02 00:00:00"),
        "p2": ("P", "2024-01-01 12:00:00", "2024-01-03 00:00:00"),
        "o1": ("O", "2024-01-02 00:00:00", "2024-01-03 08:00:00"),
        "n1": (None, "2024-01-01 00:00:00", "2024-01-02 00:00:00"),
        "n2": ("   ", "2024-01-01 00:00:00", "2024-01-02 00:00:00"),
    }
    users, events = [], []
    for user_id, (account_id, created_at, activated) in accounts.items():
        users.append(user(user_id, created_at, account_id=account_id))
        if activated is not None:
            events.append(event(user_id, "a", activated, event_id=f"e-{user_id}"))
    return Dataset(users=users, events=events, milestones=[ACTIVATION])


RULES_AS_OF = "2024-01-20 00:00:00"

# account -> activated_at under any / all / min_users 2 / min_share 0.5
RULE_EXPECTED = {
    # min_share at 01-02 10:00: U = {u1, u2} (u4, u3 join later) -> 1/2 >= 0.5
    "A": (T(2024, 1, 2, 10), None, T(2024, 1, 5), T(2024, 1, 2, 10)),
    # min_share at 01-03: s3 already joined -> 1/3 < 0.5; at 01-06 2/3
    "S": (T(2024, 1, 3), None, T(2024, 1, 6), T(2024, 1, 6)),
    # min_share at 01-03: r3 not yet a member -> 1/2 >= 0.5
    "R": (T(2024, 1, 3), None, T(2024, 1, 6), T(2024, 1, 3)),
    # all at 01-04 12:00: t3 created at that timestamp counts -> 2 of 3
    "T": (T(2024, 1, 4, 12), None, T(2024, 1, 4, 12), T(2024, 1, 4, 12)),
    # both at one timestamp: counted together
    "Q": (T(2024, 1, 4, 12), T(2024, 1, 4, 12), T(2024, 1, 4, 12), T(2024, 1, 4, 12)),
    # all at 01-02: U = 2 (p2 created 01-01 12:00), A = 1; at 01-03 2 of 2
    "P": (T(2024, 1, 2), T(2024, 1, 3), T(2024, 1, 3), T(2024, 1, 2)),
    # one user: min_users 2 is never met
    "O": (T(2024, 1, 3, 8), T(2024, 1, 3, 8), None, T(2024, 1, 3, 8)),
}

RULE_VARS = [
    {"activation_account_activation_rule": "any"},
    {"activation_account_activation_rule": "all"},
    {"activation_account_activation_rule": "min_users", "activation_account_min_users": 2},
    {"activation_account_activation_rule": "min_share", "activation_account_min_share": 0.5},
]
RULE_TEXT = ["any", "all", "min_users", "min_share"]


@pytest.mark.parametrize("index", range(4), ids=["any", "all", "min_users_2", "min_share_0_5"])
def test_activation_rule(index):
    rows = by_account(run(rules_dataset(), activation_as_of=RULES_AS_OF, **RULE_VARS[index])["accounts"])
    assert sorted(rows) == sorted(RULE_EXPECTED)
    for account_id, expected in RULE_EXPECTED.items():
        row = rows[account_id]
        assert (account_id, row["activated_at"], row["is_activated"], row["activation_rule"]) == (
            account_id, expected[index], expected[index] is not None, RULE_TEXT[index])


@pytest.mark.parametrize("rule", ["min_users", "min_share"])
def test_min_users_and_min_share_default_to_2_and_half(rule):
    # without its var, min_users reads N = 2 and min_share s = 0.5: the RULE_EXPECTED columns
    rows = by_account(run(rules_dataset(), activation_as_of=RULES_AS_OF,
                          activation_account_activation_rule=rule)["accounts"])
    column = RULE_TEXT.index(rule)
    assert {a: r["activated_at"] for a, r in rows.items()} == {a: e[column] for a, e in RULE_EXPECTED.items()}
    assert {r["activation_rule"] for r in rows.values()} == {rule}


def test_account_counts_members_and_users_without_account():
    rows = by_account(run(rules_dataset(), activation_as_of=RULES_AS_OF)["accounts"])
    # n1 (null) and n2 (blank) have no account; z (created after as_of) is no member of A
    assert list(rows) == ["A", "O", "P", "Q", "R", "S", "T"]
    counts = {a: (r["account_created_at"], r["cohort_date"], r["users"], r["activated_users"], r["activated_user_share"])
              for a, r in rows.items()}
    assert counts == {
        "A": (T(2024, 1, 1), D(2024, 1, 1), 4, 3, 0.75),
        "O": (T(2024, 1, 2), D(2024, 1, 1), 1, 1, 1.0),
        "P": (T(2024, 1, 1), D(2024, 1, 1), 2, 2, 1.0),
        "Q": (T(2024, 1, 1), D(2024, 1, 1), 2, 2, 1.0),
        "R": (T(2024, 1, 1), D(2024, 1, 1), 3, 2, approx(2 / 3)),
        "S": (T(2024, 1, 1), D(2024, 1, 1), 3, 2, approx(2 / 3)),
        "T": (T(2024, 1, 1), D(2024, 1, 1), 3, 2, approx(2 / 3)),
    }
    assert all(r["as_of"] == T(2024, 1, 20) for r in rows.values())
    assert {r["activation_rule"] for r in rows.values()} == {"any"}  # the default rule
    # 95% Wilson interval of activated_users of users: A 3 of 4, O 1 of 1, P and Q 2 of 2, R, S, T 2 of 3
    for account_id, (count, nobs) in {"A": (3, 4), "O": (1, 1), "P": (2, 2), "Q": (2, 2), "R": (2, 3), "S": (2, 3),
                                      "T": (2, 3)}.items():
        row = rows[account_id]
        assert (row["activated_user_share_ci_lower"], row["activated_user_share_ci_upper"]) == approx(
            wilson_by_hand(count, nobs)), account_id
    # O, 1 of 1: z² = 3.841459, centre (1 + 1.920729) / 4.841459 = 0.603275, half-width
    # 1.959964 · sqrt(3.841459 / 4) / 4.841459 = 0.396725: (0.206549, 1.0)
    assert (rows["O"]["activated_user_share_ci_lower"], rows["O"]["activated_user_share_ci_upper"]) == (
        approx(0.206549, abs=1e-6), approx(1.0))  # 1 / 4.841459 and (1 + z²) / (1 + z²)


def test_min_share_compares_doubles_and_min_share_one_is_all():
    data = rules_dataset()
    # 1/3 == 0.3333333333333333 as doubles: S meets it at 01-03 (1 of 3)
    rows = by_account(run(data, activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_share",
                          activation_account_min_share=0.3333333333333333)["accounts"])
    assert rows["S"]["activated_at"] == T(2024, 1, 3)
    # 0.34 > 1/3: S waits for 2 of 3 on 01-06
    rows = by_account(run(data, activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_share",
                          activation_account_min_share=0.34)["accounts"])
    assert rows["S"]["activated_at"] == T(2024, 1, 6)
    # min_users is not read for min_share: an invalid count changes nothing
    rows = by_account(run(data, activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_share",
                          activation_account_min_share=0.34, activation_account_min_users=0)["accounts"])
    assert rows["S"]["activated_at"] == T(2024, 1, 6)
    rows = by_account(run(data, activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_share",
                          activation_account_min_share=1)["accounts"])
    assert {a: r["activated_at"] for a, r in rows.items()} == {a: e[1] for a, e in RULE_EXPECTED.items()}


def test_min_users_beyond_the_account_size_is_never_met():
    rows = by_account(run(rules_dataset(), activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_users",
                          activation_account_min_users=3.0)["accounts"])
    # A: third activation u3 on 01-06; S, R, T, Q, P, O have at most 2 activated users
    assert {a: r["activated_at"] for a, r in rows.items()} == {
        "A": T(2024, 1, 6), "O": None, "P": None, "Q": None, "R": None, "S": None, "T": None}
    assert [a for a, r in rows.items() if r["is_activated"]] == ["A"]
    # the share is not read for min_users: an invalid share changes nothing
    rows = by_account(run(rules_dataset(), activation_as_of=RULES_AS_OF, activation_account_activation_rule="min_users",
                          activation_account_min_users=3, activation_account_min_share=0)["accounts"])
    assert [a for a, r in rows.items() if r["is_activated"]] == ["A"]


def test_goal_times_inside_the_future_tolerance_count_as_for_the_user():
    # as_of 01-04 12:00 with the default 24 h tolerance keeps u2's 01-05 00:00 activation
    # staged and u2 activated (activated_at after as_of): it counts for the account too, so
    # min_users 2 is met for A at 01-05 00:00 (u1 01-02 10:00 is the first)
    rows = by_account(run(rules_dataset(), activation_as_of="2024-01-04 12:00:00",
                          activation_account_activation_rule="min_users",
                          activation_account_min_users=2)["accounts"])
    assert (rows["A"]["is_activated"], rows["A"]["activated_at"]) == (True, T(2024, 1, 5))
    # members u1, u2, u4 and u3 (joined 01-04 00:00); activated u1 and u2;
    # u3's 01-06 activation is beyond the tolerance (01-05 12:00) and quarantined
    assert (rows["A"]["users"], rows["A"]["activated_users"]) == (4, 2)
    assert rows["Q"]["activated_at"] == T(2024, 1, 4, 12)  # exactly as_of counts
    # S: s1 01-03, s3's 01-06 activation is quarantined: one activated user, never 2
    assert (rows["S"]["activated_users"], rows["S"]["activated_at"]) == (1, None)
    any_rule = by_account(run(rules_dataset(), activation_as_of="2024-01-04 12:00:00")["accounts"])
    assert any_rule["A"]["activated_at"] == T(2024, 1, 2, 10)
    # all: A's u4 (created 01-03) and u3 never activate; P both activated by 01-03
    all_rule = by_account(run(rules_dataset(), activation_as_of="2024-01-04 12:00:00",
                              activation_account_activation_rule="all")["accounts"])
    assert (all_rule["A"]["activated_at"], all_rule["P"]["activated_at"]) == (None, T(2024, 1, 3))

    # with no tolerance u2's reach is quarantined: u2 is not activated, nor is A under min_users 2
    strict = by_account(run(rules_dataset(), activation_as_of="2024-01-04 12:00:00",
                            activation_future_tolerance_hours=0, activation_account_activation_rule="min_users",
                            activation_account_min_users=2)["accounts"])
    assert (strict["A"]["activated_users"], strict["A"]["is_activated"], strict["A"]["activated_at"]) == (
        1, False, None)
    assert strict["Q"]["activated_at"] == T(2024, 1, 4, 12)


def test_no_as_of_means_no_accounts():
    data = rules_dataset()
    data.events = []
    result = run(data)
    assert result == {name: [] for name in ACCOUNT_MART_KEYS}


def test_bad_vars_raise():
    data = rules_dataset()
    rule, users, share = (
        "activation_account_activation_rule", "activation_account_min_users", "activation_account_min_share")
    bad = [  # (vars, the var the error names)
        ({rule: "most"}, rule),
        ({rule: "ANY"}, rule),
        ({rule: "min_users", users: 0}, users),
        ({rule: "min_users", users: -1}, users),
        ({rule: "min_users", users: 1.5}, users),
        ({rule: "min_users", users: True}, users),
        ({rule: "min_users", users: "2"}, users),
        ({rule: "min_users", users: float("inf")}, users),
        ({rule: "min_share", share: 0}, share),
        ({rule: "min_share", share: -0.5}, share),
        ({rule: "min_share", share: 1.5}, share),
        ({rule: "min_share", share: True}, share),
        ({rule: "min_share", share: "0.5"}, share),
        ({rule: "min_share", share: float("nan")}, share),
        ({"activation_account_pql_aggregate": "avg"}, "activation_account_pql_aggregate"),
    ]
    for vars, name in bad:
        with pytest.raises(ConfigError, match=name):
            run(data, activation_as_of=RULES_AS_OF, **vars)
    # neither the count nor the share is read for any/all
    for other in ("any", "all"):
        run(data, activation_as_of=RULES_AS_OF, **{rule: other, users: 0, share: 0})
    # a var set to None takes its default
    assert run(data, activation_as_of=RULES_AS_OF, **{rule: None}) == run(data, activation_as_of=RULES_AS_OF)
    assert run(data, activation_as_of=RULES_AS_OF, **{rule: "min_users", users: None}) == run(
        data, activation_as_of=RULES_AS_OF, **{rule: "min_users", users: 2})
    assert run(data, activation_as_of=RULES_AS_OF, **{rule: "min_share", share: None}) == run(
        data, activation_as_of=RULES_AS_OF, **{rule: "min_share", share: 0.5})
    # the old single threshold var is gone: it is not read (min_users still counts 2)
    old = by_account(run(data, activation_as_of=RULES_AS_OF, activation_account_activation_threshold=3,
                         **{rule: "min_users"})["accounts"])
    assert old["A"]["activated_at"] == T(2024, 1, 5)
    assert ACCOUNT_DEFAULT_VARS == {
        "activation_account_activation_rule": "any",
        "activation_account_min_users": 2,
        "activation_account_min_share": 0.5,
        "activation_account_pql_aggregate": "sum",
    }


# --------------------------------------------------------------------------- PQL

PQL_MILESTONES = [
    milestone("a", 1, weight=30.0, timeframe="30d", triggered_by_event="a", is_activation=True),
    milestone("b", 2, weight=25.0, timeframe="30d", triggered_by_event="b"),
    milestone("c", 3, weight=10.0, timeframe="30d", triggered_by_event="c"),
]
PQL_AS_OF = "2024-01-20 00:00:00"


def pql_dataset():
    """Default bands nurture 0 / sdr_outreach 21 / ae_handoff 51, recency 7, decay 0.5.

    Each reach counts full until reached day + 7, half from reached day + 8. User scores:
    X: x1 a 01-01 (30; 15 from 01-09), x2 b 01-03 (25; 12.5 from 01-11), x3 nothing.
    Y: y1 a 01-02 09:00, y2 b 01-02 15:00 (30 + 25 on 01-02; 15 + 12.5 from 01-10).
    Z: z1 a 01-01 (30; 15 from 01-09), z2 c 01-12 (10; 5 from 01-20).
    V: v1 c 01-01 (10; 5 from 01-09), a and b 01-05 (55; 27.5 from 01-13).
    K: k1 c 01-15 (10; decay on 01-23 is after as_of).
    """
    users = [user(u, "2024-01-01 00:00:00", account_id=u[0].upper())
             for u in ("x1", "x2", "x3", "y1", "y2", "z1", "z2", "v1", "k1")]
    events = [
        event("x1", "a", "2024-01-01 10:00:00"), event("x2", "b", "2024-01-03 09:00:00"),
        event("y1", "a", "2024-01-02 09:00:00"), event("y2", "b", "2024-01-02 15:00:00"),
        event("z1", "a", "2024-01-01 08:00:00"), event("z2", "c", "2024-01-12 06:00:00"),
        event("v1", "c", "2024-01-01 10:00:00"), event("v1", "a", "2024-01-05 10:00:00"),
        event("v1", "b", "2024-01-05 11:00:00"),
        event("k1", "c", "2024-01-15 10:00:00"),
    ]
    return Dataset(users=users, events=events, milestones=PQL_MILESTONES)


def history(rows, account_id):
    return [(r["valid_from"], r["valid_to"], r["pql_score"], r["pql_band"], r["pql_band_rank"])
            for r in rows if r["account_id"] == account_id]


def current(rows):
    """account -> (valid_from, pql_score, pql_band, pql_action, pql_band_rank) of its is_current
    row, checking that it is the account's last row and its only current one."""
    out = {}
    for account_id in sorted({r["account_id"] for r in rows}):
        own = [r for r in rows if r["account_id"] == account_id]
        assert [r["is_current"] for r in own] == [False] * (len(own) - 1) + [True], account_id
        last = own[-1]
        assert last["valid_to"] is None
        out[account_id] = (last["valid_from"], last["pql_score"], last["pql_band"], last["pql_action"],
                           last["pql_band_rank"])
    return out


def handoffs(rows):
    return [(r["account_id"], r["crossed_on"], r["from_band"], r["to_band"], r["pql_action"], r["pql_score"])
            for r in sorted(rows, key=lambda r: (r["account_id"], r["crossed_on"]))]


def test_pql_sum_history_and_handoffs():
    result = run(pql_dataset(), activation_as_of=PQL_AS_OF)
    rows = result["account_pql_score_history"]
    # band ranks by min_score: nurture 1, sdr_outreach 2, ae_handoff 3
    assert history(rows, "X") == [
        (D(2024, 1, 1), D(2024, 1, 3), 30.0, "sdr_outreach", 2),
        (D(2024, 1, 3), D(2024, 1, 9), 55.0, "ae_handoff", 3),  # 30 + 25
        (D(2024, 1, 9), D(2024, 1, 11), 40.0, "sdr_outreach", 2),  # 15 + 25
        (D(2024, 1, 11), None, 27.5, "sdr_outreach", 2),  # 15 + 12.5: same band, new score
    ]
    # two users on one day: one row, two bands jumped from the start
    assert history(rows, "Y") == [
        (D(2024, 1, 2), D(2024, 1, 10), 55.0, "ae_handoff", 3),
        (D(2024, 1, 10), None, 27.5, "sdr_outreach", 2),
    ]
    # decays to nurture, rises to sdr_outreach again, decays once more
    assert history(rows, "Z") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "sdr_outreach", 2),
        (D(2024, 1, 9), D(2024, 1, 12), 15.0, "nurture", 1),
        (D(2024, 1, 12), D(2024, 1, 20), 25.0, "sdr_outreach", 2),
        (D(2024, 1, 20), None, 20.0, "nurture", 1),
    ]
    assert history(rows, "V") == [
        (D(2024, 1, 1), D(2024, 1, 5), 10.0, "nurture", 1),
        (D(2024, 1, 5), D(2024, 1, 9), 65.0, "ae_handoff", 3),
        (D(2024, 1, 9), D(2024, 1, 13), 60.0, "ae_handoff", 3),
        (D(2024, 1, 13), None, 32.5, "sdr_outreach", 2),  # 5 + 15 + 12.5
    ]
    assert history(rows, "K") == [(D(2024, 1, 15), None, 10.0, "nurture", 1)]
    assert one(rows, account_id="X", valid_from=D(2024, 1, 3))["pql_action"] == "ae handoff"
    assert one(rows, account_id="Z", valid_from=D(2024, 1, 9))["pql_action"] == "automated nurture"

    assert handoffs(result["account_pql_handoffs"]) == [
        ("V", D(2024, 1, 5), "nurture", "ae_handoff", "ae handoff", 65.0),
        ("X", D(2024, 1, 1), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        ("X", D(2024, 1, 3), "sdr_outreach", "ae_handoff", "ae handoff", 55.0),
        ("Y", D(2024, 1, 2), "nurture", "ae_handoff", "ae handoff", 55.0),  # one crossing, two bands
        ("Z", D(2024, 1, 1), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        ("Z", D(2024, 1, 12), "nurture", "sdr_outreach", "sdr outreach", 25.0),  # again, another day
    ]
    # the account's score on date(as_of) 01-20: its is_current (last) history row
    assert current(rows) == {
        "K": (D(2024, 1, 15), 10.0, "nurture", "automated nurture", 1),
        "V": (D(2024, 1, 13), 32.5, "sdr_outreach", "sdr outreach", 2),
        "X": (D(2024, 1, 11), 27.5, "sdr_outreach", "sdr outreach", 2),
        "Y": (D(2024, 1, 10), 27.5, "sdr_outreach", "sdr outreach", 2),
        "Z": (D(2024, 1, 20), 20.0, "nurture", "automated nurture", 1),
    }
    assert sum(r["is_current"] for r in rows) == 5  # one per account
    assert all(r["as_of"] == T(2024, 1, 20) for r in rows)
    # Y: y1 activated (a), y2 reached b only: 1 of 2. 95% Wilson by hand: z² = 3.841459,
    # centre (0.5 + 0.960365) / 2.920729 = 0.5, half-width
    # 1.959964 · sqrt(0.125 + 0.240091) / 2.920729 = 0.405469: (0.094531, 0.905469)
    y = by_account(result["accounts"])["Y"]
    assert (y["users"], y["activated_users"], y["activated_user_share"]) == (2, 1, 0.5)
    assert (y["activated_user_share_ci_lower"], y["activated_user_share_ci_upper"]) == (
        approx(0.094531, abs=1e-6), approx(0.905469, abs=1e-6))


def test_handoff_ids_are_md5_of_account_band_and_day():
    rows = run(pql_dataset(), activation_as_of=PQL_AS_OF)["account_pql_handoffs"]
    ids = {(r["account_id"], r["crossed_on"]): r["handoff_id"] for r in rows}
    # printf 'Z|sdr_outreach|2024-01-01' | md5sum, and so on
    assert ids[("Z", D(2024, 1, 1))] == "b15d92047b25abdace31a8fac4fda6e0"
    assert ids[("Z", D(2024, 1, 12))] == "b590d7df140d7eb823a0ab0c1bef0f47"
    assert ids[("Y", D(2024, 1, 2))] == "9b97387d631c79eefa3678a072ab8f55"
    assert ids[("X", D(2024, 1, 3))] == hashlib.md5(b"X|ae_handoff|2024-01-03").hexdigest()
    assert len(set(ids.values())) == len(ids) == 6
    assert [r["handoff_id"] for r in rows] == sorted(ids.values())  # sorted by key
    assert all(r["as_of"] == T(2024, 1, 20) for r in rows)


def test_pql_max_aggregate():
    result = run(pql_dataset(), activation_as_of=PQL_AS_OF, activation_account_pql_aggregate="max")
    rows = result["account_pql_score_history"]
    assert history(rows, "X") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "sdr_outreach", 2),  # 01-03: max(30, 25) = 30: no row
        (D(2024, 1, 9), D(2024, 1, 11), 25.0, "sdr_outreach", 2),  # max(15, 25)
        (D(2024, 1, 11), None, 15.0, "nurture", 1),  # max(15, 12.5, 0)
    ]
    assert history(rows, "Y") == [
        (D(2024, 1, 2), D(2024, 1, 10), 30.0, "sdr_outreach", 2),
        (D(2024, 1, 10), None, 15.0, "nurture", 1),
    ]
    # 01-12: max(15, 10) = 15 and 01-20: max(15, 5) = 15: no rows
    assert history(rows, "Z") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "sdr_outreach", 2),
        (D(2024, 1, 9), None, 15.0, "nurture", 1),
    ]
    assert handoffs(result["account_pql_handoffs"]) == [
        ("V", D(2024, 1, 5), "nurture", "ae_handoff", "ae handoff", 65.0),  # one user: its own score
        ("X", D(2024, 1, 1), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        ("Y", D(2024, 1, 2), "nurture", "sdr_outreach", "sdr outreach", 30.0),
        ("Z", D(2024, 1, 1), "nurture", "sdr_outreach", "sdr outreach", 30.0),
    ]
    # current rows; V (one user): 10, 65, 60, then 5 + 15 + 12.5 = 32.5 from 01-13
    assert current(rows) == {
        "K": (D(2024, 1, 15), 10.0, "nurture", "automated nurture", 1),
        "V": (D(2024, 1, 13), 32.5, "sdr_outreach", "sdr outreach", 2),
        "X": (D(2024, 1, 11), 15.0, "nurture", "automated nurture", 1),
        "Y": (D(2024, 1, 10), 15.0, "nurture", "automated nurture", 1),
        "Z": (D(2024, 1, 9), 15.0, "nurture", "automated nurture", 1),
    }


def test_pql_custom_bands_below_every_band():
    bands = [{"band": "warm", "min_score": 20, "action": "call"}, {"band": "hot", "min_score": 50, "action": "demo"}]
    result = run(pql_dataset(), activation_as_of=PQL_AS_OF, activation_pql_bands=bands)
    rows = result["account_pql_score_history"]
    # ranks: warm 1, hot 2, below every band 0
    assert history(rows, "V") == [
        (D(2024, 1, 1), D(2024, 1, 5), 10.0, None, 0),
        (D(2024, 1, 5), D(2024, 1, 9), 65.0, "hot", 2),
        (D(2024, 1, 9), D(2024, 1, 13), 60.0, "hot", 2),
        (D(2024, 1, 13), None, 32.5, "warm", 1),
    ]
    # Z: 30 warm, 15 below every band, 25 warm again, 20 warm: starting in the lowest band
    # and coming back to it from below are no crossings
    assert history(rows, "Z") == [
        (D(2024, 1, 1), D(2024, 1, 9), 30.0, "warm", 1),
        (D(2024, 1, 9), D(2024, 1, 12), 15.0, None, 0),
        (D(2024, 1, 12), D(2024, 1, 20), 25.0, "warm", 1),
        (D(2024, 1, 20), None, 20.0, "warm", 1),
    ]
    assert handoffs(result["account_pql_handoffs"]) == [
        ("V", D(2024, 1, 5), None, "hot", "demo", 65.0),  # from the previous row's (null) band
        ("X", D(2024, 1, 3), "warm", "hot", "demo", 55.0),
        ("Y", D(2024, 1, 2), "warm", "hot", "demo", 55.0),  # first row: from the lowest band
    ]
    now = current(rows)
    assert now["K"] == (D(2024, 1, 15), 10.0, None, None, 0)  # below every band: rank 0
    assert now["V"] == (D(2024, 1, 13), 32.5, "warm", "call", 1)


def test_pql_score_is_zero_before_any_change_point():
    data = pql_dataset()
    # as_of 01-01 12:00: K has no change point yet (its reach is after as_of and quarantined)
    result = run(data, activation_as_of="2024-01-01 12:00:00")
    rows = result["account_pql_score_history"]
    # X on 01-01: x1 30, x2 and x3 0 before their first change point: 30 + 0 + 0
    assert current(rows) == {
        "V": (D(2024, 1, 1), 10.0, "nurture", "automated nurture", 1),
        "X": (D(2024, 1, 1), 30.0, "sdr_outreach", "sdr outreach", 2),
        "Z": (D(2024, 1, 1), 30.0, "sdr_outreach", "sdr outreach", 2),
    }
    # y1, y2 reach on 01-02, within the 24 h tolerance: staged, but the history stops at
    # date(as_of): Y and K have no history row (no current row: score 0 on 01-01)
    assert [r for r in rows if r["account_id"] in ("K", "Y")] == []
    accounts = by_account(result["accounts"])
    assert sorted(accounts) == ["K", "V", "X", "Y", "Z"]
    # y1's 01-02 09:00 activation counts for Y as it does for y1 (after as_of, inside the tolerance)
    assert (accounts["Y"]["activated_users"], accounts["Y"]["is_activated"], accounts["Y"]["activated_at"]) == (
        1, True, T(2024, 1, 2, 9))
    # v1's a (01-05) is beyond the tolerance (01-02 12:00): V is not activated
    assert (accounts["V"]["activated_users"], accounts["V"]["is_activated"]) == (0, False)


# ----------------------------------------------------------------- cohort completion

COHORT_AS_OF = "2024-03-01 00:00:00"


def cohort_dataset():
    """as_of 2024-03-01; weekly cohorts (Mondays). Accounts:

    C1 (created 01-01, cohort 01-01): c1a activates 01-03; c1b created 01-02 activates 01-20.
    C2 (created 01-03, cohort 01-01): c2a reaches b on 01-05, never activates.
    C3 (created 02-10, cohort 02-05): c3a activates 02-12; too young for d30 (03-11).
    C4 (created 02-23, cohort 02-19): c4a activates 03-01 00:00 = created + 7 days = as_of.
    """
    users = [
        user("c1a", "2024-01-01 00:00:00", account_id="C1"), user("c1b", "2024-01-02 00:00:00", account_id="C1"),
        user("c2a", "2024-01-03 00:00:00", account_id="C2"), user("c3a", "2024-02-10 00:00:00", account_id="C3"),
        user("c4a", "2024-02-23 00:00:00", account_id="C4"),
    ]
    events = [
        event("c1a", "a", "2024-01-03 00:00:00"), event("c1b", "a", "2024-01-20 00:00:00"),
        event("c2a", "b", "2024-01-05 00:00:00"), event("c3a", "a", "2024-02-12 00:00:00"),
        event("c4a", "a", "2024-03-01 00:00:00"),
    ]
    return Dataset(users=users, events=events, milestones=PQL_MILESTONES)


def completion(rows, cohort, goal_id, window_name):
    r = one(rows, cohort_date=cohort, goal_id=goal_id, window_name=window_name)
    return (r["window_days"], r["cohort_accounts"], r["eligible_accounts"], r["completed_accounts"], r["completion_rate"],
            r["is_mature"])


def test_cohort_completion_windows_and_censoring():
    rows = run(cohort_dataset(), activation_as_of=COHORT_AS_OF)["account_cohort_completion"]
    # 3 cohorts x (activation + a, b, c) x 3 windows
    assert len(rows) == 36
    jan, feb5, feb19 = D(2024, 1, 1), D(2024, 2, 5), D(2024, 2, 19)
    # C1 met 01-03 (2 days); C2 never; both eligible for d7/d30, neither for d90 (03-31, 04-02)
    assert completion(rows, jan, "activation", "d7") == (7, 2, 2, 1, 0.5, True)
    assert completion(rows, jan, "activation", "d30") == (30, 2, 2, 1, 0.5, True)
    assert completion(rows, jan, "activation", "d90") == (90, 2, 0, 0, None, False)
    assert completion(rows, jan, "a", "d7") == (7, 2, 2, 1, 0.5, True)
    assert completion(rows, jan, "b", "d7") == (7, 2, 2, 1, 0.5, True)  # C2 on 01-05
    assert completion(rows, jan, "c", "d30") == (30, 2, 2, 0, 0.0, True)
    # C3: d7 ends 02-17 <= as_of; d30 ends 03-11 > as_of: censored
    assert completion(rows, feb5, "activation", "d7") == (7, 1, 1, 1, 1.0, True)
    assert completion(rows, feb5, "activation", "d30") == (30, 1, 0, 0, None, False)
    # C4: d7 ends exactly at as_of and the goal is met exactly at its end: both inclusive
    assert completion(rows, feb19, "activation", "d7") == (7, 1, 1, 1, 1.0, True)
    assert completion(rows, feb19, "b", "d7") == (7, 1, 1, 0, 0.0, True)

    half = one(rows, cohort_date=jan, goal_id="activation", window_name="d7")
    assert (half["completion_rate_ci_lower"], half["completion_rate_ci_upper"]) == approx(wilson_by_hand(1, 2))
    zero = one(rows, cohort_date=jan, goal_id="c", window_name="d7")
    assert (zero["completion_rate_ci_lower"], zero["completion_rate_ci_upper"]) == approx(wilson_by_hand(0, 2))
    censored = one(rows, cohort_date=feb5, goal_id="activation", window_name="d30")
    assert (censored["completion_rate_ci_lower"], censored["completion_rate_ci_upper"]) == (None, None)

    types = {(r["goal_type"], r["goal_id"], r["milestone_level"]) for r in rows}
    assert types == {("activation", "activation", None), ("milestone", "a", 1), ("milestone", "b", 2),
                     ("milestone", "c", 3)}
    keys = [tuple(r[k] for k in ACCOUNT_MART_KEYS["account_cohort_completion"]) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert all(r["as_of"] == T(2024, 3, 1) for r in rows)


def test_cohort_completion_follows_the_rule():
    rows = run(cohort_dataset(), activation_as_of=COHORT_AS_OF,
               activation_account_activation_rule="all")["account_cohort_completion"]
    jan = D(2024, 1, 1)
    # all: C1 met when c1b activates on 01-20 (19 days after 01-01): not in d7, in d30
    assert completion(rows, jan, "activation", "d7") == (7, 2, 2, 0, 0.0, True)
    assert completion(rows, jan, "activation", "d30") == (30, 2, 2, 1, 0.5, True)
    assert completion(rows, jan, "a", "d7") == (7, 2, 2, 0, 0.0, True)
    accounts = by_account(run(cohort_dataset(), activation_as_of=COHORT_AS_OF,
                              activation_account_activation_rule="all")["accounts"])
    assert (accounts["C1"]["activated_at"], accounts["C2"]["activated_at"], accounts["C4"]["activated_at"]) == (
        T(2024, 1, 20), None, T(2024, 3, 1))


def test_cohort_grain_month():
    result = run(cohort_dataset(), activation_as_of=COHORT_AS_OF, activation_cohort_grain="month")
    assert {a: r["cohort_date"] for a, r in by_account(result["accounts"]).items()} == {
        "C1": D(2024, 1, 1), "C2": D(2024, 1, 1), "C3": D(2024, 2, 1), "C4": D(2024, 2, 1)}
    rows = result["account_cohort_completion"]
    assert len(rows) == 24
    assert completion(rows, D(2024, 2, 1), "activation", "d7") == (7, 2, 2, 2, 1.0, True)
    assert completion(rows, D(2024, 2, 1), "activation", "d30") == (30, 2, 0, 0, None, False)


def test_every_mart_has_exactly_the_columns_and_is_sorted_by_key():
    for data, as_of in ((rules_dataset(), RULES_AS_OF), (pql_dataset(), PQL_AS_OF), (cohort_dataset(), COHORT_AS_OF)):
        result = run(data, activation_as_of=as_of)
        assert set(result) == set(COLUMNS) == set(ACCOUNT_MART_KEYS)
        for name, rows in result.items():
            assert rows, name
            for row in rows:
                assert list(row) == COLUMNS[name], name
            keys = [tuple(r[k] for k in ACCOUNT_MART_KEYS[name]) for r in rows]
            assert keys == sorted(keys) and len(set(keys)) == len(keys), name


# -------------------------------------------------------------------- randomised


def random_dataset(seed):
    rng = random.Random(seed)
    start = T(2024, 1, 1)
    milestones = [
        milestone("a", 1, weight=float(rng.choice([10, 20, 30])), timeframe=rng.choice(["3d", "7d"]),
                  triggered_by_event="a"),
        milestone("b", 2, weight=float(rng.choice([5, 25, 40])), timeframe=rng.choice(["7d", "14d"]),
                  triggered_by_event="b", is_activation=True),
        milestone("c", 3, weight=0.1 * rng.randint(1, 300), timeframe="30d", triggered_by_event="c"),
    ]
    users, events = [], []
    for index in range(rng.randint(8, 30)):
        user_id = f"u{index:02d}"
        account_id = rng.choice(["k1", "k2", "k3", "k4", "k5", None])
        created = start + dt.timedelta(hours=rng.randint(0, 24 * 30))
        users.append(user(user_id, created.isoformat(sep=" "), account_id=account_id))
        for _ in range(rng.randint(0, 5)):
            at = created + dt.timedelta(hours=rng.choice([0, 6, 12, 24]) * rng.randint(0, 30))
            events.append(event(user_id, rng.choice("abc"), at.isoformat(sep=" ")))
    return Dataset(users=users, events=events, milestones=milestones)


def score_on(points, day):
    score = 0.0
    for valid_from, value in points:
        if valid_from <= day:
            score = value
    return score


@pytest.mark.parametrize("seed", range(12))
def test_randomised_invariants(seed):
    data = random_dataset(seed)
    tables = (data.users, data.events, data.milestones, data.requirements)
    base = compute(*tables)  # as_of = latest event: every goal time is <= as_of
    as_of = base["as_of"]
    members = {}
    for u in base["users"]:
        if u["account_id"] is not None and u["created_at"] <= as_of:
            members.setdefault(u["account_id"], []).append(u)
    user_points = {}
    for r in compute_bi(*tables)["pql_score_history"]:
        user_points.setdefault(r["user_id"], []).append((r["valid_from"], r["pql_score"]))

    rules = {
        "any": ("any", {}, "sum"), "all": ("all", {}, "max"),
        "min_users_1": ("min_users", {"activation_account_min_users": 1}, "sum"),
        "min_users_2": ("min_users", {"activation_account_min_users": 2}, "sum"),
        "min_share_1": ("min_share", {"activation_account_min_share": 1.0}, "sum"),
        "min_share_half": ("min_share", {"activation_account_min_share": 0.5}, "sum"),
    }
    results = {
        name: run(data, activation_account_activation_rule=rule, activation_account_pql_aggregate=aggregate, **extra)
        for name, (rule, extra, aggregate) in rules.items()
    }
    accounts = {name: by_account(result["accounts"]) for name, result in results.items()}
    assert set(accounts["any"]) == set(members)
    for name, (rule, _, _) in rules.items():
        assert {r["activation_rule"] for r in accounts[name].values()} <= {rule}

    for account_id, users in members.items():
        activated = sorted(u["activated_at"] for u in users if u["is_activated"])
        row = accounts["any"][account_id]
        assert (row["users"], row["activated_users"]) == (len(users), len(activated))
        assert row["activated_user_share"] == len(activated) / len(users)
        assert (row["activated_user_share_ci_lower"], row["activated_user_share_ci_upper"]) == approx(
            wilson_by_hand(len(activated), len(users)))
        assert row["account_created_at"] == min(u["created_at"] for u in users)
        # any: the earliest member activation; min_users N: the N-th earliest
        assert row["activated_at"] == (activated[0] if activated else None)
        assert row["is_activated"] == bool(activated)
        assert accounts["min_users_1"][account_id]["activated_at"] == row["activated_at"]
        assert accounts["min_users_2"][account_id]["activated_at"] == (activated[1] if len(activated) >= 2 else None)
        # min_share 1.0 is all; all and min_share: the rule holds at met_at and at no earlier activation
        assert accounts["min_share_1"][account_id]["activated_at"] == accounts["all"][account_id]["activated_at"]
        for name, holds in (("all", lambda a, n: a == n), ("min_share_half", lambda a, n: a / n >= 0.5)):
            met_at = accounts[name][account_id]["activated_at"]
            for t in activated:
                n = sum(1 for u in users if u["created_at"] <= t)
                a = sum(1 for s in activated if s <= t)
                if met_at is None or t < met_at:
                    assert not holds(a, n), (name, account_id, t)
                elif t == met_at:
                    assert holds(a, n), (name, account_id, t)
            assert met_at is None or met_at >= row["activated_at"]

    for name, aggregate in (("any", "sum"), ("all", "max")):
        result = results[name]
        history = result["account_pql_score_history"]
        for account_id, users in members.items():
            rows = [r for r in history if r["account_id"] == account_id]
            dates = sorted({d for u in users for d, _ in user_points.get(u["user_id"], [])})
            assert [r["valid_from"] for r in rows][:1] == dates[:1]
            assert {r["valid_from"] for r in rows} <= set(dates)
            account_points = [(r["valid_from"], r["pql_score"]) for r in rows]
            for day in dates:  # on every member change point, the account score is the aggregate
                scores = [score_on(user_points.get(u["user_id"], []), day) for u in users]
                expected = math.fsum(scores) if aggregate == "sum" else max(scores)
                assert score_on(account_points, day) == approx(expected, abs=1e-8)
            for earlier, following in zip(rows, rows[1:]):
                assert earlier["valid_to"] == following["valid_from"]
                assert abs(earlier["pql_score"] - following["pql_score"]) > 1e-9 or (
                    earlier["pql_band_rank"] != following["pql_band_rank"])
            for r in rows:  # default bands nurture 0 / sdr_outreach 21 / ae_handoff 51
                expected_band = ("ae_handoff", 3) if r["pql_score"] >= 51 else (
                    ("sdr_outreach", 2) if r["pql_score"] >= 21 else ("nurture", 1))
                assert (r["pql_band"], r["pql_band_rank"]) == expected_band
            assert [r["is_current"] for r in rows] == [False] * (len(rows) - 1) + [True] * bool(rows)
            last = [score_on(user_points.get(u["user_id"], []), as_of.date()) for u in users]
            if rows:
                # the account's score on date(as_of): its current row
                assert rows[-1]["valid_to"] is None and rows[-1]["valid_from"] <= as_of.date()
                assert rows[-1]["pql_score"] == approx(math.fsum(last) if aggregate == "sum" else max(last), abs=1e-9)
            else:
                assert last == [0.0] * len(users)

        handoff_rows = result["account_pql_handoffs"]
        ids = [r["handoff_id"] for r in handoff_rows]
        assert len(set(ids)) == len(ids)
        natural = [(r["account_id"], r["to_band"], r["crossed_on"]) for r in handoff_rows]
        assert len(set(natural)) == len(natural)
        rows_by_key = {(r["account_id"], r["valid_from"]): r for r in history}
        for r in handoff_rows:
            key = f"{r['account_id']}|{r['to_band']}|{r['crossed_on'].isoformat()}"
            assert r["handoff_id"] == hashlib.md5(key.encode()).hexdigest()
            source = rows_by_key[(r["account_id"], r["crossed_on"])]
            assert (source["pql_band"], source["pql_score"]) == (r["to_band"], r["pql_score"])
            assert r["from_band"] != r["to_band"]

    currents = {
        name: {r["account_id"]: r["pql_score"] for r in results[name]["account_pql_score_history"] if r["is_current"]}
        for name in ("any", "all")
    }
    assert set(currents["all"]) == set(currents["any"])
    for account_id, score in currents["all"].items():  # max <= sum of non-negative scores
        assert score <= currents["any"][account_id] + 1e-9

    completion_rows = results["any"]["account_cohort_completion"]
    totals = {}
    for r in completion_rows:
        assert 0 <= r["completed_accounts"] <= r["eligible_accounts"] <= r["cohort_accounts"]
        assert r["is_mature"] == (r["eligible_accounts"] == r["cohort_accounts"])
        totals[(r["goal_id"], r["window_name"])] = totals.get((r["goal_id"], r["window_name"]), 0) + r["cohort_accounts"]
    assert set(totals.values()) <= {len(members)}
    assert len(totals) == (4 * 3 if members else 0)
