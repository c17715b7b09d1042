#!/usr/bin/env python3
"""Benchmark of the milestone_activation package on DuckDB at 1M, 10M and 100M events.

    .venv/bin/python bench/run_bench.py            # 1M, 10M and 100M events -> bench/results.md
    .venv/bin/python bench/run_bench.py --quick    # 1M only, and check the marts against the reference
    .venv/bin/python bench/run_bench.py --sizes 1M,10M --memory-limit 4GB --threads 4

What one size N (N events = N/100 users over 90 days) measures, each step in its own
process (peak RSS from os.wait4) while a thread polls the size of DuckDB's temp
directory every 0.2 s (largest spill):

1. generate: scripts/generate_data.py into a fresh DuckDB file (`--users N/100 --days 90
   --events-per-user 98 --seed 42 --chunk-users 20000`);
2. hold back: the last day's raw events move to `raw.events_new_day`, with late events
   (rows hashing to 0 modulo 50 among the 3 days before) and duplicates (1 % of the
   held-back rows, 0.1 % of the day before's loaded rows); users who signed up on the
   last day move to `raw.users_new_day`. Deterministic: same data, same split;
3. floors: what DuckDB needs to read every event once (a group by user and event
   name) and to copy the events table, with the same memory limit and threads;
4. full build: `dbt seed` (not timed, it also parses the project with the run's vars),
   then `dbt run --full-refresh` as of the end of the loaded data; wall time of the dbt process, the model span (first model start
   to last model end, without dbt's start-up) and every model's time from
   run_results.json;
5. naive baseline: the research document's SQL recipes (bench/naive/*.sql) on the same
   data through the duckdb Python API: a typed copy, the cohort completion query once
   per single-event milestone and the per-event PQL sum once per day for 90 days;
6. incremental: the held-back rows appended, `dbt parse` with the new as-of (not timed:
   a change of vars makes dbt re-parse), then `dbt run` as of one day later.

The results file (written after each size, so a crash keeps what was measured) holds
the machine, versions, settings, every figure above and the ratio table with its
targets: full build / floor scan <= 6 and incremental / full build <= 0.10 at 10M and
100M, full build 100M / 10M <= 12, naive / full build >= 10, peak RSS <= 8 GiB at
100M. No figure is asserted: a missed target is reported with the model taking the
largest share of the step.

--quick (1M events, a few minutes on 2 cores) also checks the output at scale: the
per-user marts (`activation_user_milestones`, `activation_users`) of a sample of users
(every k-th staged user id, `--sample-users`) equal the Python reference
(integration_tests/reference) run on all their raw rows, and after the incremental run
both marts equal a `--full-refresh` rebuild of the same file (row counts and a hash sum
of every row). It exits non-zero with the differences on a mismatch.

Each size's database lives in `--workdir` and is deleted when the size is done unless
`--keep` is given (100M events take tens of GB).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
NAIVE = BENCH / "naive"
GENERATOR = ROOT / "scripts" / "generate_data.py"
SEEDS = ROOT / "seeds"
MARTS = "main_activation"
DAYS = 90
EVENTS_PER_USER = 98
RAW_EVENT_COLUMNS = "event_id, user_id, event_name, event_timestamp, properties"
GIB = 1024 ** 3


# --------------------------------------------------------------------------- sizes


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1M, 10M, 500k)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * factor)


def size_label(events: int) -> str:
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


# --------------------------------------------------------------------------- processes


class SpillPoller:
    """Largest total size of the files under a directory, polled every 0.2 s."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.max_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _size(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.directory):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except OSError:
                    pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.max_bytes = max(self.max_bytes, self._size())
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.max_bytes = max(self.max_bytes, self._size())


@dataclass
class Step:
    """One measured process."""

    name: str
    wall: float = 0.0          # seconds of the whole process
    seconds: float | None = None  # the timed part when it is not the whole process
    rss_kib: int = 0
    spill_bytes: int = 0
    span: float | None = None
    models: list = field(default_factory=list)  # (model, execution_time) sorted by time, largest first

    @property
    def time(self) -> float:
        return self.seconds if self.seconds is not None else self.wall


def run_process(command, spill_dir: Path, env=None, log_path: Path | None = None, stdout=None):
    """Run `command`; return (exit code, wall seconds, peak RSS KiB, max spill bytes)."""
    log = open(log_path, "w") if log_path else None
    try:
        with SpillPoller(spill_dir) as poller:
            start = time.perf_counter()
            proc = subprocess.Popen(command, cwd=ROOT, env=env,
                                    stdout=log if log else stdout, stderr=subprocess.STDOUT if log else None)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            log.close()
    return proc.returncode, wall, usage.ru_maxrss, poller.max_bytes


def fail(message: str, log_path: Path | None = None):
    if log_path and log_path.exists():
        print("".join(log_path.read_text().splitlines(keepends=True)[-40:]), file=sys.stderr)
    raise SystemExit(f"run_bench: {message}")


def say(text: str):
    print(text, flush=True)


# --------------------------------------------------------------------------- SQL worker
#
# Floors, the hold-back and the naive baseline run in a small Python subprocess
# (`run_bench.py --sql-worker SPEC.json`) so that each has its own peak RSS. The worker
# opens the database with the benchmark's settings, runs the statements in order and
# prints {label: seconds} of the labelled ones as JSON.


def sql_worker(spec_path: str) -> int:
    import duckdb

    spec = json.loads(Path(spec_path).read_text())
    con = duckdb.connect(spec["database"])
    con.execute(f"set memory_limit = '{spec['memory_limit']}'")
    con.execute(f"set threads = {int(spec['threads'])}")
    con.execute(f"set temp_directory = '{spec['temp_directory']}'")
    results = {label: con.execute(sql).fetchall() for label, sql in spec.get("before", [])}
    timings = {}
    for label, sql in spec["statements"]:
        start = time.perf_counter()
        con.execute(sql)
        if label:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - start
    for label, sql in spec.get("queries", []):
        results[label] = con.execute(sql).fetchall()
    con.close()
    print(json.dumps({"timings": timings, "results": results}, default=str))
    return 0


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(args.workdir).resolve()
        self.python = sys.executable
        self.dbt = str(Path(self.python).with_name("dbt"))
        self.in_progress = None
        self.profiles = self.workdir / "profiles"
        self.profiles.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "profiles.example.yml", self.profiles / "profiles.yml")

    # ------------------------------------------------------------------ helpers

    def sql_step(self, name, db: Path, statements, queries=(), before=()):
        spec_path = db.with_suffix(f".{name}.json")
        spec = {"database": str(db), "memory_limit": self.args.memory_limit, "threads": self.args.threads,
                "temp_directory": str(temp_dir(db)), "statements": list(statements), "queries": list(queries),
                "before": list(before)}
        spec_path.write_text(json.dumps(spec))
        out_path = db.with_suffix(f".{name}.out")
        with open(out_path, "w") as out:
            code, wall, rss, spill = run_process([self.python, __file__, "--sql-worker", str(spec_path)],
                                                 temp_dir(db), stdout=out)
        if code != 0:
            fail(f"step {name} failed (exit {code})")
        payload = json.loads(out_path.read_text())
        spec_path.unlink()
        out_path.unlink()
        step = Step(name, wall=wall, seconds=sum(payload["timings"].values()), rss_kib=rss, spill_bytes=spill)
        return step, payload

    def dbt_env(self, db: Path):
        return dict(os.environ, ACTIVATION_DUCKDB_PATH=str(db), ACTIVATION_THREADS=str(self.args.threads),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false")

    def dbt_step(self, name, db: Path, command, vars, timed=True):
        target = db.parent / "target"
        log_path = db.parent / f"dbt-{name}.log"
        full = [self.dbt, *command, "--project-dir", str(ROOT), "--profiles-dir", str(self.profiles),
                "--target-path", str(target), "--log-path", str(db.parent / "logs"), "--vars", json.dumps(vars)]
        code, wall, rss, spill = run_process(full, temp_dir(db), env=self.dbt_env(db), log_path=log_path)
        if code != 0:
            fail(f"dbt {' '.join(command)} ({name}) failed (exit {code}); log: {log_path}", log_path)
        step = Step(name, wall=wall, rss_kib=rss, spill_bytes=spill)
        if timed:
            step.models, step.span = read_run_results(target / "run_results.json")
        return step

    # ------------------------------------------------------------------ one size

    def run_size(self, events: int, report) -> dict:
        args = self.args
        label = size_label(events)
        users = max(1, events // 100)
        size_dir = self.workdir / label
        if size_dir.exists():
            shutil.rmtree(size_dir)
        size_dir.mkdir(parents=True)
        db = size_dir / "bench.duckdb"
        result = {"size": label, "events_target": events, "users": users, "steps": {}}
        self.in_progress = result
        steps = result["steps"]

        def record(step: Step, extra=""):
            steps[step.name] = step
            say(f"[{label}] {step.name:<18} {step.time:9.1f} s  peak RSS {step.rss_kib / 1024:8.0f} MiB"
                f"  spill {step.spill_bytes / 2**20:7.0f} MiB{extra}")
            report()

        # 1. generate
        generator = [self.python, str(GENERATOR), "--users", str(users), "--days", str(DAYS),
                     "--events-per-user", str(EVENTS_PER_USER), "--seed", "42", "--chunk-users", "20000"]
        vars_base = json.loads(subprocess.run(generator + ["--print-vars"], check=True, capture_output=True,
                                              text=True).stdout)
        as_of_end = dt.datetime.fromisoformat(vars_base["activation_as_of"])  # start + 90 days
        start = as_of_end - dt.timedelta(days=DAYS)
        last_day = (start + dt.timedelta(days=DAYS - 1)).date()
        code, wall, rss, spill = run_process(generator + ["--duckdb", str(db)], temp_dir(db))
        if code != 0:
            fail(f"generator failed (exit {code})")
        record(Step("generate", wall=wall, rss_kib=rss, spill_bytes=spill))

        # 2. hold back the last day
        step, payload = self.sql_step("hold back", db, hold_back_statements(last_day), before=[
            ("generated_events", "select count(*) from raw.events"),
            ("generated_users", "select count(*) from raw.users"),
        ], queries=[
            ("events", "select count(*) from raw.events"),
            ("events_new_day", "select count(*) from raw.events_new_day"),
            ("users", "select count(*) from raw.users"),
            ("users_new_day", "select count(*) from raw.users_new_day"),
        ])
        counts = {k: v[0][0] for k, v in payload["results"].items()}
        result.update(events_generated=counts["generated_events"], users_generated=counts["generated_users"],
                      held_back_events=counts["events_new_day"], held_back_users=counts["users_new_day"],
                      loaded_events=counts["events"], loaded_users=counts["users"])
        record(step, f"  held back {counts['events_new_day']:,} events, {counts['users_new_day']:,} users")

        # 3. floors
        floor_scan = ("create table bench_floor_scan as select user_id, event_name, count(*) as n, "
                      "min(event_timestamp) as first_at from raw.events group by user_id, event_name")
        floor_copy = "create table bench_floor_copy as select * from raw.events"
        step, _ = self.sql_step("floor scan", db, [("scan", floor_scan), (None, "drop table bench_floor_scan")])
        record(step)
        step, _ = self.sql_step("floor copy", db, [("copy", floor_copy), (None, "drop table bench_floor_copy")])
        record(step)

        # 4. full build, as of the end of the loaded data
        settings_vars = {"activation_duckdb_memory_limit": args.memory_limit,
                         "activation_duckdb_threads": args.threads}
        vars_full = dict(vars_base, activation_as_of=f"{last_day} 00:00:00", **settings_vars)
        self.dbt_step("seed", db, ["seed", "--full-refresh"], vars_full, timed=False)
        step = self.dbt_step("full build", db, ["run", "--full-refresh"], vars_full)
        record(step, f"  (model span {step.span:.1f} s)")

        # 5. naive baseline, on the same data as the full build
        step, _ = self.sql_step("naive", db, naive_statements(last_day))
        record(step)

        # 6. incremental: append the held-back rows, run one day later
        step, _ = self.sql_step("append", db, [
            ("append", f"insert into raw.events select {RAW_EVENT_COLUMNS} from raw.events_new_day"),
            ("append", "insert into raw.users select * from raw.users_new_day"),
        ])
        say(f"[{label}] append             {step.time:9.1f} s")
        vars_incr = dict(vars_base, activation_as_of=f"{as_of_end.date()} 00:00:00", **settings_vars)
        # parse with the new vars first (not timed): a vars change makes dbt re-parse the project
        self.dbt_step("parse", db, ["parse"], vars_incr, timed=False)
        step = self.dbt_step("incremental", db, ["run"], vars_incr)
        record(step, f"  (model span {step.span:.1f} s)")

        if args.quick:
            self.check_outputs(db, vars_incr, result, record)
        if not args.keep:
            shutil.rmtree(size_dir, ignore_errors=True)
        self.in_progress = None
        return result

    # ------------------------------------------------------------------ --quick checks

    def check_outputs(self, db: Path, vars, result, record):
        import duckdb

        problems = check_against_reference(db, vars, self.args.sample_users)
        say(f"[{result['size']}] reference check    {self.args.sample_users} sampled users: "
            + ("equal" if not problems else "DIFFERENT"))
        con = duckdb.connect(str(db))
        incremental = mart_fingerprints(con)
        for table in FINGERPRINT_TABLES:
            con.execute(f"create or replace table main.bench_incremental_{table} as select * from {MARTS}.{table}")
        con.close()
        step = self.dbt_step("full refresh", db, ["run", "--full-refresh"], vars)
        record(step, "  (--quick: to compare with the incremental run)")
        con = duckdb.connect(str(db))
        refreshed = mart_fingerprints(con)
        if refreshed != incremental:
            problems.append("incremental run differs from --full-refresh:")
            for table in FINGERPRINT_TABLES:
                if incremental[table] != refreshed[table]:
                    problems.append(f"  {table}: incremental (rows, hash) {incremental[table]}, "
                                    f"full refresh {refreshed[table]}")
                    problems.extend(table_diff(con, f"main.bench_incremental_{table}", f"{MARTS}.{table}"))
        else:
            say(f"[{result['size']}] incremental check  equal to --full-refresh "
                f"({', '.join(f'{t}: {incremental[t][0]:,} rows' for t in FINGERPRINT_TABLES)})")
        for table in FINGERPRINT_TABLES:
            con.execute(f"drop table if exists main.bench_incremental_{table}")
        con.close()
        result["checks"] = "passed" if not problems else "failed"
        if problems:
            print("\n".join(problems), file=sys.stderr)
            raise SystemExit("run_bench: --quick output check failed")


# --------------------------------------------------------------------------- SQL builders


def temp_dir(db: Path) -> Path:
    return Path(str(db) + ".tmp")


def _row_hash(salt: str = "") -> str:
    columns = ", ".join(f"coalesce({c}, '')" for c in RAW_EVENT_COLUMNS.split(", "))
    return f"hash({columns}{', ' + repr(salt) if salt else ''})"


def hold_back_statements(last_day: dt.date):
    """Move the last day, late events of the 3 days before and some duplicates to
    raw.events_new_day, and the last day's signups to raw.users_new_day."""
    event_date = "try_cast(substr(trim(event_timestamp), 1, 10) as date)"
    last = f"date '{last_day}'"
    held = (f"({event_date} = {last} or ({event_date} between {last} - 3 and {last} - 1 "
            f"and {_row_hash()} % 50 = 0))")
    user_date = "try_cast(substr(trim(created_at), 1, 10) as date)"
    return [
        ("hold back", f"create or replace table raw.events_new_day as select {RAW_EVENT_COLUMNS} "
                      f"from raw.events where {held}"),
        ("hold back", f"delete from raw.events where {held}"),
        # duplicates: 1 % of the held-back rows and 0.1 % of the day before's loaded rows
        ("hold back", f"insert into raw.events_new_day select {RAW_EVENT_COLUMNS} from raw.events_new_day "
                      f"where {_row_hash('dup')} % 100 = 0 "
                      f"union all select {RAW_EVENT_COLUMNS} from raw.events "
                      f"where {event_date} = {last} - 1 and {_row_hash('dup')} % 1000 = 0"),
        ("hold back", f"create or replace table raw.users_new_day as select * from raw.users "
                      f"where {user_date} = {last}"),
        ("hold back", f"delete from raw.users where {user_date} = {last}"),
        (None, "checkpoint"),
    ]


def read_seed(name):
    with open(SEEDS / f"{name}.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def normalise_name(text: str) -> str:
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else "_" for c in text.lower())
    return re.sub("_+", "_", kept).strip("_")


def timeframe_interval(row) -> str | None:
    if row.get("timeframe_days"):
        return f"{int(row['timeframe_days'])} days"
    match = re.fullmatch(r"\s*(\d+)\s*([hdw])\s*", row.get("timeframe") or "")
    if not match:
        return None
    unit = {"h": "hours", "d": "days", "w": "weeks"}[match.group(2)]
    return f"{match.group(1)} {unit}"


def single_event_milestones():
    """(milestone_id, normalised event name, interval) of each milestone whose
    requirement is one event: one requirement row, or none and a triggering event."""
    requirements = {}
    for row in read_seed("activation_milestone_requirements"):
        requirements.setdefault(row["milestone_id"], []).append(row["event_name"])
    out = []
    for row in read_seed("activation_milestones"):
        events = requirements.get(row["milestone_id"]) or ([row["triggered_by_event"]] if row["triggered_by_event"]
                                                          else [])
        interval = timeframe_interval(row)
        if len(events) == 1 and interval:
            out.append((row["milestone_id"], normalise_name(events[0]), interval))
    return out


def split_sql(text: str):
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in body.split(";") if part.strip()]


def naive_statements(last_day: dt.date):
    """The naive baseline's statements, each labelled for the timing."""
    statements = []
    typed = (NAIVE / "typed_copy.sql").read_text().replace("{milestones_csv}", str(SEEDS / "activation_milestones.csv"))
    statements += [("typed copy", sql) for sql in split_sql(typed)]
    cohort = (NAIVE / "cohort_completion.sql").read_text()
    for milestone_id, event_name, interval in single_event_milestones():
        sql = cohort.format(milestone_id=milestone_id, event_name=event_name, timeframe=interval)
        statements += [("cohort completion", s) for s in split_sql(sql)]
    pql = (NAIVE / "pql_daily.sql").read_text()
    for offset in range(DAYS - 1, -1, -1):
        day = last_day - dt.timedelta(days=offset)
        statements += [("pql daily", s) for s in split_sql(pql.format(day=day))]
    for table in ("naive_events", "naive_users", "naive_milestones", "naive_cohort_completion", "naive_pql_daily"):
        statements.append((None, f"drop table if exists {table}"))
    return statements


# --------------------------------------------------------------------------- dbt results


def read_run_results(path: Path):
    data = json.loads(path.read_text())
    models, starts, ends = [], [], []
    for result in data["results"]:
        name = result["unique_id"].split(".")[-1]
        models.append((name, float(result.get("execution_time") or 0.0)))
        for timing in result.get("timing", []):
            if timing.get("started_at"):
                starts.append(dt.datetime.fromisoformat(timing["started_at"].replace("Z", "+00:00")))
            if timing.get("completed_at"):
                ends.append(dt.datetime.fromisoformat(timing["completed_at"].replace("Z", "+00:00")))
    span = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    return sorted(models, key=lambda m: -m[1]), span


# --------------------------------------------------------------------------- output checks

FINGERPRINT_TABLES = ("activation_users", "activation_user_milestones")


def mart_fingerprints(con):
    """(row count, sum of row hashes) per mart; doubles rounded to 9 digits so that the
    same sums added in another order compare equal."""
    out = {}
    for table in FINGERPRINT_TABLES:
        out[table] = tuple(con.execute(
            f"select count(*), coalesce(sum(hash({row_expression(con, MARTS, table)}))::hugeint, 0) "
            f"from {MARTS}.{table}").fetchone())
    return out


def row_expression(con, schema, table):
    columns = con.execute("select column_name, data_type from information_schema.columns "
                          "where table_schema = ? and table_name = ? order by ordinal_position",
                          [schema, table]).fetchall()
    parts = []
    for name, data_type in columns:
        quoted = f'"{name}"'
        parts.append(f"round({quoted}, 9)" if data_type in ("DOUBLE", "FLOAT", "REAL") else quoted)
    return ", ".join(parts)


def table_diff(con, left, right, limit=5):
    lines = []
    for a, b, label in ((left, right, "only in the incremental build"), (right, left, "only in the full refresh")):
        rows = con.execute(f"select * from (select * from {a} except all select * from {b}) limit {limit}").fetchall()
        lines += [f"    {label}: {row}" for row in rows]
    return lines


def check_against_reference(db: Path, vars, sample_size: int):
    """Compare the per-user marts of a sample of users with the Python reference run
    on all their raw rows; return the differences as lines (empty when equal)."""
    import duckdb

    sys.path[:0] = [str(ROOT / "integration_tests"), str(ROOT / "integration_tests" / "tests")]
    from engines import normalise_row
    from harness import assert_rows_match
    from reference.activation_reference import compute
    from test_generated_data import read_seed as read_typed_seed

    con = duckdb.connect(str(db), read_only=True)
    con.execute("set TimeZone = 'UTC'")

    def rows(sql, params=None):
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [normalise_row(names, row) for row in cursor.fetchall()]

    try:
        staged = [r[0] for r in con.execute(f"select user_id from {MARTS}.activation_users order by user_id").fetchall()]
        step = max(1, len(staged) // max(1, sample_size))
        sample = staged[::step][:sample_size]
        con.execute("create temp table bench_sample as select unnest(?::varchar[]) as user_id", [sample])
        whitespace = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"
        in_sample = f"trim(user_id, {whitespace}) in (select user_id from bench_sample)"
        raw_users = rows(f"select * from raw.users where {in_sample}")
        raw_events = rows(f"select * from raw.events where {in_sample}")
        marts = {
            "user_milestones": rows(f"select * from {MARTS}.activation_user_milestones "
                                    "where user_id in (select user_id from bench_sample)"),
            "users": rows(f"select * from {MARTS}.activation_users where user_id in (select user_id from bench_sample)"),
        }
    finally:
        con.close()
    ref = compute(raw_users, raw_events, read_typed_seed("activation_milestones"),
                  read_typed_seed("activation_milestone_requirements"), vars)
    problems = []
    for key, columns, label in ((("user_id", "milestone_id"), "user_milestones", "activation_user_milestones"),
                                (("user_id",), "users", "activation_users")):
        try:
            assert_rows_match(marts[columns], ref[columns], key=key, label=label)
        except AssertionError as error:
            problems.append(f"{label} differs from the reference on the sampled users:\n{error}")
    return problems


# --------------------------------------------------------------------------- report


def machine_info(workdir: Path):
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    free = shutil.disk_usage(workdir).free / GIB
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": ram, "disk_free": f"{free:.0f} GiB (at start, {workdir})"}


def versions():
    def dist(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    package = re.search(r'^version:\s*"?([^"\n]+)"?', (ROOT / "dbt_project.yml").read_text(), re.M)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        commit += " (uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"python": platform.python_version(), "duckdb": dist("duckdb"), "dbt-core": dist("dbt-core"),
            "dbt-duckdb": dist("dbt-duckdb"), "milestone_activation": package.group(1) if package else "unknown",
            "git commit": commit}


def fmt_s(value):
    return "—" if value is None else f"{value:.1f} s"


def fmt_mib(kib):
    return f"{kib / 1024:,.0f} MiB"


def fmt_bytes(value):
    return f"{value / 2**20:,.0f} MiB"


STEP_ORDER = ("generate", "hold back", "floor scan", "floor copy", "seed", "full build", "naive", "incremental",
              "full refresh")


def top_model(step: Step | None):
    if step is None or not step.models:
        return None
    total = sum(t for _, t in step.models) or 1.0
    name, seconds = step.models[0]
    return f"{name} ({seconds / total:.0%} of {step.name})"


def ratio_rows(results):
    by_size = {r["size"]: r["steps"] for r in results}

    def wall(size, step):
        s = by_size.get(size, {}).get(step)
        return s.time if s else None

    rows = []

    def add(target, size, value, limit, at_most, culprit_step):
        if value is None:
            rows.append((target, size, "not measured", ""))
            return
        met = value <= limit if at_most else value >= limit
        if met:
            status = "met"
        else:
            gap = value - limit if at_most else limit - value
            status = f"missed by {gap:.2f}"
            culprit = top_model(culprit_step)
            if culprit:
                status += f"; largest model: {culprit}"
        rows.append((target, size, f"{value:.2f}", status))

    def ratio(a, b):
        return a / b if a is not None and b else None

    measured = [r["size"] for r in results]
    for target, limit, at_most, num, den, culprit, sizes in (
        ("full build / floor scan <= 6", 6, True, "full build", "floor scan", "full build", ("10M", "100M")),
        ("incremental / full build <= 0.10", 0.10, True, "incremental", "full build", "incremental", ("10M", "100M")),
        ("naive / full build >= 10", 10, False, "naive", "full build", "full build", None),
    ):
        shown = sorted(set(measured) | set(sizes or ()), key=parse_size)
        for size in shown:
            value = ratio(wall(size, num), wall(size, den))
            if sizes and size not in sizes:
                rows.append((target, size, "—" if value is None else f"{value:.2f}", "no target at this size"))
            else:
                add(target, size, value, limit, at_most, by_size.get(size, {}).get(culprit))
    add("full build 100M / 10M <= 12", "100M / 10M", ratio(wall("100M", "full build"), wall("10M", "full build")),
        12, True, by_size.get("100M", {}).get("full build"))
    steps_100m = by_size.get("100M")
    if steps_100m:
        worst = max(steps_100m.values(), key=lambda s: s.rss_kib)
        value = worst.rss_kib / 2**20
        status = "met" if value <= 8 else f"missed by {value - 8:.2f} GiB; step {worst.name}"
        if value > 8 and top_model(worst):
            status += f", largest model: {top_model(worst)}"
        rows.append(("peak RSS <= 8 GiB", "100M", f"{value:.2f} GiB ({worst.name})", status))
    else:
        rows.append(("peak RSS <= 8 GiB", "100M", "not measured", ""))
    return rows


def render(meta, results, complete):
    lines = ["# milestone_activation benchmark results", "",
             "Written by `bench/run_bench.py`" + ("" if complete else " (run in progress or stopped: partial)") + ".",
             f"Reproduce with `{meta['command']}` (see the docstring of bench/run_bench.py for what each step does).",
             "", f"- date: {meta['date']}"]
    lines += [f"- machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, RAM {meta['machine']['ram']}, "
              f"disk free {meta['machine']['disk_free']}"]
    lines += ["- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    lines += [f"- settings: memory_limit {meta['memory_limit']}, threads {meta['threads']} (DuckDB, dbt threads and "
              "the floors and naive steps alike); floors and naive run once each", ""]

    lines += ["## Per size", ""]
    sizes = [r["size"] for r in results]
    lines += ["| | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]

    def row(label, fn):
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, AttributeError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def step(r, name):
        return r["steps"][name]

    row("user rows generated", lambda r: f"{r['users_generated']:,} ({r['users']:,} valid)")
    row("event rows generated", lambda r: f"{r['events_generated']:,}")
    row("held-back event rows (last day, late, duplicates)",
        lambda r: f"{r['held_back_events']:,} ({r['held_back_events'] / r['events_generated']:.1%})")
    row("held-back users", lambda r: f"{r['held_back_users']:,}")
    row("generation", lambda r: fmt_s(step(r, "generate").time))
    row("floor scan", lambda r: fmt_s(step(r, "floor scan").time))
    row("floor copy", lambda r: fmt_s(step(r, "floor copy").time))
    row("full build (wall)", lambda r: fmt_s(step(r, "full build").wall))
    row("full build (model span)", lambda r: fmt_s(step(r, "full build").span))
    row("incremental (wall)", lambda r: fmt_s(step(r, "incremental").wall))
    row("incremental (model span)", lambda r: fmt_s(step(r, "incremental").span))
    row("naive baseline", lambda r: fmt_s(step(r, "naive").time))
    if any("full refresh" in r["steps"] for r in results):
        row("full refresh after the incremental run (--quick)", lambda r: fmt_s(step(r, "full refresh").wall))
    for name in STEP_ORDER:
        if any(name in r["steps"] for r in results):
            row(f"peak RSS: {name}", lambda r, n=name: fmt_mib(step(r, n).rss_kib))
    for name in STEP_ORDER:
        if any(name in r["steps"] for r in results):
            row(f"max spill: {name}", lambda r, n=name: fmt_bytes(step(r, n).spill_bytes))
    if any("checks" in r for r in results):
        row("output checks (--quick)", lambda r: r["checks"])
    lines += ["", "Times of floors, naive and generation are the timed statements / the generator process; dbt "
              "times are the wall time of the `dbt run` process (start-up included) and the model span from "
              "run_results.json.", ""]

    lines += ["## Ratios and targets", "", "| target | size | value | status |", "|---|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in ratio_rows(results)]
    lines.append("")

    lines += ["## Models", ""]
    for r in results:
        for name in ("full build", "incremental", "full refresh"):
            s = r["steps"].get(name)
            if not s or not s.models:
                continue
            total = sum(t for _, t in s.models) or 1.0
            lines += [f"### {r['size']}: {name}", "",
                      f"Sum of model times {total:.1f} s, wall {s.wall:.1f} s, model span {fmt_s(s.span)}.", "",
                      "| model | seconds | share |", "|---|---:|---:|"]
            lines += [f"| {m} | {t:.2f} | {t / total:.1%} |" for m, t in s.models[:10]]
            if len(s.models) > 10:
                lines += ["", f"<details><summary>the other {len(s.models) - 10} models</summary>", "",
                          "| model | seconds | share |", "|---|---:|---:|"]
                lines += [f"| {m} | {t:.2f} | {t / total:.1%} |" for m, t in s.models[10:]]
                lines += ["", "</details>"]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- CLI


def build_parser():
    parser = argparse.ArgumentParser(
        prog="run_bench.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M,100M", help="comma-separated event counts (1M = 10k users)")
    parser.add_argument("--quick", action="store_true",
                        help="1M events only, and check the marts against the reference and a full refresh")
    parser.add_argument("--workdir", default=str(BENCH / ".work"), help="where the databases and dbt logs go")
    parser.add_argument("--memory-limit", default="6GB",
                        help="DuckDB memory_limit for every step (below the 8 GiB RSS target: DuckDB "
                             "allocates some memory outside its buffer pool)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads and dbt threads")
    parser.add_argument("--results", default=None,
                        help="results file (default bench/results.md; with --quick bench/.work/quick-results.md)")
    parser.add_argument("--sample-users", type=int, default=300, help="users compared with the reference (--quick)")
    parser.add_argument("--keep", action="store_true", help="keep each size's database (default: delete it)")
    parser.add_argument("--sql-worker", metavar="SPEC", help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.sql_worker:
        return sql_worker(args.sql_worker)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        sizes = [1_000_000]
    results_path = Path(args.results or (Path(args.workdir) / "quick-results.md" if args.quick
                                         else BENCH / "results.md")).resolve()
    bench = Bench(args)
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine_info(bench.workdir),
        "versions": versions(),
        "memory_limit": args.memory_limit,
        "threads": args.threads,
        "command": ".venv/bin/python bench/run_bench.py " + " ".join(a for a in (argv if argv is not None
                                                                                 else sys.argv[1:])),
    }
    meta["command"] = meta["command"].rstrip()
    results = []

    def report(complete=False):
        shown = results + ([bench.in_progress] if bench.in_progress else [])
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(render(meta, shown, complete))

    say(f"benchmark: sizes {', '.join(size_label(s) for s in sizes)}; memory_limit {args.memory_limit}, "
        f"threads {args.threads}; results -> {results_path}")
    for events in sizes:
        results.append(bench.run_size(events, report))
        report()
    report(complete=True)
    say(f"results written to {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
