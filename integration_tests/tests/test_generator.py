"""Tests of the demo-data generator scripts/generate_data.py (small sizes, seconds).

The quarantine checks use small independent Python rules written from the contract,
not the generator's own code. CSV reading note: the csv module reads both an empty
field (null) and "" (empty string) as '', so '' is treated as null here; the
generator writes other invalid variants of every reason as well.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_data.py"
SMALL = ["--users", "400", "--events-per-user", "20", "--days", "30", "--start", "2025-03-03",
         "--chunk-users", "150", "--seed", "7", "--quiet"]
SMALL_AS_OF = dt.datetime(2025, 4, 2)
USER_COLUMNS = ["user_id", "account_id", "created_at", "plan_tier", "install_source", "inviter_user_id", "company_size"]
EVENT_COLUMNS = ["event_id", "user_id", "event_name", "event_timestamp", "properties"]


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], check=True, capture_output=True,
                          text=True, cwd=ROOT)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [{k: (v if v != "" else None) for k, v in zip(header, row)} for row in reader]
    return header, rows


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("generator_small")
    run(*SMALL, "--csv-dir", out, "--duckdb", out / "demo.duckdb")
    return out


# ------------------------------------------------------------ independent rules

_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}(?::?\d{2})?)?)?")


def parse_ts(value):
    if value is None:
        return None
    match = _TS.fullmatch(value.strip())
    if not match:
        return None
    y, mo, d, h, mi, s, frac, offset = match.groups()
    try:
        t = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                        int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        t = t - delta if offset[0] == "+" else t + delta
    return t


def clean(value):
    value = value.strip() if value is not None else None
    return value or None


def norm_name(value):
    if value is None:
        return None
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else "_" for c in value.lower())
    return re.sub("_+", "_", kept).strip("_") or None


def json_ok(value):
    if value is None:
        return True
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def stage(users, events, as_of):
    user_reasons = collections.Counter()
    passed = collections.defaultdict(list)
    for row in users:
        uid = clean(row["user_id"])
        if uid is None:
            user_reasons["missing_user_id"] += 1
        elif parse_ts(row["created_at"]) is None:
            user_reasons["invalid_created_at"] += 1
        else:
            passed[uid].append(row)
    user_reasons["duplicate_user_id"] = sum(len(rows) - 1 for rows in passed.values())
    staged = {uid: min(rows, key=lambda r: (parse_ts(r["created_at"]), r["account_id"] or "", r["plan_tier"] or "",
                                            r["install_source"] or "", r["inviter_user_id"] or ""))
              for uid, rows in passed.items()}

    event_reasons = collections.Counter()
    usable = []
    limit = as_of + dt.timedelta(hours=24)
    for row in events:
        at = parse_ts(row["event_timestamp"])
        uid = clean(row["user_id"])
        if uid is None:
            reason = "missing_user_id"
        elif norm_name(row["event_name"]) is None:
            reason = "missing_event_name"
        elif at is None:
            reason = "invalid_timestamp"
        elif at > limit:
            reason = "future_timestamp"
        elif not json_ok(row["properties"]):
            reason = "invalid_properties_json"
        elif uid not in staged:
            reason = "unknown_user"
        else:
            usable.append((clean(row["event_id"]), uid, norm_name(row["event_name"]), at, row["properties"]))
            continue
        event_reasons[reason] += 1
    keys = collections.Counter((("id", e[0]) if e[0] is not None else ("content",) + e[1:]) for e in usable)
    duplicates = collections.Counter()
    for key, count in keys.items():
        duplicates["same_event_id" if key[0] == "id" else "same_content_no_id"] += count - 1
    return staged, usable, user_reasons, event_reasons, duplicates


# ------------------------------------------------------------ tests


def test_csv_is_byte_identical_across_runs(small, tmp_path):
    run(*SMALL, "--csv-dir", tmp_path)
    for name in ("users.csv", "events.csv"):
        assert (tmp_path / name).read_bytes() == (small / name).read_bytes(), name


def test_other_seed_gives_other_bytes(small, tmp_path):
    args = list(SMALL)
    args[args.index("--seed") + 1] = "8"
    run(*args, "--csv-dir", tmp_path)
    for name in ("users.csv", "events.csv"):
        assert (tmp_path / name).read_bytes() != (small / name).read_bytes(), name


def test_csv_layout(small):
    users_header, users = read_csv(small / "users.csv")
    events_header, events = read_csv(small / "events.csv")
    assert users_header == USER_COLUMNS
    assert events_header == EVENT_COLUMNS
    assert len(users) > 400 and len(events) > 400 * 10


def test_duckdb_matches_csv(small):
    duckdb = pytest.importorskip("duckdb")
    _, users = read_csv(small / "users.csv")
    _, events = read_csv(small / "events.csv")
    con = duckdb.connect(str(small / "demo.duckdb"), read_only=True)
    try:
        for table, columns, rows in (("users", USER_COLUMNS, users), ("events", EVENT_COLUMNS, events)):
            described = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = ? order by ordinal_position", [table]).fetchall()
            assert described == [(c, "VARCHAR") for c in columns]
            db_rows = con.execute(f"select * from raw.{table}").fetchall()
            assert len(db_rows) == len(rows)
            as_csv = collections.Counter(tuple(r[c] for c in columns) for r in rows)
            as_db = collections.Counter(tuple(v if v != "" else None for v in r) for r in db_rows)
            assert as_db == as_csv
    finally:
        con.close()


def test_duckdb_tables_are_replaced(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    args = ["--users", "60", "--events-per-user", "10", "--days", "14", "--quiet", "--duckdb", tmp_path / "x.duckdb"]
    run(*args)
    run(*args)
    con = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    try:
        events = con.execute("select count(*) from raw.events").fetchone()[0]
        distinct_ids = con.execute("select count(distinct user_id) from raw.users").fetchone()[0]
        users = con.execute("select count(*) from raw.users").fetchone()[0]
    finally:
        con.close()
    assert users < 2 * distinct_ids  # a second run did not append
    assert events > 0


def test_every_quarantine_reason_is_present(small):
    _, users = read_csv(small / "users.csv")
    _, events = read_csv(small / "events.csv")
    staged, usable, user_reasons, event_reasons, duplicates = stage(users, events, SMALL_AS_OF)
    for reason in ("missing_user_id", "duplicate_user_id", "invalid_created_at"):
        assert 0 < user_reasons[reason] <= 0.02 * len(users), (reason, user_reasons)
    for reason in ("missing_user_id", "missing_event_name", "invalid_timestamp", "future_timestamp",
                   "invalid_properties_json", "unknown_user"):
        assert 0 < event_reasons[reason] <= 0.02 * len(events), (reason, event_reasons)
    assert 0 < duplicates["same_event_id"] <= 0.02 * len(events), duplicates
    assert 0 < duplicates["same_content_no_id"] <= 0.02 * len(events), duplicates
    assert len(staged) == 400
    # regular events never pass as_of; future ones are far beyond it
    assert max(e[3] for e in usable) < SMALL_AS_OF


def test_demo_milestone_events_and_invites(small):
    _, users = read_csv(small / "users.csv")
    _, events = read_csv(small / "events.csv")
    staged, usable, *_ = stage(users, events, SMALL_AS_OF)
    names = collections.Counter(e[2] for e in usable)
    for name in ("login", "onboarding_step", "search_performed", "list_created", "template_imported",
                 "invite_sent", "comment_added", "paid_feature_used", "plan_upgraded", "experiment_exposure",
                 "page_viewed", "document_viewed"):
        assert names[name] > 0, name
    spellings = {e["event_name"] for e in events if norm_name(e["event_name"]) == "search_performed"}
    assert {"Search Performed", "search_performed", "SEARCH-PERFORMED"} <= spellings
    assert any('"step":"finish"' in (e[4] or "") for e in usable if e[2] == "onboarding_step")
    # invited users: an earlier staged user who sent invite_sent before the signup
    first_invite = {}
    for _, uid, name, at, _ in usable:
        if name == "invite_sent":
            first_invite[uid] = min(at, first_invite.get(uid, at))
    invited = [u for u in staged.values() if clean(u["inviter_user_id"])]
    assert 0.08 * len(staged) <= len(invited) <= 0.35 * len(staged)
    for user in invited:
        inviter = clean(user["inviter_user_id"])
        assert inviter in staged
        assert first_invite[inviter] < parse_ts(user["created_at"])


def test_default_size_arithmetic():
    spec = importlib.util.spec_from_file_location("generate_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    defaults = module.build_parser().parse_args([])
    assert defaults.users >= 5000
    assert defaults.days >= 120
    assert defaults.users * defaults.events_per_user >= 250_000


def test_event_volume_follows_events_per_user(small):
    _, events = read_csv(small / "events.csv")
    assert 0.8 * 400 * 20 <= len(events) <= 1.3 * 400 * 20


def test_print_vars(tmp_path):
    result = run("--days", "120", "--start", "2025-06-02", "--print-vars", "--csv-dir", tmp_path)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    parsed = json.loads(lines[0])
    assert parsed["activation_as_of"] == "2025-09-30 00:00:00"
    assert parsed["activation_first_value_milestone"] == "first_value"
    assert not list(tmp_path.iterdir())  # exits without generating
