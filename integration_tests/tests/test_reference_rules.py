"""Unit tests of the Python reference against hand-computed values (SPEC sections 1-4)."""

import datetime as dt
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from reference.activation_reference import (  # noqa: E402
    ConfigError,
    compute,
    normalise_event_name,
    parse_timestamp,
)

T = dt.datetime

USER_MILESTONE_COLUMNS = {
    "user_id", "milestone_id", "milestone_level", "milestone_weight",
    "is_activation_milestone", "user_created_at", "timeframe_seconds", "deadline_at",
    "is_reached", "reached_at", "reached_path_id", "is_within_timeframe", "is_late",
    "time_to_reach_seconds", "time_to_reach_hours", "time_to_reach_days",
    "is_window_open", "as_of",
}

USER_COLUMNS = {
    "user_id", "account_id", "created_at", "cohort_date", "plan_tier", "install_source",
    "inviter_user_id", "is_invited_signup", "signup_type", "milestones_reached",
    "milestones_reached_late", "highest_level_reached", "is_activated", "activated_at",
    "first_value_milestone_id", "first_value_at", "time_to_first_value_seconds",
    "time_to_first_value_hours", "activation_score", "activation_score_pct", "status",
    "status_action", "as_of",
}


def U(user_id, created_at="2024-01-01 00:00:00", **extra):
    row = {
        "user_id": user_id,
        "account_id": "acc",
        "created_at": created_at,
        "plan_tier": "free",
        "install_source": "organic",
        "inviter_user_id": None,
        "company_size": None,
    }
    row.update(extra)
    return row


def E(user_id, name, ts, event_id=None, properties=None):
    return {
        "event_id": event_id,
        "user_id": user_id,
        "event_name": name,
        "event_timestamp": ts,
        "properties": properties,
    }


def M(mid, level, weight=1.0, timeframe="7d", trigger=None, activation=False, gate=None,
      timeframe_days=None):
    return {
        "milestone_id": mid,
        "definition": f"definition of {mid}",
        "level": level,
        "weight": weight,
        "timeframe": timeframe,
        "timeframe_days": timeframe_days,
        "triggered_by_event": trigger,
        "is_activation": activation,
        "requires_milestone_id": gate,
    }


def R(mid, name, min_count=1, path_id=1, key=None, value=None):
    return {
        "milestone_id": mid,
        "path_id": path_id,
        "event_name": name,
        "min_count": min_count,
        "property_key": key,
        "property_value": value,
    }


def run(users, events, milestones, requirements=(), **vars):
    return compute(list(users), list(events), list(milestones), list(requirements), vars)


def um(result, user_id, milestone_id):
    rows = [
        r for r in result["user_milestones"]
        if r["user_id"] == user_id and r["milestone_id"] == milestone_id
    ]
    assert len(rows) == 1
    return rows[0]


def usr(result, user_id):
    rows = [r for r in result["users"] if r["user_id"] == user_id]
    assert len(rows) == 1
    return rows[0]


def reasons(rows):
    return [(r["user_id"], r["reason"]) for r in rows]


LOGIN = [M("first_login", 1, trigger="login")]


# ----------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Document Created", "document_created"),
        ("  --Foo!!bar--  ", "foo_bar"),
        ("document_created", "document_created"),
        ("Sign-Up", "sign_up"),
        ("page.view", "page_view"),
        ("LOGIN", "login"),
        ("a  __  b", "a_b"),
        ("Step 2 Done", "step_2_done"),
        ("café au lait", "café_au_lait"),
        # letters, marks and numbers of every script are kept (SPEC §2)
        ("Café Opened", "café_opened"),
        ("ÉVÉNEMENT Créé", "événement_créé"),
        ("Über—Größe", "über_größe"),  # em dash separates
        ("検索", "検索"),
        ("検索 実行", "検索_実行"),
        ("हिन्दी", "हिन्दी"),  # vowel signs and virama (M*) stay inside the word
        ("ПОИСК Выполнен", "поиск_выполнен"),
        ("٣ items", "٣_items"),  # Arabic-Indic digit (Nd)
        ("Level Ⅻ", "level_ⅻ"),  # letter number (Nl), lower-cased by str.lower
        # punctuation, symbols, emoji and every kind of space are separators
        ("Search 🔍 Done!", "search_done"),
        ("🚀launch🚀", "launch"),
        ("a\u00a0b", "a_b"),  # no-break space
        ("x\u3000y", "x_y"),  # ideographic space
        ("__a__b__", "a_b"),  # '_' itself is a separator
        ("«Quote»", "quote"),
        ("👍", None),
        ("—·—", None),
        ("!!!", None),
        ("   ", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_event_name(raw, expected):
    assert normalise_event_name(raw) == expected


def test_normalise_event_name_applies_no_nfc():
    decomposed = "Cafe\u0301 Opened"  # e + combining acute accent (Mn)
    assert normalise_event_name(decomposed) == "cafe\u0301_opened"
    assert normalise_event_name(decomposed) != normalise_event_name("Café Opened")


def test_configured_and_event_names_normalised_the_same_way():
    result = run(
        [U("u1")],
        [E("u1", "  Search-Performed ", "2024-01-02 00:00:00")],
        [M("search", 1, trigger="Search Performed")],
    )
    assert um(result, "u1", "search")["reached_at"] == T(2024, 1, 2)


def test_unicode_event_names_reach_milestones_and_are_never_missing():
    result = run(
        [U("u1")],
        [
            E("u1", "café opened", "2024-01-02 00:00:00", event_id="e1"),
            E("u1", "検索", "2024-01-03 00:00:00", event_id="e2"),
            E("u1", " हिन्दी  पढ़ा ", "2024-01-04 00:00:00", event_id="e3"),
            E("u1", "👍🎉", "2024-01-05 00:00:00", event_id="e4"),  # no letter or digit
            E("u1", "caf opened", "2024-01-01 12:00:00", event_id="e5"),  # 'caf' is another name
        ],
        [
            M("cafe", 1, trigger="Café Opened"),
            M("search", 2, trigger="検索"),
            M("hindi", 3, trigger=None),
        ],
        [R("hindi", "हिन्दी-पढ़ा")],
    )
    assert um(result, "u1", "cafe")["reached_at"] == T(2024, 1, 2)
    assert um(result, "u1", "search")["reached_at"] == T(2024, 1, 3)
    assert um(result, "u1", "hindi")["reached_at"] == T(2024, 1, 4)
    assert [(r["event_id"], r["reason"]) for r in result["events_quarantine"]] == [
        ("e4", "missing_event_name")]
    assert result["staged_events_count"] == 4


# ------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2024-01-01T10:00:00+02:00", T(2024, 1, 1, 8, 0)),
        ("2024-01-01 10:00:00+02:00", T(2024, 1, 1, 8, 0)),
        ("2024-01-01T10:00:00+0200", T(2024, 1, 1, 8, 0)),
        ("2024-01-01T10:00:00+02", T(2024, 1, 1, 8, 0)),
        ("2024-01-01T10:00:00-05:30", T(2024, 1, 1, 15, 30)),
        ("2024-01-01T23:30:00-01:00", T(2024, 1, 2, 0, 30)),
        ("2024-01-01T01:00:00+02:00", T(2023, 12, 31, 23, 0)),
        ("2024-01-01T10:00:00Z", T(2024, 1, 1, 10, 0)),
        ("2024-01-01 10:00:00", T(2024, 1, 1, 10, 0)),
        ("2024-01-01", T(2024, 1, 1)),
        ("2024-01-01 10:00:00.5", T(2024, 1, 1, 10, 0, 0, 500000)),
        ("2024-01-01 10:00:00.123456", T(2024, 1, 1, 10, 0, 0, 123456)),
        ("2024-01-01T10:00:00.25+01:00", T(2024, 1, 1, 9, 0, 0, 250000)),
        ("  2024-01-01 10:00:00  ", T(2024, 1, 1, 10, 0)),
        ("2024-02-29 00:00:00", T(2024, 2, 29)),
    ],
)
def test_parse_timestamp_valid(raw, expected):
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None, "", "   ", "garbage", "yesterday", "2024-02-30", "2023-02-29 00:00:00",
        "2024-13-01", "2024-01-32", "2024-01-01 24:00:00", "2024-01-01 10:60:00",
        "2024-01-01 10:00", "2024/01/01", "01/02/2024", "2024-1-1",
        "2024-01-01 10:00:00.1234567", "2024-01-01T10:00:00+02:00:00", "1704103200",
    ],
)
def test_parse_timestamp_invalid(raw):
    assert parse_timestamp(raw) is None


def test_offsets_converted_not_truncated_in_marts():
    result = run(
        [U("u1", "2024-01-01T10:00:00+02:00")],
        [E("u1", "login", "2024-01-01T12:00:00+02:00")],
        LOGIN,
    )
    row = um(result, "u1", "first_login")
    assert row["user_created_at"] == T(2024, 1, 1, 8, 0)
    assert row["reached_at"] == T(2024, 1, 1, 10, 0)
    assert row["time_to_reach_seconds"] == 7200.0
    assert usr(result, "u1")["created_at"] == T(2024, 1, 1, 8, 0)


# ------------------------------------------------------------- user quarantine


def test_user_quarantine_reasons_and_order():
    users = [
        U("u1", "2024-01-02 00:00:00", account_id="late-copy"),
        U(None),
        U("   "),
        U(None, "not a date"),
        U(" u9 ", "not a date"),
        U("u2", "2024-02-30"),
        U("u1", "2024-01-01 00:00:00", account_id="early-copy"),
        U(" u1", "2024-01-03 00:00:00"),
        U("u1", None),
        U("u3"),
    ]
    result = run(users, [], LOGIN)
    assert reasons(result["users_quarantine"]) == [
        ("u1", "duplicate_user_id"),
        (None, "missing_user_id"),
        (None, "missing_user_id"),
        (None, "missing_user_id"),
        ("u9", "invalid_created_at"),
        ("u2", "invalid_created_at"),
        ("u1", "duplicate_user_id"),
        ("u1", "invalid_created_at"),
    ]
    assert result["staged_users_count"] == 2
    assert [u["user_id"] for u in result["users"]] == ["u1", "u3"]
    assert usr(result, "u1")["account_id"] == "early-copy"
    assert usr(result, "u1")["created_at"] == T(2024, 1, 1)
    assert len(users) == result["staged_users_count"] + len(result["users_quarantine"])


def test_duplicate_user_tie_on_created_at_keeps_smallest_attributes():
    users = [
        U("u1", account_id="b", plan_tier="pro"),
        U("u1", account_id="a", plan_tier="team"),
        U("u1", account_id="a", plan_tier="free"),
        U("u1", account_id=None, plan_tier="zzz"),
    ]
    result = run(users, [], LOGIN)
    kept = usr(result, "u1")
    assert kept["account_id"] is None
    assert kept["plan_tier"] == "zzz"
    assert reasons(result["users_quarantine"]) == [("u1", "duplicate_user_id")] * 3


def test_duplicate_user_offset_form_of_same_instant_is_duplicate():
    users = [U("u1", "2024-01-01T02:00:00+02:00", account_id="x"), U("u1", "2024-01-01", account_id="w")]
    result = run(users, [], LOGIN)
    assert usr(result, "u1")["account_id"] == "w"
    assert result["staged_users_count"] == 1


# ------------------------------------------------------------ event quarantine


def test_event_quarantine_each_reason():
    users = [U("u1"), U("u_bad", "nope")]
    events = [
        E(None, "login", "2024-01-02 00:00:00", "e1"),
        E("  ", "login", "2024-01-02 00:00:00", "e2"),
        E("u1", None, "2024-01-02 00:00:00", "e3"),
        E("u1", " !!! ", "2024-01-02 00:00:00", "e4"),
        E("u1", "login", "yesterday", "e5"),
        E("u1", "login", None, "e6"),
        E("u1", "login", "2024-01-11 00:00:01", "e7"),
        E("u1", "login", "2024-01-02 00:00:00", "e8", properties="{bad json"),
        E("u1", "login", "2024-01-02 00:00:00", "e9", properties=""),
        E("ghost", "Login", "2024-01-02 00:00:00", " e10 "),
        E("u_bad", "login", "2024-01-02 00:00:00", "e11"),
        E("u1", "login", "2024-01-11 00:00:00", "e12", properties=None),
        E("u1", "login", "2024-01-02 00:00:00", "e13", properties='{"a": 1}'),
    ]
    result = run(users, events, LOGIN, activation_as_of="2024-01-10 00:00:00")
    got = [(r["event_id"], r["reason"]) for r in result["events_quarantine"]]
    assert got == [
        ("e1", "missing_user_id"),
        ("e2", "missing_user_id"),
        ("e3", "missing_event_name"),
        ("e4", "missing_event_name"),
        ("e5", "invalid_timestamp"),
        ("e6", "invalid_timestamp"),
        ("e7", "future_timestamp"),
        ("e8", "invalid_properties_json"),
        ("e9", "invalid_properties_json"),
        ("e10", "unknown_user"),
        ("e11", "unknown_user"),
    ]
    ghost = result["events_quarantine"][9]
    assert ghost == {"event_id": "e10", "user_id": "ghost", "event_name": "login", "reason": "unknown_user"}
    assert result["events_quarantine"][0]["user_id"] is None
    assert result["events_quarantine"][3]["event_name"] is None
    assert result["staged_events_count"] == 2


def test_event_quarantine_first_match_wins():
    users = [U("u1")]
    events = [
        E(None, None, "bad", "a"),
        E("u1", "", "bad", "b"),
        E("u1", "login", "bad", "c", properties="{"),
        E("u1", "login", "2024-03-01 00:00:00", "d", properties="{"),
        E("ghost", "login", "2024-01-02 00:00:00", "e", properties="{"),
        E("ghost", "login", "2024-03-01 00:00:00", "f"),
    ]
    result = run(users, events, LOGIN, activation_as_of="2024-01-10")
    assert [r["reason"] for r in result["events_quarantine"]] == [
        "missing_user_id",
        "missing_event_name",
        "invalid_timestamp",
        "future_timestamp",
        "invalid_properties_json",
        "future_timestamp",
    ]


def test_nan_in_properties_is_invalid_json_and_scalars_are_valid():
    events = [
        E("u1", "login", "2024-01-02", "a", properties='{"x": NaN}'),
        E("u1", "login", "2024-01-02", "b", properties="null"),
        E("u1", "login", "2024-01-02", "c", properties="3"),
        E("u1", "login", "2024-01-02", "d", properties="  {}  "),
    ]
    result = run([U("u1")], events, LOGIN)
    assert [(r["event_id"], r["reason"]) for r in result["events_quarantine"]] == [
        ("a", "invalid_properties_json")
    ]
    assert result["staged_events_count"] == 3


# ------------------------------------------------------------------------ dedup


def test_dedup_by_event_id_keeps_earliest_copy():
    events = [
        E("u1", "login", "2024-01-02 10:00:00", "e1"),
        E("u1", "login", "2024-01-02 09:00:00", " e1 "),
        E("u1", "login", "2024-01-02 08:00:00", "e2"),
        E("u1", "login", "2024-01-02 08:00:00", "e3"),
    ]
    milestones = [M("m", 1)]
    result = run([U("u1")], events, milestones, [R("m", "login", min_count=2)])
    assert result["staged_events_count"] == 3
    assert result["duplicate_events_removed"] == 1
    assert um(result, "u1", "m")["reached_at"] == T(2024, 1, 2, 8, 0)

    result = run([U("u1")], events, milestones, [R("m", "login", min_count=3)])
    assert um(result, "u1", "m")["reached_at"] == T(2024, 1, 2, 9, 0)


def test_dedup_by_event_id_ignores_content_differences():
    events = [
        E("u1", "login", "2024-01-02 10:00:00", "e1"),
        E("u2", "signup", "2024-01-03 10:00:00", "e1", properties='{"a": 1}'),
    ]
    result = run([U("u1"), U("u2")], events, LOGIN)
    assert result["staged_events_count"] == 1
    assert result["duplicate_events_removed"] == 1
    assert um(result, "u1", "first_login")["reached_at"] == T(2024, 1, 2, 10, 0)
    assert um(result, "u2", "first_login")["is_reached"] is False


def test_dedup_by_content_when_event_id_missing():
    events = [
        E("u1", "login", "2024-01-02T10:00:00+02:00", None, '{"a": 1}'),
        E("u1", "Login", "2024-01-02 08:00:00Z", "  ", '{"a": 1}'),
        E(" u1 ", "LOGIN", "2024-01-02 08:00:00", None, '{"a": 1}'),
        E("u1", "login", "2024-01-02 08:00:00", None, '{"a": 2}'),
        E("u1", "login", "2024-01-02 08:00:00", None, '{"a":1}'),
        E("u1", "login", "2024-01-02 08:00:00", None, None),
        E("u1", "login", "2024-01-02 08:00:00", None, None),
        E("u1", "login", "2024-01-02 08:00:01", None, None),
        E("u1", "login", "2024-01-02 08:00:00", "x1", '{"a": 1}'),
    ]
    result = run([U("u1")], events, LOGIN)
    assert result["staged_events_count"] == 6
    assert result["duplicate_events_removed"] == 3
    assert result["events_quarantine"] == []


def test_reconciliation_counts():
    users = [U("u1"), U("u2"), U("u2"), U(None)]
    events = [
        E("u1", "login", "2024-01-02", "e1"),
        E("u1", "login", "2024-01-03", "e1"),
        E("u1", "login", "2024-01-04", None),
        E("u1", "login", "2024-01-04", None),
        E("u1", "login", "2024-01-04", None),
        E("u2", "login", "2024-01-05", "e2"),
        E("ghost", "login", "2024-01-05", "e3"),
        E("u1", None, "2024-01-05", "e4"),
        E("u1", "login", "bad", "e5"),
        E("u1", "login", "2024-01-05", "e6", properties="{"),
    ]
    result = run(users, events, LOGIN)
    assert result["staged_users_count"] == 2
    assert len(result["users_quarantine"]) == 2
    assert result["staged_events_count"] == 3
    assert result["duplicate_events_removed"] == 3
    assert len(result["events_quarantine"]) == 4
    assert len(events) == (
        result["staged_events_count"]
        + len(result["events_quarantine"])
        + result["duplicate_events_removed"]
    )
    assert len(users) == result["staged_users_count"] + len(result["users_quarantine"])


# ----------------------------------------------------------------------- as_of


def test_as_of_from_data_is_greatest_parseable_timestamp_of_all_raw_rows():
    events = [
        E("u1", "login", "2024-01-05 00:00:00", "e1"),
        E(None, "login", "2024-01-09 12:00:00", "e2"),
        E("ghost", "login", "2024-01-08 00:00:00", "e3"),
        E("u1", "login", "2024-01-07T00:00:00-03:00", "e4", properties="{"),
        E("u1", "login", "2099-99-99", "e5"),
    ]
    result = run([U("u1")], events, LOGIN)
    assert result["as_of"] == T(2024, 1, 9, 12, 0)
    assert um(result, "u1", "first_login")["as_of"] == T(2024, 1, 9, 12, 0)
    assert usr(result, "u1")["as_of"] == T(2024, 1, 9, 12, 0)
    assert "future_timestamp" not in [r["reason"] for r in result["events_quarantine"]]


def test_as_of_from_var_overrides_data_and_is_converted():
    events = [E("u1", "login", "2024-03-05 00:00:00", "e1")]
    result = run([U("u1")], events, LOGIN, activation_as_of="2024-02-01T00:00:00+01:00")
    assert result["as_of"] == T(2024, 1, 31, 23, 0)
    assert [r["reason"] for r in result["events_quarantine"]] == ["future_timestamp"]


def test_as_of_none_without_events():
    result = run([U("u1")], [], LOGIN)
    assert result["as_of"] is None
    assert um(result, "u1", "first_login")["is_reached"] is False


def test_future_timestamp_only_beyond_tolerance():
    events = [
        E("u1", "login", "2024-01-11 00:00:00", "at_limit"),
        E("u1", "login", "2024-01-11 00:00:01", "beyond"),
        E("u1", "login", "2024-01-10 12:00:00", "inside"),
    ]
    result = run([U("u1")], events, LOGIN, activation_as_of="2024-01-10 00:00:00")
    assert [(r["event_id"], r["reason"]) for r in result["events_quarantine"]] == [
        ("beyond", "future_timestamp")
    ]

    result = run(
        [U("u1")], events, LOGIN,
        activation_as_of="2024-01-10 00:00:00", activation_future_tolerance_hours=0,
    )
    assert [r["event_id"] for r in result["events_quarantine"]] == ["at_limit", "beyond", "inside"]

    result = run(
        [U("u1")], events, LOGIN,
        activation_as_of="2024-01-10 00:00:00", activation_future_tolerance_hours=12,
    )
    assert [r["event_id"] for r in result["events_quarantine"]] == ["at_limit", "beyond"]


def test_is_window_open():
    milestones = [M("d7", 1, trigger="login", timeframe="7d"), M("d30", 2, trigger="login", timeframe="30d")]
    result = run([U("u1")], [], milestones, activation_as_of="2024-01-08 00:00:00")
    assert um(result, "u1", "d7")["is_window_open"] is False
    assert um(result, "u1", "d30")["is_window_open"] is True
    result = run([U("u1")], [], milestones, activation_as_of="2024-01-07 23:59:59")
    assert um(result, "u1", "d7")["is_window_open"] is True


# -------------------------------------------------------------------- engine


def test_kth_event_with_ties_on_timestamp():
    events = [
        E("u1", "search", "2024-01-02 10:00:00", "s4"),
        E("u1", "search", "2024-01-02 09:00:00", "s1"),
        E("u1", "search", "2024-01-02 09:30:00", "s3"),
        E("u1", "search", "2024-01-02 09:30:00", "s2"),
    ]
    milestones = [M("m2", 1), M("m3", 2), M("m4", 3), M("m5", 4)]
    reqs = [R("m2", "search", 2), R("m3", "search", 3), R("m4", "search", 4), R("m5", "search", 5)]
    result = run([U("u1")], events, milestones, reqs)
    assert um(result, "u1", "m2")["reached_at"] == T(2024, 1, 2, 9, 30)
    assert um(result, "u1", "m3")["reached_at"] == T(2024, 1, 2, 9, 30)
    assert um(result, "u1", "m4")["reached_at"] == T(2024, 1, 2, 10, 0)
    assert um(result, "u1", "m5")["is_reached"] is False
    assert um(result, "u1", "m5")["reached_at"] is None


def test_events_before_signup_ignored():
    users = [U("u1", "2024-01-01 12:00:00")]
    events = [
        E("u1", "login", "2024-01-01 11:59:59", "a"),
        E("u1", "login", "2024-01-01 13:00:00", "b"),
    ]
    milestones = [M("twice", 1)]
    reqs = [R("twice", "login", 2)]
    result = run(users, events, milestones, reqs)
    assert um(result, "u1", "twice")["is_reached"] is False
    assert result["staged_events_count"] == 2

    result = run(users, events + [E("u1", "login", "2024-01-01 14:00:00", "c")], milestones, reqs)
    assert um(result, "u1", "twice")["reached_at"] == T(2024, 1, 1, 14, 0)

    result = run(users, [E("u1", "login", "2024-01-01 12:00:00", "d")], LOGIN)
    assert um(result, "u1", "first_login")["reached_at"] == T(2024, 1, 1, 12, 0)
    assert um(result, "u1", "first_login")["time_to_reach_seconds"] == 0.0


def test_and_within_a_path():
    milestones = [M("fv", 1, timeframe="14d")]
    reqs = [R("fv", "search", 2), R("fv", "list_created", 1)]
    events = [
        E("u1", "search", "2024-01-02 10:00:00", "a"),
        E("u1", "list_created", "2024-01-02 11:00:00", "b"),
        E("u1", "search", "2024-01-02 12:00:00", "c"),
        E("u2", "search", "2024-01-02 10:00:00", "d"),
        E("u2", "search", "2024-01-02 12:00:00", "e"),
    ]
    result = run([U("u1"), U("u2")], events, milestones, reqs)
    row = um(result, "u1", "fv")
    assert row["reached_at"] == T(2024, 1, 2, 12, 0)
    assert row["reached_path_id"] == 1
    assert um(result, "u2", "fv")["is_reached"] is False
    assert um(result, "u2", "fv")["reached_path_id"] is None


def test_null_path_id_means_path_one():
    milestones = [M("fv", 1)]
    reqs = [R("fv", "search", 1, path_id=None), R("fv", "list_created", 1, path_id=1)]
    events = [E("u1", "search", "2024-01-02 10:00:00", "a")]
    result = run([U("u1")], events, milestones, reqs)
    assert um(result, "u1", "fv")["is_reached"] is False


def test_or_across_paths():
    milestones = [M("fv", 1, timeframe="14d")]
    reqs = [
        R("fv", "search", 1, path_id=1),
        R("fv", "list_created", 1, path_id=1),
        R("fv", "template_imported", 1, path_id=2),
    ]
    events = [
        E("u1", "search", "2024-01-02 10:00:00", "a"),
        E("u1", "list_created", "2024-01-02 12:00:00", "b"),
        E("u1", "template_imported", "2024-01-02 11:00:00", "c"),
        E("u2", "search", "2024-01-02 10:00:00", "d"),
        E("u2", "list_created", "2024-01-02 12:00:00", "e"),
        E("u2", "template_imported", "2024-01-02 13:00:00", "f"),
        E("u3", "search", "2024-01-02 10:00:00", "g"),
        E("u3", "template_imported", "2024-01-03 09:00:00", "h"),
        E("u4", "search", "2024-01-02 10:00:00", "i"),
    ]
    result = run([U("u1"), U("u2"), U("u3"), U("u4")], events, milestones, reqs)
    assert (um(result, "u1", "fv")["reached_at"], um(result, "u1", "fv")["reached_path_id"]) == (T(2024, 1, 2, 11), 2)
    assert (um(result, "u2", "fv")["reached_at"], um(result, "u2", "fv")["reached_path_id"]) == (T(2024, 1, 2, 12), 1)
    assert (um(result, "u3", "fv")["reached_at"], um(result, "u3", "fv")["reached_path_id"]) == (T(2024, 1, 3, 9), 2)
    assert um(result, "u4", "fv")["is_reached"] is False


def test_or_tie_between_paths_takes_smallest_path_id():
    milestones = [M("fv", 1)]
    reqs = [R("fv", "a", path_id=3), R("fv", "b", path_id=2)]
    events = [E("u1", "a", "2024-01-02 10:00:00", "x"), E("u1", "b", "2024-01-02 10:00:00", "y")]
    result = run([U("u1")], events, milestones, reqs)
    assert um(result, "u1", "fv")["reached_path_id"] == 2


def test_requirement_rows_define_the_milestone():
    milestones = [M("m", 1, trigger="login")]
    reqs = [R("m", "export")]
    result = run([U("u1")], [E("u1", "login", "2024-01-02", "a")], milestones, reqs)
    assert um(result, "u1", "m")["is_reached"] is False


def test_identical_requirement_rows_are_one_requirement():
    milestones = [M("m", 1)]
    reqs = [R("m", "login", 2), R("m", "Login", 2)]
    events = [E("u1", "login", "2024-01-02", "a"), E("u1", "login", "2024-01-03", "b")]
    result = run([U("u1")], events, milestones, reqs)
    assert um(result, "u1", "m")["reached_at"] == T(2024, 1, 3)


def test_gate_later_than_own_reach():
    milestones = [
        M("fv", 1, trigger="search", timeframe="14d"),
        M("invite", 2, trigger="invite_sent", timeframe="14d", gate="fv"),
    ]
    events = [
        E("u1", "invite_sent", "2024-01-02 10:00:00", "a"),
        E("u1", "search", "2024-01-05 10:00:00", "b"),
        E("u2", "search", "2024-01-02 10:00:00", "c"),
        E("u2", "invite_sent", "2024-01-03 10:00:00", "d"),
    ]
    result = run([U("u1"), U("u2")], events, milestones)
    row = um(result, "u1", "invite")
    assert row["reached_at"] == T(2024, 1, 5, 10, 0)
    assert row["reached_path_id"] == 1
    assert row["time_to_reach_seconds"] == 4 * 86400 + 10 * 3600
    assert um(result, "u2", "invite")["reached_at"] == T(2024, 1, 3, 10, 0)


def test_gate_never_reached():
    milestones = [
        M("fv", 1, trigger="search"),
        M("invite", 2, trigger="invite_sent", gate="fv"),
    ]
    events = [E("u1", "invite_sent", "2024-01-02 10:00:00", "a")]
    result = run([U("u1")], events, milestones)
    row = um(result, "u1", "invite")
    assert row["is_reached"] is False
    assert row["reached_at"] is None
    assert row["reached_path_id"] is None
    assert row["is_within_timeframe"] is False
    assert row["is_late"] is False
    assert row["time_to_reach_seconds"] is None


def test_gate_reached_only_before_signup_does_not_count():
    milestones = [M("fv", 1, trigger="search"), M("invite", 2, trigger="invite_sent", gate="fv")]
    events = [
        E("u1", "search", "2024-01-01 09:00:00", "a"),
        E("u1", "invite_sent", "2024-01-01 11:00:00", "b"),
    ]
    result = run([U("u1", "2024-01-01 10:00:00")], events, milestones)
    assert um(result, "u1", "invite")["is_reached"] is False


def test_chained_gates():
    milestones = [
        M("a", 1, trigger="ev_a", timeframe="30d"),
        M("b", 2, trigger="ev_b", timeframe="30d", gate="a"),
        M("c", 3, trigger="ev_c", timeframe="30d", gate="b"),
    ]
    events = [
        E("u1", "ev_b", "2024-01-02", "1"),
        E("u1", "ev_c", "2024-01-03", "2"),
        E("u1", "ev_a", "2024-01-04", "3"),
        E("u2", "ev_b", "2024-01-02", "4"),
        E("u2", "ev_c", "2024-01-03", "5"),
        E("u3", "ev_a", "2024-01-02", "6"),
        E("u3", "ev_b", "2024-01-03", "7"),
        E("u3", "ev_c", "2024-01-10", "8"),
    ]
    result = run([U("u1"), U("u2"), U("u3")], events, milestones)
    assert um(result, "u1", "a")["reached_at"] == T(2024, 1, 4)
    assert um(result, "u1", "b")["reached_at"] == T(2024, 1, 4)
    assert um(result, "u1", "c")["reached_at"] == T(2024, 1, 4)
    assert um(result, "u2", "a")["is_reached"] is False
    assert um(result, "u2", "b")["is_reached"] is False
    assert um(result, "u2", "c")["is_reached"] is False
    assert um(result, "u3", "b")["reached_at"] == T(2024, 1, 3)
    assert um(result, "u3", "c")["reached_at"] == T(2024, 1, 10)


def test_gate_pushes_reach_past_deadline():
    milestones = [
        M("fv", 1, trigger="search", timeframe="30d"),
        M("invite", 2, trigger="invite_sent", timeframe="7d", gate="fv"),
    ]
    events = [E("u1", "invite_sent", "2024-01-02", "a"), E("u1", "search", "2024-01-09", "b")]
    result = run([U("u1")], events, milestones)
    row = um(result, "u1", "invite")
    assert row["reached_at"] == T(2024, 1, 9)
    assert row["is_within_timeframe"] is False
    assert row["is_late"] is True


# ------------------------------------------------------------- property filter


def test_property_filter_string_value():
    milestones = [M("onboarded", 1)]
    reqs = [R("onboarded", "onboarding_step", key="step", value="finish")]
    events = [
        E("u1", "onboarding_step", "2024-01-02", "a", '{"step": "start"}'),
        E("u1", "onboarding_step", "2024-01-03", "b", '{"step": "finish", "n": 3}'),
        E("u2", "onboarding_step", "2024-01-02", "c", '{"other": "finish"}'),
        E("u2", "onboarding_step", "2024-01-02", "d", None),
        E("u2", "onboarding_step", "2024-01-02", "e", '{"step": null}'),
        E("u2", "onboarding_step", "2024-01-02", "f", '{"step": "Finish"}'),
        E("u2", "onboarding_step", "2024-01-02", "g", '{"meta": {"step": "finish"}}'),
        E("u2", "onboarding_step", "2024-01-02", "h", '["step", "finish"]'),
    ]
    result = run([U("u1"), U("u2")], events, milestones, reqs)
    assert um(result, "u1", "onboarded")["reached_at"] == T(2024, 1, 3)
    assert um(result, "u2", "onboarded")["is_reached"] is False


def test_property_filter_number_value_compared_as_text():
    milestones = [M("ok", 1)]
    reqs = [R("ok", "api_call", key="status", value="200")]
    events = [
        E("u1", "api_call", "2024-01-02", "a", '{"status": 404}'),
        E("u1", "api_call", "2024-01-03", "b", '{"status": 200}'),
        E("u2", "api_call", "2024-01-04", "c", '{"status": "200"}'),
        E("u3", "api_call", "2024-01-04", "d", '{"status": 2000}'),
    ]
    result = run([U("u1"), U("u2"), U("u3")], events, milestones, reqs)
    assert um(result, "u1", "ok")["reached_at"] == T(2024, 1, 3)
    assert um(result, "u2", "ok")["reached_at"] == T(2024, 1, 4)
    assert um(result, "u3", "ok")["is_reached"] is False


def test_property_filter_boolean_value():
    milestones = [M("paid", 1)]
    reqs = [R("paid", "feature_used", key="is_paid", value="true")]
    events = [
        E("u1", "feature_used", "2024-01-02", "a", '{"is_paid": false}'),
        E("u1", "feature_used", "2024-01-03", "b", '{"is_paid": true}'),
        E("u2", "feature_used", "2024-01-02", "c", '{"is_paid": "TRUE"}'),
        E("u2", "feature_used", "2024-01-02", "d", '{"is_paid": false}'),
    ]
    result = run([U("u1"), U("u2")], events, milestones, reqs)
    assert um(result, "u1", "paid")["reached_at"] == T(2024, 1, 3)
    assert um(result, "u2", "paid")["is_reached"] is False

    reqs = [R("paid", "feature_used", key="is_paid", value="false")]
    result = run([U("u1"), U("u2")], events, milestones, reqs)
    assert um(result, "u1", "paid")["reached_at"] == T(2024, 1, 2)
    assert um(result, "u2", "paid")["reached_at"] == T(2024, 1, 2)


def test_property_filter_counts_only_qualifying_events():
    milestones = [M("m", 1)]
    reqs = [R("m", "step", min_count=2, key="k", value="x")]
    events = [
        E("u1", "step", "2024-01-02", "a", '{"k": "x"}'),
        E("u1", "step", "2024-01-03", "b", '{"k": "y"}'),
        E("u1", "step", "2024-01-04", "c", '{"k": "x"}'),
    ]
    result = run([U("u1")], events, milestones, reqs)
    assert um(result, "u1", "m")["reached_at"] == T(2024, 1, 4)


# -------------------------------------------------------------------- timeframe


def test_inclusive_timeframe_boundary_to_the_second():
    events = [
        E("u1", "login", "2024-01-08 00:00:00", "a"),
        E("u2", "login", "2024-01-08 00:00:01", "b"),
    ]
    result = run([U("u1"), U("u2")], events, [M("m", 1, weight=3, trigger="login", timeframe="7d")])
    on_time = um(result, "u1", "m")
    assert on_time["deadline_at"] == T(2024, 1, 8)
    assert on_time["timeframe_seconds"] == 604800
    assert on_time["is_within_timeframe"] is True
    assert on_time["is_late"] is False
    assert on_time["time_to_reach_seconds"] == 604800.0
    assert on_time["time_to_reach_hours"] == 168.0
    assert on_time["time_to_reach_days"] == 7.0
    late = um(result, "u2", "m")
    assert late["is_reached"] is True
    assert late["is_within_timeframe"] is False
    assert late["is_late"] is True
    assert late["time_to_reach_seconds"] == 604801.0

    assert usr(result, "u1")["milestones_reached"] == 1
    assert usr(result, "u1")["activation_score"] == 3.0
    late_user = usr(result, "u2")
    assert late_user["milestones_reached"] == 0
    assert late_user["milestones_reached_late"] == 1
    assert late_user["activation_score"] == 0.0
    assert late_user["activation_score_pct"] == 0.0
    assert late_user["highest_level_reached"] is None
    assert late_user["is_activated"] is False


def test_fractional_seconds_boundary():
    events = [E("u1", "login", "2024-01-08 00:00:00.000001", "a")]
    result = run([U("u1")], events, [M("m", 1, trigger="login", timeframe="7d")])
    assert um(result, "u1", "m")["is_late"] is True
    assert um(result, "u1", "m")["time_to_reach_seconds"] == pytest.approx(604800.000001)


def test_48h_and_timeframe_days():
    milestones = [
        M("h48", 1, trigger="login", timeframe="48h"),
        M("d30", 2, trigger="login", timeframe=None, timeframe_days=30),
        M("d14", 3, trigger="login", timeframe=" 14D "),
        M("both", 4, trigger="login", timeframe="2d", timeframe_days=30),
        M("blank", 5, trigger="login", timeframe="  ", timeframe_days=1),
    ]
    events = [E("u1", "login", "2024-01-03 10:00:00", "a")]
    result = run([U("u1", "2024-01-01 10:00:00")], events, milestones)
    h48 = um(result, "u1", "h48")
    assert h48["timeframe_seconds"] == 172800
    assert h48["deadline_at"] == T(2024, 1, 3, 10, 0)
    assert h48["is_within_timeframe"] is True
    d30 = um(result, "u1", "d30")
    assert d30["timeframe_seconds"] == 2592000
    assert d30["deadline_at"] == T(2024, 1, 31, 10, 0)
    assert um(result, "u1", "d14")["timeframe_seconds"] == 1209600
    assert um(result, "u1", "both")["timeframe_seconds"] == 172800
    blank = um(result, "u1", "blank")
    assert blank["deadline_at"] == T(2024, 1, 2, 10, 0)
    assert blank["is_late"] is True

    late = run([U("u1", "2024-01-01 10:00:00")], [E("u1", "login", "2024-01-03 10:00:01", "a")], milestones)
    assert um(late, "u1", "h48")["is_late"] is True
    assert um(late, "u1", "d30")["is_within_timeframe"] is True


# ------------------------------------------------------------------- activation


ACTIVATION_MS = [
    M("a_login", 1, weight=1, trigger="login"),
    M("b_value", 2, weight=2, trigger="value", activation=True, timeframe="14d"),
    M("c_invite", 3, weight=3, trigger="invite", activation=True, timeframe="14d"),
]


def test_activation_with_flags():
    events = [
        E("u1", "value", "2024-01-03 00:00:00", "1"),
        E("u1", "invite", "2024-01-02 00:00:00", "2"),
        E("u2", "value", "2024-01-03 00:00:00", "3"),
        E("u2", "login", "2024-01-02 00:00:00", "4"),
        E("u3", "value", "2024-01-03 00:00:00", "5"),
        E("u3", "invite", "2024-01-16 00:00:00", "6"),
    ]
    result = run([U("u1"), U("u2"), U("u3")], events, ACTIVATION_MS)
    u1 = usr(result, "u1")
    assert u1["is_activated"] is True
    assert u1["activated_at"] == T(2024, 1, 3)
    assert u1["milestones_reached"] == 2
    assert u1["highest_level_reached"] == 3
    u2 = usr(result, "u2")
    assert u2["is_activated"] is False
    assert u2["activated_at"] is None
    assert u2["highest_level_reached"] == 2
    u3 = usr(result, "u3")
    assert u3["is_activated"] is False
    assert u3["activated_at"] is None
    assert u3["milestones_reached_late"] == 1
    assert um(result, "u1", "b_value")["is_activation_milestone"] is True
    assert um(result, "u1", "a_login")["is_activation_milestone"] is False


def test_activation_without_flags_uses_highest_level():
    milestones = [
        M("a", 1, trigger="ev_a"),
        M("b", 2, trigger="ev_b"),
        M("c", 3, trigger="ev_c"),
    ]
    events = [
        E("u1", "ev_c", "2024-01-02", "1"),
        E("u2", "ev_a", "2024-01-02", "2"),
        E("u2", "ev_b", "2024-01-03", "3"),
    ]
    result = run([U("u1"), U("u2")], events, milestones)
    assert usr(result, "u1")["is_activated"] is True
    assert usr(result, "u1")["activated_at"] == T(2024, 1, 2)
    assert usr(result, "u2")["is_activated"] is False

    milestones.append(M("d", 3, trigger="ev_d"))
    events.append(E("u2", "ev_d", "2024-01-04", "4"))
    events.append(E("u1", "ev_d", "2024-01-05", "5"))
    result = run([U("u1"), U("u2")], events, milestones)
    assert usr(result, "u1")["is_activated"] is True
    assert usr(result, "u1")["activated_at"] == T(2024, 1, 5)
    assert usr(result, "u2")["is_activated"] is False


# ------------------------------------------------------------------ first value


def test_first_value_default_lowest_level_timeframe_not_applied():
    milestones = [
        M("zeta", 1, trigger="ev_z", timeframe="48h"),
        M("alpha", 1, trigger="ev_a"),
        M("beta", 2, trigger="ev_b"),
    ]
    events = [
        E("u1", "ev_a", "2024-01-10 06:00:00", "1"),
        E("u1", "ev_b", "2024-01-01 12:00:00", "2"),
    ]
    result = run([U("u1")], events, milestones)
    u1 = usr(result, "u1")
    assert u1["first_value_milestone_id"] == "alpha"
    assert u1["first_value_at"] == T(2024, 1, 10, 6, 0)
    assert u1["time_to_first_value_seconds"] == 9 * 86400 + 6 * 3600
    assert u1["time_to_first_value_hours"] == 222.0
    assert um(result, "u1", "alpha")["is_late"] is True


def test_first_value_from_var_and_unreached():
    milestones = [M("alpha", 1, trigger="ev_a"), M("beta", 2, trigger="ev_b")]
    events = [E("u1", "ev_b", "2024-01-01 01:30:00", "1")]
    result = run([U("u1"), U("u2")], events, milestones, activation_first_value_milestone="beta")
    assert usr(result, "u1")["first_value_milestone_id"] == "beta"
    assert usr(result, "u1")["first_value_at"] == T(2024, 1, 1, 1, 30)
    assert usr(result, "u1")["time_to_first_value_seconds"] == 5400.0
    assert usr(result, "u1")["time_to_first_value_hours"] == 1.5
    assert usr(result, "u2")["first_value_at"] is None
    assert usr(result, "u2")["time_to_first_value_seconds"] is None
    assert usr(result, "u2")["time_to_first_value_hours"] is None


# ------------------------------------------------------------- score and bands


def test_score_pct_and_default_bands():
    milestones = [
        M("a", 1, weight=30, trigger="ev_a"),
        M("b", 2, weight=1, trigger="ev_b"),
        M("c", 3, weight=39, trigger="ev_c"),
        M("d", 4, weight=30, trigger="ev_d"),
    ]
    plan = {
        "u0": [],
        "u1": ["ev_a"],
        "u2": ["ev_a", "ev_b"],
        "u3": ["ev_a", "ev_c"],
        "u4": ["ev_a", "ev_b", "ev_c"],
        "u5": ["ev_a", "ev_b", "ev_c", "ev_d"],
    }
    events = [
        E(uid, name, "2024-01-02", f"{uid}-{name}") for uid, names in plan.items() for name in names
    ]
    result = run([U(uid) for uid in plan], events, milestones)
    expected = {
        "u0": (0.0, 0.0, "inactive", "re-engagement nudges"),
        "u1": (30.0, 30.0, "inactive", "re-engagement nudges"),
        "u2": (31.0, 31.0, "engaged", "monitor and nurture"),
        "u3": (69.0, 69.0, "engaged", "monitor and nurture"),
        "u4": (70.0, 70.0, "pql", "sales handoff"),
        "u5": (100.0, 100.0, "pql", "sales handoff"),
    }
    for uid, (score, pct, status, action) in expected.items():
        row = usr(result, uid)
        assert row["activation_score"] == pytest.approx(score)
        assert row["activation_score_pct"] == pytest.approx(pct)
        assert (row["status"], row["status_action"]) == (status, action)


def test_score_pct_uses_all_weights_and_ignores_late():
    milestones = [M("a", 1, weight=1, trigger="ev_a"), M("b", 2, weight=3, trigger="ev_b")]
    events = [E("u1", "ev_a", "2024-01-02", "1"), E("u1", "ev_b", "2024-01-09", "2")]
    result = run([U("u1")], events, milestones)
    row = usr(result, "u1")
    assert row["activation_score"] == 1.0
    assert row["activation_score_pct"] == 25.0
    assert row["status"] == "inactive"


def test_zero_total_weight_gives_null_pct_and_status():
    milestones = [M("a", 1, weight=0, trigger="ev_a")]
    result = run([U("u1")], [E("u1", "ev_a", "2024-01-02", "1")], milestones)
    row = usr(result, "u1")
    assert row["activation_score"] == 0.0
    assert row["activation_score_pct"] is None
    assert row["status"] is None
    assert row["status_action"] is None


FRACTIONAL_MS = [
    M("m1", 1, weight=0.2, trigger="ev1"),
    M("m2", 2, weight=0.3, trigger="ev2"),
    M("m3", 3, weight=0.25, trigger="ev3"),
    M("m4", 4, weight=0.25, trigger="ev4"),
]
FRACTIONAL_BANDS = [{"status": "not_pql", "min_score": 0}, {"status": "pql", "min_score": 0.5}]


def test_fractional_rubric_on_raw_score():
    plan = {
        "u0": [],
        "u12": ["ev1", "ev2"],
        "u13": ["ev1", "ev3"],
        "u34": ["ev3", "ev4"],
        "u2": ["ev2"],
        "u123": ["ev1", "ev2", "ev3"],
    }
    events = [
        E(uid, name, "2024-01-02", f"{uid}-{name}") for uid, names in plan.items() for name in names
    ]
    result = run(
        [U(uid) for uid in plan], events, FRACTIONAL_MS,
        activation_status_score_basis="score", activation_status_bands=FRACTIONAL_BANDS,
    )
    expected = {
        "u0": (0.0, 0.0, "not_pql"),
        "u12": (0.5, 50.0, "pql"),
        "u13": (0.45, 45.0, "not_pql"),
        "u34": (0.5, 50.0, "pql"),
        "u2": (0.3, 30.0, "not_pql"),
        "u123": (0.75, 75.0, "pql"),
    }
    for uid, (score, pct, status) in expected.items():
        row = usr(result, uid)
        assert row["activation_score"] == pytest.approx(score)
        assert row["activation_score_pct"] == pytest.approx(pct)
        assert row["status"] == status
        assert row["status_action"] is None


def test_bands_with_no_match_give_null_status():
    bands = [{"status": "hot", "min_score": 50, "action": "call"}]
    milestones = [M("a", 1, weight=1, trigger="ev_a"), M("b", 2, weight=1, trigger="ev_b")]
    events = [E("u1", "ev_a", "2024-01-02", "1")]
    result = run([U("u1"), U("u2")], events, milestones, activation_status_bands=bands)
    assert (usr(result, "u1")["status"], usr(result, "u1")["status_action"]) == ("hot", "call")
    assert usr(result, "u2")["status"] is None


# ---------------------------------------------------------- user attributes


def test_cohort_date_grains():
    users = [
        U("wed", "2024-01-03 15:00:00"),
        U("sun", "2024-01-07 23:59:59"),
        U("off", "2024-01-01T01:00:00+02:00"),
        U("mar", "2024-03-31 12:00:00"),
    ]
    week = run(users, [], LOGIN)
    assert usr(week, "wed")["cohort_date"] == dt.date(2024, 1, 1)
    assert usr(week, "sun")["cohort_date"] == dt.date(2024, 1, 1)
    assert usr(week, "off")["cohort_date"] == dt.date(2023, 12, 25)
    assert usr(week, "mar")["cohort_date"] == dt.date(2024, 3, 25)
    day = run(users, [], LOGIN, activation_cohort_grain="day")
    assert usr(day, "wed")["cohort_date"] == dt.date(2024, 1, 3)
    assert usr(day, "off")["cohort_date"] == dt.date(2023, 12, 31)
    month = run(users, [], LOGIN, activation_cohort_grain="month")
    assert usr(month, "sun")["cohort_date"] == dt.date(2024, 1, 1)
    assert usr(month, "off")["cohort_date"] == dt.date(2023, 12, 1)
    assert usr(month, "mar")["cohort_date"] == dt.date(2024, 3, 1)


def test_signup_type_ids_and_passthrough():
    users = [
        U(" u1 ", account_id="  ", inviter_user_id=" u2 ", company_size="11-50"),
        U("u2", account_id=" acc2 ", inviter_user_id="   ", company_size=None),
    ]
    result = run(users, [], LOGIN, activation_user_passthrough_columns=["company_size"])
    u1 = usr(result, "u1")
    assert u1["account_id"] is None
    assert u1["inviter_user_id"] == "u2"
    assert u1["is_invited_signup"] is True
    assert u1["signup_type"] == "invited"
    assert u1["company_size"] == "11-50"
    u2 = usr(result, "u2")
    assert u2["account_id"] == "acc2"
    assert u2["inviter_user_id"] is None
    assert u2["is_invited_signup"] is False
    assert u2["signup_type"] == "direct"
    assert u2["company_size"] is None
    assert set(u1) == USER_COLUMNS | {"company_size"}


def test_output_columns_and_grain():
    milestones = [M("a", 1, trigger="ev_a"), M("b", 2, trigger="ev_b")]
    result = run([U("u2"), U("u1"), U("u3", "bad")], [], milestones)
    assert [(r["user_id"], r["milestone_id"]) for r in result["user_milestones"]] == [
        ("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"),
    ]
    for row in result["user_milestones"]:
        assert set(row) == USER_MILESTONE_COLUMNS
    for row in result["users"]:
        assert set(row) == USER_COLUMNS
    assert um(result, "u1", "b")["milestone_level"] == 2
    assert um(result, "u1", "b")["milestone_weight"] == 1.0


# ---------------------------------------------------------------- config errors


def _config_error(milestones, requirements=(), **vars):
    with pytest.raises(ConfigError) as info:
        run([U("u1")], [], milestones, requirements, **vars)
    return str(info.value)


def test_config_error_duplicate_milestone_id():
    assert "m1" in _config_error([M("m1", 1, trigger="a"), M(" m1 ", 2, trigger="b")])


def test_config_error_null_milestone_id():
    message = _config_error([M(None, 1, trigger="a")])
    assert "milestone_id" in message and "null" in message
    _config_error([M("  ", 1, trigger="a")])


@pytest.mark.parametrize("weight", [None, -1, -0.01])
def test_config_error_weight(weight):
    assert "heavy" in _config_error([M("heavy", 1, weight=weight, trigger="a")])


@pytest.mark.parametrize("min_count", [0, -2, None])
def test_config_error_min_count(min_count):
    assert "needy" in _config_error([M("needy", 1)], [R("needy", "a", min_count=min_count)])


@pytest.mark.parametrize(
    "timeframe, timeframe_days",
    [("weekly", None), ("7", None), ("0d", None), ("7 d", None), ("1w", None), ("-3d", None),
     (None, None), (None, 0), ("", -1)],
)
def test_config_error_timeframe(timeframe, timeframe_days):
    message = _config_error(
        [M("slow", 1, trigger="a", timeframe=timeframe, timeframe_days=timeframe_days)]
    )
    assert "slow" in message


def test_config_error_unknown_gate():
    message = _config_error([M("m1", 1, trigger="a", gate="nowhere")])
    assert "m1" in message and "nowhere" in message


def test_config_error_gate_cycles():
    assert "selfish" in _config_error([M("selfish", 1, trigger="a", gate="selfish")])
    message = _config_error([M("x", 1, trigger="a", gate="y"), M("y", 2, trigger="b", gate="x")])
    assert "x" in message and "cycle" in message


def test_gate_chain_depth_limit():
    def chain(hops):
        rows = [M("g00", 0, trigger="e")]
        rows += [M(f"g{i:02d}", i, trigger="e", gate=f"g{i - 1:02d}") for i in range(1, hops + 1)]
        return rows

    result = run([U("u1")], [E("u1", "e", "2024-01-02", "1")], chain(10))
    assert um(result, "u1", "g10")["reached_at"] == T(2024, 1, 2)
    assert "g11" in _config_error(chain(11))


def test_config_error_requirement_for_unknown_milestone():
    assert "ghost" in _config_error([M("m1", 1, trigger="a")], [R("ghost", "a")])


def test_config_error_no_requirements_and_no_trigger():
    assert "empty" in _config_error([M("empty", 1, trigger=None)])
    assert "blank" in _config_error([M("blank", 1, trigger=" !! ")])


def test_config_error_unknown_first_value_milestone():
    assert "nope" in _config_error(
        [M("m1", 1, trigger="a")], activation_first_value_milestone="nope"
    )


def test_config_error_bad_as_of():
    assert "activation_as_of" in _config_error([M("m1", 1, trigger="a")], activation_as_of="soon")


def test_valid_seed_like_configuration_loads():
    milestones = [
        M("first_login", 1, 1, "48h", "Login"),
        M("onboarding_complete", 2, 2, "7d"),
        M("first_value", 3, 5, "14d", activation=True),
        M("teammate_invited", 4, 10, "14d", "invite_sent", True, "first_value"),
        M("team_collaboration", 5, 20, "30d", "comment_added"),
        M("paid_feature_used", 6, 50, None, "paid_feature_used", timeframe_days=30),
    ]
    reqs = [
        R("onboarding_complete", "onboarding_step", 1, 1, "step", "finish"),
        R("first_value", "Search Performed", 5, 1),
        R("first_value", "list_created", 1, 1),
        R("first_value", "template_imported", 1, 2),
        R("team_collaboration", "comment_added", 10, 1),
    ]
    events = [
        E("u1", "Login", "2024-01-01 01:00:00", "1"),
        E("u1", "Template Imported", "2024-01-02 00:00:00", "2"),
        E("u1", "invite_sent", "2024-01-03 00:00:00", "3"),
    ]
    result = run([U("u1")], events, milestones, reqs)
    u1 = usr(result, "u1")
    assert u1["is_activated"] is True
    assert u1["activated_at"] == T(2024, 1, 3)
    assert u1["activation_score"] == 16.0
    assert u1["activation_score_pct"] == pytest.approx(100 * 16 / 88)
    assert u1["status"] == "inactive"
    assert u1["first_value_milestone_id"] == "first_login"
    assert u1["time_to_first_value_hours"] == 1.0
    assert um(result, "u1", "first_value")["reached_path_id"] == 2
