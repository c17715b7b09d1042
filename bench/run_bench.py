#!/usr/bin/env python3
"""Benchmark of the milestone_activation package on DuckDB at 1M, 10M and 100M events.

    .venv/bin/python bench/run_bench.py            # 1M, 10M and 100M events -> bench/results.md
    .venv/bin/python bench/run_bench.py --quick    # 1M only, and check the marts against the reference
    .venv/bin/python bench/run_bench.py --sizes 1M,10M --memory-limit 4GB --threads 4
    .venv/bin/python bench/run_bench.py --vars-json '{"activation_pql_enabled": false}'

What one size N (N events = N/100 users over 90 days) measures, each step in its own
process (peak RSS from os.wait4) while a thread polls, every 0.2 s, the size of DuckDB's
temp directory (largest spill) and the process's RSS (when the peaks happened):

1. generate: scripts/generate_data.py into a fresh DuckDB file (`--users N/100 --days 90
   --events-per-user 98 --seed 42 --chunk-users 20000`);
2. hold back: the last day's raw events move to `raw.events_new_day`, with late events
   (rows hashing to 0 modulo 50 among the 2 days before) and duplicates (1 % of the
   held-back rows, 0.1 % of the day before's loaded rows); users who signed up on the
   last day move to `raw.users_new_day`. Days are read from the time text as written;
   with its UTC offset a row can fall a day earlier, so late rows come from 2 days back,
   which keeps them inside the package's 3-day lookback window (a row older than the
   window stops the incremental run, as it should). Deterministic: same data, same split;
3. floors: what DuckDB needs to read every event once (a group by user and event
   name) and to copy the events table, with the same memory limit and threads;
4. full build: `dbt seed` (not timed, it also parses the project with the run's vars),
   then `dbt run --full-refresh` as of the end of the loaded data; wall time of the dbt
   process, the model span (first model start to last model end, from run_results.json),
   dbt's start-up (wall - span), the models run, every model's time and, from dbt's JSON
   debug log, the time of every SQL statement per model (per-model overhead = model time
   outside its SQL statements);
5. naive recipes: the research document's SQL recipes (bench/naive/*.sql) on the same
   data through the duckdb Python API: a typed copy, the cohort completion query once
   per single-event milestone and the per-event PQL sum once per day for 90 days.
   Reported for information only (no target: not like for like);
6. incremental: the held-back rows appended, `dbt parse` with the new as-of (not timed:
   a change of vars makes dbt re-parse), then `dbt run` as of one day later, measured as
   the full build.

`--vars-json` adds dbt vars to every dbt step (e.g. to switch modules off); they are
recorded in the results file.

The results file (written after each size, so a crash keeps what was measured) holds
the machine, versions, settings, vars, every figure above, the machine's load average at the
start and end of the floor copy, full build and incremental run (other work beside the
benchmark shows there), and the ratio table with its
targets: full build <= 3x the floor copy and <= 20x the floor scan at 10M and 100M;
incremental <= 0.15 of the full build at 10M and <= 0.10 at 100M; full build 100M / 10M
<= 11; peak RSS <= 8 GiB at 100M; no spill of the full build or the incremental run at
10M. No figure is asserted: a missed target is reported with the model responsible
(the largest model of the step; the model growing most from 10M to 100M; the models
running at the RSS or spill peak).

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
import shlex
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


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class ResourcePoller:
    """Every 0.2 s: the total size of the files under a directory (DuckDB's spill) and,
    once `pid` is set, the resident set of that process; the largest of each and when
    it was seen (UTC), so that a peak can be matched with the models running then."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.pid = None
        self.max_bytes = 0
        self.max_bytes_at = None
        self.max_rss_kib = 0
        self.max_rss_at = None
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

    def _rss_kib(self) -> int:
        if self.pid is None:
            return 0
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            pass
        return 0

    def _poll(self):
        now = utc_now()
        size = self._size()
        if size > self.max_bytes:
            self.max_bytes, self.max_bytes_at = size, now
        rss = self._rss_kib()
        if rss > self.max_rss_kib:
            self.max_rss_kib, self.max_rss_at = rss, now

    def _run(self):
        while not self._stop.is_set():
            self._poll()
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.pid = None
        self._poll()


@dataclass
class Step:
    """One measured process."""

    name: str
    wall: float = 0.0          # seconds of the whole process
    seconds: float | None = None  # the timed part when it is not the whole process
    rss_kib: int = 0
    spill_bytes: int = 0
    rss_at: dt.datetime | None = None    # when the polled RSS was largest
    spill_at: dt.datetime | None = None  # when the spill was largest
    span: float | None = None  # first model start to last model end (dbt steps)
    models: list = field(default_factory=list)  # (model, execution_time) sorted by time, largest first
    windows: dict = field(default_factory=dict)  # model -> (start, end) from run_results.json
    sql: dict | None = None  # model -> (seconds of its SQL statements, of the longest one, statements)
    sql_outside: float | None = None  # SQL run outside any model (hooks, schema listing)
    load: tuple | None = None  # 1-minute load average at the start and the end of the step

    @property
    def time(self) -> float:
        return self.seconds if self.seconds is not None else self.wall

    @property
    def startup(self) -> float | None:
        """dbt start-up and shut-down: the process's wall time outside the model span."""
        return None if self.span is None else self.wall - self.span

    def overhead(self) -> dict | None:
        """Per-node overhead from run_results.json and the SQL timings of dbt's log."""
        if not self.models or not self.sql:
            return None
        nodes = len(self.models)
        node_time = sum(t for _, t in self.models)
        sql = sum(v[0] for v in self.sql.values())
        longest = sum(v[1] for v in self.sql.values())
        statements = sum(v[2] for v in self.sql.values())
        outside = node_time - sql
        return {"nodes": nodes, "node_time": node_time, "sql": sql, "longest": longest,
                "statements": statements, "outside": outside, "per_node": outside / nodes,
                "beyond_main": (node_time - longest) / nodes}


@dataclass
class Run:
    code: int
    wall: float
    rss_kib: int
    spill_bytes: int
    rss_at: dt.datetime | None
    spill_at: dt.datetime | None
    load: tuple | None = None


def run_process(command, spill_dir: Path, env=None, log_path: Path | None = None, stdout=None) -> Run:
    """Run `command`: exit code, wall seconds, peak RSS (os.wait4) and the largest spill."""
    log = open(log_path, "w") if log_path else None
    load_start = os.getloadavg()[0]
    try:
        with ResourcePoller(spill_dir) as poller:
            start = time.perf_counter()
            proc = subprocess.Popen(command, cwd=ROOT, env=env,
                                    stdout=log if log else stdout, stderr=subprocess.STDOUT if log else None)
            poller.pid = proc.pid
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            log.close()
    return Run(proc.returncode, wall, usage.ru_maxrss, poller.max_bytes, poller.max_rss_at, poller.max_bytes_at,
               (load_start, os.getloadavg()[0]))


def step_from(name: str, run: Run, **extra) -> Step:
    return Step(name, wall=run.wall, rss_kib=run.rss_kib, spill_bytes=run.spill_bytes, rss_at=run.rss_at,
                spill_at=run.spill_at, load=run.load, **extra)


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
        self.extra_vars = args.extra_vars
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
            run = run_process([self.python, __file__, "--sql-worker", str(spec_path)], temp_dir(db), stdout=out)
        if run.code != 0:
            fail(f"step {name} failed (exit {run.code})")
        payload = json.loads(out_path.read_text())
        spec_path.unlink()
        out_path.unlink()
        return step_from(name, run, seconds=sum(payload["timings"].values())), payload

    def dbt_env(self, db: Path):
        return dict(os.environ, ACTIVATION_DUCKDB_PATH=str(db), ACTIVATION_THREADS=str(self.args.threads),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false")

    def dbt_step(self, name, db: Path, command, vars, timed=True):
        """One dbt process with `vars` and the --vars-json extras. Its debug log (JSON, a
        folder per step) gives the time of every SQL statement and the model it ran for."""
        target = db.parent / "target"
        log_path = db.parent / f"dbt-{name}.log"
        log_dir = db.parent / "logs" / name.replace(" ", "-")
        shutil.rmtree(log_dir, ignore_errors=True)
        vars = {**vars, **self.extra_vars}
        full = [self.dbt, *command, "--project-dir", str(ROOT), "--profiles-dir", str(self.profiles),
                "--target-path", str(target), "--log-path", str(log_dir), "--log-format-file", "json",
                "--log-level-file", "debug", "--vars", json.dumps(vars)]
        run = run_process(full, temp_dir(db), env=self.dbt_env(db), log_path=log_path)
        if run.code != 0:
            fail(f"dbt {' '.join(command)} ({name}) failed (exit {run.code}); log: {log_path}", log_path)
        step = step_from(name, run)
        if timed:
            step.models, step.windows, step.span = read_run_results(target / "run_results.json")
            step.sql, step.sql_outside = read_sql_timings(log_dir / "dbt.log", {m for m, _ in step.models})
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
        run = run_process(generator + ["--duckdb", str(db)], temp_dir(db))
        if run.code != 0:
            fail(f"generator failed (exit {run.code})")
        record(step_from("generate", run))

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
        record(step, dbt_summary(step))

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
        record(step, dbt_summary(step))

        if args.quick:
            self.check_outputs(db, {**vars_incr, **self.extra_vars}, result, record)
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
        record(step, dbt_summary(step) + " (--quick: to compare with the incremental run)")
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
    """Move the last day, late events of the 2 days before and some duplicates to
    raw.events_new_day, and the last day's signups to raw.users_new_day."""
    event_date = "try_cast(substr(trim(event_timestamp), 1, 10) as date)"
    last = f"date '{last_day}'"
    held = (f"({event_date} = {last} or ({event_date} between {last} - 2 and {last} - 1 "
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


def parse_ts(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def read_run_results(path: Path):
    """(models sorted by execution_time, largest first; model -> (start, end); model span).
    Only model nodes count: the on-run-start hook is part of dbt's start-up."""
    data = json.loads(path.read_text())
    models, windows = [], {}
    for result in data["results"]:
        if not result["unique_id"].startswith("model."):
            continue
        name = result["unique_id"].split(".")[-1]
        models.append((name, float(result.get("execution_time") or 0.0)))
        starts = [parse_ts(t["started_at"]) for t in result.get("timing", []) if t.get("started_at")]
        ends = [parse_ts(t["completed_at"]) for t in result.get("timing", []) if t.get("completed_at")]
        if starts and ends:
            windows[name] = (min(starts), max(ends))
    span = None
    if windows:
        span = (max(e for _, e in windows.values()) - min(s for s, _ in windows.values())).total_seconds()
    return sorted(models, key=lambda m: -m[1]), windows, span


def read_sql_timings(log_file: Path, models):
    """From dbt's JSON debug log: model -> (seconds of its SQL statements, seconds of the
    longest, statements), and the seconds of SQL outside the models. dbt times each
    statement it sends (SQLQueryStatus `elapsed`, COMMIT included). None when the log
    has no such events."""
    per_model, outside, found = {}, 0.0, False
    try:
        lines = log_file.read_text().splitlines()
    except OSError:
        return None, None
    for line in lines:
        if '"SQLQueryStatus"' not in line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("info", {}).get("name") != "SQLQueryStatus":
            continue
        found = True
        data = event.get("data", {})
        elapsed = float(data.get("elapsed") or 0.0)
        unique_id = (data.get("node_info") or {}).get("unique_id") or ""
        name = unique_id.split(".")[-1]
        if unique_id.startswith("model.") and name in models:
            total, longest, count = per_model.get(name, (0.0, 0.0, 0))
            per_model[name] = (total + elapsed, max(longest, elapsed), count + 1)
        else:
            outside += elapsed
    if not found:
        return None, None
    return per_model, outside


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
    if 0 < value < 10 * 2**20:
        return f"{value / 2**20:,.2f} MiB"
    return f"{value / 2**20:,.0f} MiB"


STEP_ORDER = ("generate", "hold back", "floor scan", "floor copy", "seed", "full build", "naive", "incremental",
              "full refresh")
DBT_STEPS = ("full build", "incremental", "full refresh")


def dbt_summary(step: Step) -> str:
    parts = [f"model span {fmt_s(step.span)}", f"dbt start-up {fmt_s(step.startup)}", f"{len(step.models)} models"]
    overhead = step.overhead()
    if overhead:
        parts.append(f"{overhead['per_node']:.2f} s per model outside SQL")
    return "  (" + ", ".join(parts) + ")"


def top_model(step: Step | None):
    if step is None or not step.models:
        return None
    total = sum(t for _, t in step.models) or 1.0
    name, seconds = step.models[0]
    return f"{name} ({seconds / total:.0%} of {step.name})"


def models_at(step: Step | None, when: dt.datetime | None, slack: float = 0.25):
    """Models running at `when` (a polled peak; `slack` seconds either side for the
    polling interval), longest first."""
    if step is None or when is None or not step.windows:
        return []
    pad = dt.timedelta(seconds=slack)
    seconds = dict(step.models)
    running = [m for m, (a, b) in step.windows.items() if a - pad <= when <= b + pad]
    return sorted(running, key=lambda m: -seconds.get(m, 0.0))


def startup_note(step: Step | None) -> str:
    if step is None or step.startup is None:
        return ""
    return f"; dbt start-up {step.startup:.1f} s of its {step.wall:.1f} s"


TARGET_SIZES = ("10M", "100M")
NAIVE_NOTE = "no target (information: the recipes do not compute the package's outputs)"


def fixed_cost_note(step: Step | None, full: Step | None, threads: int) -> str:
    """dbt's data-independent cost of `step` (its start-up plus the models' overhead
    outside SQL spread over the threads) as a share of the full build: a floor no SQL
    change can take the ratio below."""
    overhead = step.overhead() if step else None
    if step is None or full is None or not full.time or step.startup is None or overhead is None:
        return ""
    fixed = step.startup + overhead["outside"] / max(threads, 1)
    return (f"; dbt's data-independent cost alone (start-up {step.startup:.1f} s + {overhead['outside']:.1f} s "
            f"outside SQL over {threads} threads = {fixed:.1f} s) is {fixed / full.time:.2f} of the full build")


def ratio_rows(results, threads=1):
    """(target, size, limit, value, status) for every target at every measured size and
    at 10M and 100M; a missed target names the model responsible."""
    by_size = {r["size"]: r["steps"] for r in results}
    measured = [r["size"] for r in results]
    rows = []

    def get(size, name):
        return by_size.get(size, {}).get(name)

    def ratio(size, num, den):
        a, b = get(size, num), get(size, den)
        if a is None or b is None or not b.time:
            return None
        value = a.time / b.time
        return value, f"{value:.2f}"

    def per_size(target, limits, value_fn, culprit_fn=None, unit="", info=None):
        for size in sorted(set(measured) | set(limits), key=parse_size):
            got = value_fn(size)
            shown = "—" if got is None else got[1]
            if info:
                rows.append((target, size, "—", shown, info))
            elif size not in limits:
                rows.append((target, size, "—", shown, "no target at this size"))
            else:
                op, limit = limits[size]
                limit_text = f"{op} {limit:g}{unit}" if limit == int(limit) else f"{op} {limit:.2f}{unit}"
                if got is None:
                    rows.append((target, size, limit_text, "not measured", ""))
                    continue
                value = got[0]
                met = value <= limit if op == "<=" else value == limit
                status = "met" if met else f"missed by {value - limit:,.2f}{unit}"
                if not met and culprit_fn:
                    culprit = culprit_fn(size)
                    status += f"; {culprit}" if culprit else ""
                rows.append((target, size, limit_text, shown, status))

    def largest(step_name):
        def culprit(size):
            step = get(size, step_name)
            top = top_model(step)
            return (f"largest model: {top}" if top else "") + startup_note(step)
        return culprit

    per_size("full build / floor copy", {s: ("<=", 3) for s in TARGET_SIZES},
             lambda size: ratio(size, "full build", "floor copy"), largest("full build"))
    per_size("full build / floor scan", {s: ("<=", 20) for s in TARGET_SIZES},
             lambda size: ratio(size, "full build", "floor scan"), largest("full build"))
    def incremental_culprit(size):
        return largest("incremental")(size) + fixed_cost_note(get(size, "incremental"), get(size, "full build"),
                                                              threads)

    per_size("incremental / full build", {"10M": ("<=", 0.15), "100M": ("<=", 0.10)},
             lambda size: ratio(size, "incremental", "full build"), incremental_culprit)

    big, small = get("100M", "full build"), get("10M", "full build")
    if big and small and small.time:
        value = big.time / small.time
        status = "met" if value <= 11 else f"missed by {value - 11:.2f}"
        if value > 11:
            culprit = scaling_culprit(big, small, 11)
            status += f"; {culprit}" if culprit else ""
        rows.append(("full build 100M / full build 10M", "100M / 10M", "<= 11", f"{value:.2f}", status))
    else:
        rows.append(("full build 100M / full build 10M", "100M / 10M", "<= 11", "not measured", ""))

    def peak_rss(size):
        steps = by_size.get(size)
        if not steps:
            return None
        worst = max(steps.values(), key=lambda s: s.rss_kib)
        value = worst.rss_kib / 2**20
        return value, f"{value:.2f} GiB ({worst.name})"

    def rss_culprit(size):
        worst = max(by_size[size].values(), key=lambda s: s.rss_kib)
        running = models_at(worst, worst.rss_at)
        if running:
            return f"step {worst.name}, models running at its RSS peak: {', '.join(running)}"
        top = top_model(worst)
        return f"step {worst.name}" + (f", largest model: {top}" if top else "")

    per_size("peak RSS (largest step)", {"100M": ("<=", 8)}, peak_rss, rss_culprit, unit=" GiB")

    def spill(size):
        steps = [get(size, name) for name in ("full build", "incremental")]
        steps = [s for s in steps if s is not None]
        if not steps:
            return None
        worst = max(steps, key=lambda s: s.spill_bytes)
        return worst.spill_bytes / 2**20, f"{fmt_bytes(worst.spill_bytes)} ({worst.name})"

    def spill_culprit(size):
        parts = []
        for name in ("full build", "incremental"):
            step = get(size, name)
            if step and step.spill_bytes:
                running = models_at(step, step.spill_at)
                parts.append(f"{name} spilled {fmt_bytes(step.spill_bytes)}, models running at its peak: "
                             + (", ".join(running) if running else "none (between models)"))
        return "; ".join(parts)

    per_size("max spill of the full build and incremental", {"10M": ("=", 0)}, spill, spill_culprit, unit=" MiB")
    per_size("naive recipes / full build", {}, lambda size: ratio(size, "naive", "full build"), info=NAIVE_NOTE)
    return rows


def scaling_culprit(big: Step, small: Step, factor: float):
    """The model whose 100M time exceeds `factor` x its 10M time by the most."""
    if not big.models:
        return None
    small_times = dict(small.models)
    name, seconds, excess = max(((m, t, t - factor * small_times.get(m, 0.0)) for m, t in big.models),
                                key=lambda x: x[2])
    return (f"model growing most: {name} ({small_times.get(name, 0.0):.1f} s at 10M, {seconds:.1f} s at 100M, "
            f"{excess:.1f} s over {factor:g}x)")


def model_rows(models, total, sql):
    return [f"| {m} | {t:.2f} | {t / total:.1%} | {f'{sql[m][0]:.2f}' if m in sql else '—'} |" for m, t in models]


OVERHEAD_METHOD = """\
dbt start-up = wall time of the dbt process - model span (first model's compile start to
the last model's end, from run_results.json): process start, project load and partial
parse, connections, the on-run-start hook, schema listing, writing the artefacts, exit.
Per-model overhead is measured, not estimated: dbt's debug log (JSON, a folder per step)
times every SQL statement dbt sends (event SQLQueryStatus, `elapsed`, COMMIT included) and
names the model it ran for; the adapter response of dbt-duckdb carries no timing. For each
model, outside SQL = its `execution_time` in run_results.json (compile, materialization
logic, relation cache, connection handling) - the time of its statements; this part does
not depend on the data. Beyond the longest statement also counts the model's other
statements (DDL, renames, drops, metadata queries, COMMIT), an upper bound, since a COMMIT
can carry data-dependent writes. Model times are per thread (models run side by side on
`threads` threads), so sums are thread-seconds and can exceed the span; models x per-model
overhead outside SQL is the data-independent part of the model time."""


def render(meta, results, complete):
    lines = ["# milestone_activation benchmark results", "",
             "Written by `bench/run_bench.py`" + ("" if complete else " (run in progress or stopped: partial)") + ".",
             f"Reproduce with `{meta['command']}` (see the docstring of bench/run_bench.py for what each step does).",
             "", f"- date: {meta['date']}"]
    lines += [f"- machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, RAM {meta['machine']['ram']}, "
              f"disk free {meta['machine']['disk_free']}"]
    lines += ["- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())]
    lines += [f"- settings: memory_limit {meta['memory_limit']}, threads {meta['threads']} (DuckDB, dbt threads and "
              "the floors and naive steps alike); floors and naive run once each"]
    extra = json.dumps(meta["vars"], sort_keys=True) if meta["vars"] else "none"
    lines += ["- dbt vars: the generator's (`--print-vars`), `activation_as_of` of the step, "
              "`activation_duckdb_memory_limit` and `activation_duckdb_threads` from the settings; "
              f"extra vars (`--vars-json`, every dbt step): {extra}", ""]

    lines += ["## Per size", ""]
    sizes = [r["size"] for r in results]
    lines += ["| | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]

    def row(label, fn):
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError, AttributeError, ZeroDivisionError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def step(r, name):
        return r["steps"][name]

    def per_model(r, name):
        overhead = step(r, name).overhead()
        return f"{overhead['per_node']:.3f} s x {overhead['nodes']} = {overhead['outside']:.1f} s"

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
    row("full build: dbt start-up (wall - model span)", lambda r: fmt_s(step(r, "full build").startup))
    row("full build: models run", lambda r: f"{len(step(r, 'full build').models)}")
    row("full build: per-model overhead outside SQL x models", lambda r: per_model(r, "full build"))
    row("incremental (wall)", lambda r: fmt_s(step(r, "incremental").wall))
    row("incremental (model span)", lambda r: fmt_s(step(r, "incremental").span))
    row("incremental: dbt start-up (wall - model span)", lambda r: fmt_s(step(r, "incremental").startup))
    row("incremental: models run", lambda r: f"{len(step(r, 'incremental').models)}")
    row("incremental: per-model overhead outside SQL x models", lambda r: per_model(r, "incremental"))
    row("naive recipes (information, no target)", lambda r: fmt_s(step(r, "naive").time))
    if any("full refresh" in r["steps"] for r in results):
        row("full refresh after the incremental run (--quick)", lambda r: fmt_s(step(r, "full refresh").wall))
    for name in ("floor copy", "full build", "incremental"):
        if any(name in r["steps"] and r["steps"][name].load for r in results):
            row(f"load average (1 min) at start / end: {name}",
                lambda r, n=name: "/".join(f"{v:.1f}" for v in step(r, n).load) if step(r, n).load else "")
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
              "run_results.json; the ratios use the wall time. Start-up and per-model overhead: see below.", ""]

    lines += ["## Ratios and targets", "", "| target | size | limit | value | status |", "|---|---|---|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in ratio_rows(results, meta["threads"])]
    lines += ["", "A missed target names the model responsible: the largest model of the step (and dbt's "
              "start-up), for 100M / 10M the model whose 100M time exceeds 11x its 10M time the most, for "
              "RSS and spill the models running when the polled peak was seen.", ""]

    lines += ["## dbt start-up and per-model overhead", "", OVERHEAD_METHOD, "",
              "| size | step | wall | model span | dbt start-up | models | model time (sum) | SQL of the models "
              "(sum) | their longest statements (sum) | outside SQL (sum) | per model: outside SQL | "
              "per model: beyond its longest statement | statements per model | SQL outside the models |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for name in DBT_STEPS:
            s = r["steps"].get(name)
            if not s:
                continue
            o = s.overhead()
            if o:
                detail = (f"{o['node_time']:.1f} s | {o['sql']:.1f} s | {o['longest']:.1f} s | {o['outside']:.1f} s | "
                          f"{o['per_node']:.3f} s | {o['beyond_main']:.3f} s | {o['statements'] / o['nodes']:.1f} | "
                          f"{fmt_s(s.sql_outside)}")
            else:
                detail = " | ".join(["—"] * 8)
            lines.append(f"| {r['size']} | {name} | {fmt_s(s.wall)} | {fmt_s(s.span)} | {fmt_s(s.startup)} | "
                         f"{len(s.models)} | {detail} |")
    lines.append("")

    lines += ["## Models", ""]
    for r in results:
        for name in DBT_STEPS:
            s = r["steps"].get(name)
            if not s or not s.models:
                continue
            total = sum(t for _, t in s.models) or 1.0
            sql = s.sql or {}
            lines += [f"### {r['size']}: {name}", "",
                      f"{len(s.models)} models; sum of model times {total:.1f} s, wall {s.wall:.1f} s, model span "
                      f"{fmt_s(s.span)}, dbt start-up {fmt_s(s.startup)}.", "",
                      "| model | seconds | share | SQL seconds |", "|---|---:|---:|---:|"]

            lines += model_rows(s.models[:10], total, sql)
            if len(s.models) > 10:
                lines += ["", f"<details><summary>the other {len(s.models) - 10} models</summary>", "",
                          "| model | seconds | share | SQL seconds |", "|---|---:|---:|---:|"]
                lines += model_rows(s.models[10:], total, sql)
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
    parser.add_argument("--vars-json", default=None, metavar="JSON",
                        help="extra dbt vars passed to every dbt step, a JSON object or @FILE holding one, "
                             "e.g. '{\"activation_pql_enabled\": false}'; recorded in the results")
    parser.add_argument("--sql-worker", metavar="SPEC", help=argparse.SUPPRESS)
    return parser


RESERVED_VARS = {"activation_as_of": "set per step by the benchmark",
                 "activation_duckdb_memory_limit": "use --memory-limit",
                 "activation_duckdb_threads": "use --threads"}


def parse_vars_json(parser, text):
    if not text:
        return {}
    try:
        source = Path(text[1:]).read_text() if text.startswith("@") else text
        value = json.loads(source)
    except (OSError, json.JSONDecodeError) as error:
        parser.error(f"--vars-json: {error}")
    if not isinstance(value, dict):
        parser.error("--vars-json: expected a JSON object of dbt vars")
    for key in sorted(set(value) & set(RESERVED_VARS)):
        parser.error(f"--vars-json: {key} is not allowed here ({RESERVED_VARS[key]})")
    return value


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sql_worker:
        return sql_worker(args.sql_worker)
    args.extra_vars = parse_vars_json(parser, args.vars_json)
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
        "vars": args.extra_vars,
        "command": shlex.join([".venv/bin/python", "bench/run_bench.py",
                               *(argv if argv is not None else sys.argv[1:])]),
    }
    results = []

    def report(complete=False):
        shown = results + ([bench.in_progress] if bench.in_progress else [])
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(render(meta, shown, complete))

    say(f"benchmark: sizes {', '.join(size_label(s) for s in sizes)}; memory_limit {args.memory_limit}, "
        f"threads {args.threads}; extra vars {json.dumps(args.extra_vars) if args.extra_vars else 'none'}; "
        f"results -> {results_path}")
    for events in sizes:
        results.append(bench.run_size(events, report))
        report()
    report(complete=True)
    say(f"results written to {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
