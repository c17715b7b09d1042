"""The event time forms the README lists (Definitions -> Staging), and nothing else.

Text: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` with a space or `T`, an optional fraction of
1 to 6 digits, an optional offset `Z`, `+HH`, `+HHMM` or `+HH:MM` (or `-`); no offset
means UTC; surrounding whitespace is ignored. Native TIMESTAMP and TIMESTAMPTZ columns
are read through their text form (a TIMESTAMPTZ renders with its offset, so the instant
is kept whatever the session time zone). With the var
`activation_event_timestamp_format` (`epoch_seconds`, `epoch_milliseconds`) the event
time is a number since 1970-01-01 UTC; other values of the var stop the build.
Expected values are written by hand from those rules.
"""

import datetime as dt

import pytest
from harness import RAW_COLUMNS, BuildFailed, Dataset, event, milestone, user

T = dt.datetime
STAGING = "main_activation_staging"
USERS = [user("u1", "2025-01-01 00:00:00")]
MILESTONES = [milestone("m1", 1, triggered_by_event="login")]

ACCEPTED = {
    "2025-01-02": T(2025, 1, 2),
    "2025-01-02 03:04:05": T(2025, 1, 2, 3, 4, 5),
    "2025-01-02T03:04:05": T(2025, 1, 2, 3, 4, 5),
    "2025-01-02 03:04:05.5": T(2025, 1, 2, 3, 4, 5, 500000),
    "2025-01-02T03:04:05.123456": T(2025, 1, 2, 3, 4, 5, 123456),
    "2025-01-02T03:04:05Z": T(2025, 1, 2, 3, 4, 5),
    "2025-01-02 03:04:05+05": T(2025, 1, 1, 22, 4, 5),
    "2025-01-02 03:04:05+0530": T(2025, 1, 1, 21, 34, 5),
    "2025-01-02T03:04:05.25+05:30": T(2025, 1, 1, 21, 34, 5, 250000),
    "2025-01-02 03:04:05-08:00": T(2025, 1, 2, 11, 4, 5),
    "2025-01-02 03:04:05-00:00": T(2025, 1, 2, 3, 4, 5),
    "2025-01-02 03:04:05+23:59": T(2025, 1, 1, 3, 5, 5),
    "2025-01-02 03:04:05-1900": T(2025, 1, 2, 22, 4, 5),
    " \t2025-01-02 03:04:05\n": T(2025, 1, 2, 3, 4, 5),
    "2024-02-29 23:59:59": T(2024, 2, 29, 23, 59, 59),
}
REJECTED = [
    "2025-01-02 03:04",              # no seconds
    "2025-01-02T03:04:05.1234567",   # more than 6 fraction digits
    "2025-01-02 03:04:05.",          # empty fraction
    "2025-01-02t03:04:05",           # lower-case t
    "2025-01-02 03:04:05z",          # lower-case z
    "2025-01-02 03:04:05 UTC",       # zone name
    "2025-01-02 03:04:05 +05:00",    # space before the offset
    "2025-01-02 03:04:05+5",         # one-digit offset
    "2025-01-02 03:04:05+05:30:00",  # offset seconds
    "2025-01-02 03:04:05+24:00",     # offset hour beyond 23
    "2025-01-02T03:04:05+05:60",     # offset minute beyond 59
    "2025-01-02T",                   # date and a bare T
    "20250102",                      # basic (compact) ISO form
    "2025-01-02T030405",             # basic time
    "2025/01/02 03:04:05",
    "02/01/2025",
    "2025-W01-4",                    # ISO week date
    "2025-002",                      # ISO ordinal date
    "2025-02-30",                    # no such day
    "2025-02-29 00:00:00",           # not a leap year
    "2025-01-02 24:00:00",
    "2025-01-02 03:60:00",
    "1735787045",                    # epoch seconds
    "1735787045000",                 # epoch milliseconds
    "0000-01-01",                    # year 0
]


def staged_times(dbt_builder):
    rows = dbt_builder.query(f"select event_id, event_at from {STAGING}.stg_activation__events")
    return {row["event_id"]: row["event_at"] for row in rows}


def test_text_forms(dbt_builder):
    forms = list(ACCEPTED) + REJECTED
    events = [event("u1", "login", text, f"t{i:02d}") for i, text in enumerate(forms)]
    dbt_builder.build(Dataset(USERS, events, MILESTONES, []),
                      vars={"activation_as_of": "2025-02-01 00:00:00"})
    times = staged_times(dbt_builder)
    for i, text in enumerate(forms):
        expected = ACCEPTED.get(text)
        assert times[f"t{i:02d}"] == expected, (text, times[f"t{i:02d}"], expected)


# (value written to the native column, its UTC instant)
NATIVE_TIMESTAMP = [
    ("2025-01-02 03:04:05", T(2025, 1, 2, 3, 4, 5)),
    ("2025-01-02 00:00:00", T(2025, 1, 2)),
    ("2025-01-02 03:04:05.25", T(2025, 1, 2, 3, 4, 5, 250000)),
    ("2025-01-02 03:04:05.123456", T(2025, 1, 2, 3, 4, 5, 123456)),
]
NATIVE_TIMESTAMPTZ = [
    ("2025-01-02 03:04:05+00", T(2025, 1, 2, 3, 4, 5)),
    ("2025-01-02 03:04:05+05:30", T(2025, 1, 1, 21, 34, 5)),
    ("2025-01-02 03:04:05.5-08:00", T(2025, 1, 2, 11, 4, 5, 500000)),
]


@pytest.mark.parametrize("column_type, values", [
    ("timestamp", NATIVE_TIMESTAMP),
    ("timestamptz", NATIVE_TIMESTAMPTZ),
], ids=["timestamp", "timestamptz"])
def test_native_timestamp_columns(dbt_builder, column_type, values):
    if dbt_builder.engine.name == "spark":
        pytest.skip("Spark's TIMESTAMP renders in the session time zone without an offset (README)")
    events = [event("u1", "login", text, f"n{i}") for i, (text, _) in enumerate(values)]
    dbt_builder.load(Dataset(USERS, [], MILESTONES, []))
    columns = dict(RAW_COLUMNS["events"], event_timestamp=column_type)
    dbt_builder.engine.write_raw_tables({"events": (columns, events)})
    dbt_builder.run_models(vars={"activation_as_of": "2025-02-01 00:00:00"}, full_refresh=True)
    times = staged_times(dbt_builder)
    assert times == {f"n{i}": expected for i, (_, expected) in enumerate(values)}
    marts = dbt_builder.read_marts()
    assert marts["quarantined_events"] == []
    reached = [row["reached_at"] for row in marts["user_milestones"] if row["milestone_id"] == "m1"]
    assert reached == [min(expected for _, expected in values)]


# Var activation_event_timestamp_format: numbers since 1970-01-01 00:00:00 UTC.
EPOCH_SECONDS = {
    "1735787045": T(2025, 1, 2, 3, 4, 5),
    " 1735787045.25 ": T(2025, 1, 2, 3, 4, 5, 250000),
    "1735787045.000001": T(2025, 1, 2, 3, 4, 5, 1),
    "0": T(1970, 1, 1),
    "-1.5": T(1969, 12, 31, 23, 59, 58, 500000),
    "253402300799": T(9999, 12, 31, 23, 59, 59),
    "253402300800": None,          # year 10000
    "-62135596801": None,          # before year 1
    "1735787045.1234567": None,    # beyond the microsecond
    "1.735787045e9": None,
    "+1735787045": None,
    "1,735,787,045": None,
    "2025-01-02 03:04:05": None,
    "abc": None,
}
EPOCH_MILLISECONDS = [
    (1735787045123, T(2025, 1, 2, 3, 4, 5, 123000)),
    (1735787045000, T(2025, 1, 2, 3, 4, 5)),
    (-1, T(1969, 12, 31, 23, 59, 59, 999000)),
]


def test_epoch_seconds_text(dbt_builder):
    events = [event("u1", "login", text, f"s{i:02d}") for i, text in enumerate(EPOCH_SECONDS)]
    dbt_builder.build(Dataset(USERS, events, MILESTONES, []),
                      vars={"activation_as_of": "2025-02-01 00:00:00",
                            "activation_event_timestamp_format": "epoch_seconds"})
    times = staged_times(dbt_builder)
    for i, (text, expected) in enumerate(EPOCH_SECONDS.items()):
        assert times[f"s{i:02d}"] == expected, (text, times[f"s{i:02d}"], expected)


def test_epoch_milliseconds_bigint_column(dbt_builder):
    events = [event("u1", "login", value, f"m{i}") for i, (value, _) in enumerate(EPOCH_MILLISECONDS)]
    dbt_builder.load(Dataset(USERS, [], MILESTONES, []))
    columns = dict(RAW_COLUMNS["events"], event_timestamp="bigint")
    dbt_builder.engine.write_raw_tables({"events": (columns, events)})
    dbt_builder.run_models(vars={"activation_as_of": "2025-02-01 00:00:00",
                                 "activation_event_timestamp_format": "epoch_milliseconds"},
                           full_refresh=True)
    assert staged_times(dbt_builder) == {f"m{i}": expected for i, (_, expected) in enumerate(EPOCH_MILLISECONDS)}
    marts = dbt_builder.read_marts()
    reached = [row["reached_at"] for row in marts["user_milestones"] if row["milestone_id"] == "m1"]
    assert reached == [T(2025, 1, 2, 3, 4, 5)]


@pytest.mark.parametrize("value", ["epoch", "EPOCH_SECONDS", 5])
def test_unknown_timestamp_format_fails_naming_the_var(dbt_builder, value):
    events = [event("u1", "login", "2025-01-02 03:04:05", "e1")]
    with pytest.raises(BuildFailed) as failure:
        dbt_builder.build(Dataset(USERS, events, MILESTONES, []),
                          vars={"activation_event_timestamp_format": value})
    message = str(failure.value)
    assert "activation_event_timestamp_format" in message and "epoch_milliseconds" in message, message
