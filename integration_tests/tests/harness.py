"""Build the package on given raw rows and read its marts back.

Each build writes the raw tables through the session's engine (engines.py: DuckDB by
default, PostgreSQL or Spark with ACTIVATION_ENGINE), runs dbt in-process on the
`integration_tests` project (which installs the package with `local: ../`) with the
engine's target, and returns the marts as lists of dicts. The raw milestone
configuration is read through the package's source vars, exactly as a user's own
tables would be.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from engines import Engine, get_engine

PROJECT_DIR = Path(__file__).resolve().parents[1]

RAW_COLUMNS = {
    "users": {
        "user_id": "varchar",
        "account_id": "varchar",
        "created_at": "varchar",
        "plan_tier": "varchar",
        "install_source": "varchar",
        "inviter_user_id": "varchar",
        "company_size": "varchar",
    },
    "events": {
        "event_id": "varchar",
        "user_id": "varchar",
        "event_name": "varchar",
        "event_timestamp": "varchar",
        "properties": "varchar",
    },
    "milestones": {
        "milestone_id": "varchar",
        "definition": "varchar",
        "level": "integer",
        "weight": "double",
        "timeframe": "varchar",
        "timeframe_days": "integer",
        "triggered_by_event": "varchar",
        "is_activation": "boolean",
        "requires_milestone_id": "varchar",
    },
    "milestone_requirements": {
        "milestone_id": "varchar",
        "path_id": "integer",
        "event_name": "varchar",
        "min_count": "integer",
        "property_key": "varchar",
        "property_value": "varchar",
    },
}

MART_SCHEMA = "main_activation"
# The dbt selection of the marts `DbtBuilder.read_marts` returns and everything they are
# built from: a test that checks only those builds fewer than half of the models.
PER_USER_MARTS_SELECTION = ("+activation_users +activation_user_milestones +activation_quarantined_events "
                            "+activation_quarantined_users +activation_data_quality")

BASE_VARS = {
    "activation_source_schema": "raw",
    "activation_milestones_identifier": "milestones",
    "activation_milestone_requirements_identifier": "milestone_requirements",
    "activation_user_passthrough_columns": ["company_size"],
}


@dataclass
class Dataset:
    users: list = field(default_factory=list)
    events: list = field(default_factory=list)
    milestones: list = field(default_factory=list)
    requirements: list = field(default_factory=list)

    def tables(self):
        return {
            "users": self.users,
            "events": self.events,
            "milestones": self.milestones,
            "milestone_requirements": self.requirements,
        }


class BuildFailed(Exception):
    """dbt did not succeed; the message holds what dbt reported, `result` dbt's result
    (for a command that ran, `result.result.results` holds the status of every node)."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result


def user(user_id, created_at, **extra):
    row = {column: None for column in RAW_COLUMNS["users"]}
    row.update(user_id=user_id, created_at=created_at, account_id="acct", plan_tier="free",
               install_source="web_direct")
    row.update(extra)
    return row


def event(user_id, event_name, event_timestamp, event_id=None, properties=None):
    return {"event_id": event_id, "user_id": user_id, "event_name": event_name,
            "event_timestamp": event_timestamp, "properties": properties}


def milestone(milestone_id, level, weight=1.0, timeframe="7d", triggered_by_event=None,
              is_activation=False, requires_milestone_id=None, timeframe_days=None, definition=None):
    return {"milestone_id": milestone_id, "definition": definition or milestone_id, "level": level,
            "weight": weight, "timeframe": timeframe, "timeframe_days": timeframe_days,
            "triggered_by_event": triggered_by_event, "is_activation": is_activation,
            "requires_milestone_id": requires_milestone_id}


def requirement(milestone_id, event_name, min_count=1, path_id=1, property_key=None,
                property_value=None):
    return {"milestone_id": milestone_id, "path_id": path_id, "event_name": event_name,
            "min_count": min_count, "property_key": property_key, "property_value": property_value}


def write_raw_tables(engine: Engine, dataset: Dataset, schema="raw"):
    """Replace the raw tables with the dataset's rows."""
    engine.write_raw_tables(
        {table: (RAW_COLUMNS[table], rows) for table, rows in dataset.tables().items()}, schema=schema)


# dbt commands that run on a parsed project and take it from `dbtRunner(manifest=...)`.
MANIFEST_COMMANDS = ("build", "compile", "run", "seed", "show", "test")

# Attributes of a node that dbt sets while it runs the node: compiling writes its SQL,
# marks it compiled (a node marked so skips the injection of ephemeral models' CTEs),
# names its relation (tests) and the files of its SQL, adds the macros a test calls to
# its dependencies and numbers the hooks it runs.
RUN_STATE = ("compiled", "compiled_code", "extra_ctes_injected", "extra_ctes", "_pre_injected_sql",
             "compiled_path", "build_path", "relation_name", "depends_on", "index")


# Vars the parsed project does not depend on: the package reads them only when a
# command compiles SQL, never in what `dbt parse` fixes (which nodes are enabled, their
# configs and dependencies, sources' relations, tests). A command whose vars differ from
# those of a kept parse only in these, and in the value of a valid activation_as_of (not
# whether one is set: an unset or invalid one makes int_activation__as_of read the events),
# runs on that parse; any other var, and any var not named here, gets a
# parse of its own. test_harness.py parses with every one of these changed and compares;
# ACTIVATION_DBT_PARSE_CHECK=1 parses for every new set of vars anyway and fails when the
# project differs from the one it would reuse.
PARSE_INDEPENDENT_VARS = frozenset({
    "activation_account_activation_rule", "activation_account_min_share", "activation_account_min_users",
    "activation_account_pql_aggregate", "activation_activity_events", "activation_calibration_days",
    "activation_calibration_min_conversions", "activation_cohort_grain",
    "activation_conversion_event", "activation_duckdb_memory_limit", "activation_duckdb_threads",
    "activation_event_timestamp_format", "activation_experiment_control_variant",
    "activation_experiment_exposure_event", "activation_experiment_id_property",
    "activation_experiment_variant_property", "activation_first_value_milestone",
    "activation_free_plan_tiers", "activation_future_tolerance_hours", "activation_invite_count_property",
    "activation_invite_event", "activation_inviter_column", "activation_kpi_period", "activation_lookback_days",
    "activation_pql_bands", "activation_pql_daily_days", "activation_pql_decay", "activation_pql_recency_days",
    "activation_stats_max_groups", "activation_stats_min_group_size", "activation_status_bands",
    "activation_status_score_basis", "activation_user_passthrough_columns",
})


def parse_key(vars_text):
    """The part of a --vars text that the parsed project depends on."""
    try:
        all_vars = yaml.safe_load(vars_text) if vars_text else {}  # dbt reads --vars as YAML
    except yaml.YAMLError:
        all_vars = None
    if not isinstance(all_vars, dict):
        return vars_text  # dbt rejects it; a key of its own
    key = {name: value for name, value in all_vars.items() if name not in PARSE_INDEPENDENT_VARS}
    if _is_accepted_as_of(key.get("activation_as_of")):
        # int_activation__as_of reads the events only when no valid as_of is set; an
        # invalid one keeps its own key (the var check leaves it unset at parse time).
        key["activation_as_of"] = "(set)"
    return json.dumps(key, sort_keys=True, default=str)


_TIMESTAMP_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})([ T]([0-9]{2}):([0-9]{2}):([0-9]{2})([.][0-9]{1,6})?"
    r"([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?"
)


def _is_accepted_as_of(value):
    """Whether macro activation_var_is_timestamp_text accepts `value` as var activation_as_of
    (the same rule, kept strict: anything else keys a parse of its own)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return True
    if not isinstance(value, str):
        return False
    match = _TIMESTAMP_TEXT.fullmatch(value.strip())
    if not match:
        return False
    try:
        dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return False
    return not match.group(4) or (
        int(match.group(5)) <= 23 and int(match.group(6)) <= 59 and int(match.group(7)) <= 59
    )


def _without(fields, names):
    if isinstance(fields, dict):
        return {key: _without(value, names) for key, value in fields.items() if key not in names}
    if isinstance(fields, list):
        return [_without(value, names) for value in fields]
    return fields


def parse_fingerprint(manifest):
    """Every field manifest.json would hold of a parsed project, but the time and id of the
    invocation and, per node, the macros it calls: dbt records those for state comparison
    (`state:modified.macros`), and which ones a node's Jinja reaches at parse time can
    follow a var (a branch that only runs for a set value). Compiling looks macros up by
    name in the whole project."""
    fields = manifest.writable_manifest().to_dict()
    fields.pop("metadata")
    fields = _without(fields, {"created_at"})
    for kind in ("nodes", "disabled", "unit_tests"):
        for nodes in (fields.get(kind) or {}).values():
            for node in nodes if isinstance(nodes, list) else [nodes]:
                node.get("depends_on", {}).pop("macros", None)
    return fields


class ParsedProject:
    """The project as `dbt parse` left it, for `dbtRunner(manifest=...)`. A command changes
    the nodes it runs in place; `for_command` puts every node's RUN_STATE back to its
    value after the parse first, so each command starts from the parse's state, as one
    that parses the project itself does."""

    def __init__(self, manifest, vars_text=""):
        self.manifest = manifest
        self.vars_text = vars_text
        self.checked_vars = {vars_text}
        self._fingerprint = None
        self.saved = {unique_id: self._state(node) for unique_id, node in manifest.nodes.items()}

    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = parse_fingerprint(self.for_command())
        return self._fingerprint

    @staticmethod
    def _state(node):
        # (SeedNode has no compiled state: there those names are read-only properties.)
        return {name: copy.deepcopy(getattr(node, name)) for name in RUN_STATE
                if hasattr(node, name) and not isinstance(getattr(type(node), name, None), property)}

    def for_command(self):
        for unique_id, node in self.manifest.nodes.items():
            for name, value in self.saved[unique_id].items():
                setattr(node, name, copy.deepcopy(value))
            node.clear_event_status()
        return self.manifest


class DbtBuilder:
    """Runs dbt in-process against the session's engine; one instance per test session.

    Each dbt command gets the project as dbt parsed it for the same vars, or for vars that
    differ only in ones the parse does not depend on (PARSE_INDEPENDENT_VARS; one `dbt
    parse` per parse_key, kept in memory; `dbtRunner(manifest=...)`), so it does not read
    and check every file of the project again. What the parse fixes (the nodes, their
    configs, sources' relations, tests) depends only on the project's files and those
    vars, which do not change during a session; everything a run decides (the SQL of each model,
    `is_incremental()`, the queries macros run while compiling) is compiled again by
    every command. dbt writes no JSON artefacts (manifest.json, run_results.json) and
    no log file: the tests read results from the value dbt returns and its errors and
    warnings through a callback. ACTIVATION_DBT_LOG_LEVEL_FILE (e.g. `debug`) writes
    dbt's log file again, to `<session folder>/logs`, and
    ACTIVATION_DBT_REUSE_MANIFEST=0 makes every command parse on its own (as dbt does
    from the command line).
    """

    PROJECTS_KEPT = 64

    def __init__(self, workdir: Path, engine: Engine | None = None):
        self.workdir = Path(workdir)
        self.engine = engine if engine is not None else get_engine(self.workdir)
        self._deps_done = False
        self._seeded = False
        self._manifests = {}  # parse_key -> ParsedProject, the least recently used first
        self.reuse_manifest = os.environ.get("ACTIVATION_DBT_REUSE_MANIFEST", "1") != "0"
        self.check_parse = os.environ.get("ACTIVATION_DBT_PARSE_CHECK", "0") == "1"
        self.log_level_file = os.environ.get("ACTIVATION_DBT_LOG_LEVEL_FILE", "none")
        # One JSON line per dbt command (test, command, vars, seconds), for finding where a
        # suite's time goes.
        self.timing_log = os.environ.get("ACTIVATION_DBT_TIMING_LOG")

    def _common_args(self, vars_text):
        # One target folder per set of vars: dbt re-parses the whole project whenever
        # vars change, so keeping one partial-parse file per set makes a parse with vars
        # used before cheaper (tests that run `dbt parse` themselves, or a command whose
        # vars the parse below failed on).
        vars_key = hashlib.sha1(vars_text.encode()).hexdigest()[:12]
        self.last_target_path = self.workdir / f"target-{vars_key}"
        return ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
                "--target", self.engine.target, "--target-path", str(self.last_target_path),
                "--log-path", str(self.workdir / "logs"), "--log-level-file", self.log_level_file]

    def _parsed(self, vars_text, common):
        """The project parsed with these vars (None when the parse fails: the command then
        parses itself and reports the problem)."""
        from dbt.cli.main import dbtRunner

        key = parse_key(vars_text)
        kept = self._manifests.get(key)
        if kept is None or (self.check_parse and vars_text not in kept.checked_vars):
            vars_args = ["--vars", vars_text] if vars_text else []
            result = dbtRunner().invoke(["parse", *common, "--no-write-json", "--quiet", *vars_args])
            if not result.success:
                return None
            if kept is None:
                self._keep(vars_text, ParsedProject(result.result, vars_text))
            else:
                self._check_same_parse(kept, vars_text, result.result)
        self._manifests[key] = self._manifests.pop(key)  # now the most recently used
        return self._manifests[key].for_command()

    @staticmethod
    def _check_same_parse(kept, vars_text, manifest):
        expected, actual = kept.fingerprint(), parse_fingerprint(manifest)
        if actual != expected:
            different = sorted(
                f"{kind}: {name}" for kind in set(expected) | set(actual)
                for name in set(expected.get(kind) or {}) | set(actual.get(kind) or {})
                if (expected.get(kind) or {}).get(name) != (actual.get(kind) or {}).get(name))
            raise AssertionError(
                f"the project parsed with --vars {vars_text} differs from the one parsed with "
                f"--vars {kept.vars_text}, which the harness would reuse for it (a var that "
                f"PARSE_INDEPENDENT_VARS names changes the parse): {different[:10]}")
        kept.checked_vars.add(vars_text)

    def _keep(self, vars_text, project):
        self._manifests[parse_key(vars_text)] = project
        while len(self._manifests) > self.PROJECTS_KEPT:  # about 10 MB each
            del self._manifests[next(iter(self._manifests))]

    def _invoke(self, args, callbacks=()):
        from dbt.cli.main import dbtRunner

        os.environ.update(self.engine.dbt_env())
        if args[0] == "deps":
            common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        else:
            vars_text = args[args.index("--vars") + 1] if "--vars" in args else ""
            common = self._common_args(vars_text)
            if "--write-json" not in args:
                common.append("--no-write-json")
        self.engine.before_invoke()
        started = time.monotonic()
        parsed_in = 0.0
        try:
            manifest = None
            if self.reuse_manifest and args[0] in MANIFEST_COMMANDS:
                manifest = self._parsed(vars_text, common)
                parsed_in = time.monotonic() - started
            result = dbtRunner(manifest=manifest, callbacks=list(callbacks)).invoke(args[:1] + common + args[1:])
        finally:
            self.engine.after_invoke()
        if self.timing_log:
            with open(self.timing_log, "a") as log:
                log.write(json.dumps({
                    "test": os.environ.get("PYTEST_CURRENT_TEST", ""), "pid": os.getpid(), "command": args[0],
                    "vars": hashlib.sha1(vars_text.encode()).hexdigest()[:12] if args[0] != "deps" else "",
                    "parse_seconds": round(parsed_in, 3),
                    "seconds": round(time.monotonic() - started, 3)}) + "\n")
        if args[0] == "parse" and result.success and self.reuse_manifest and parse_key(vars_text) not in self._manifests:
            self._keep(vars_text, ParsedProject(result.result, vars_text))
        return result

    def parsed_project(self, vars=None):
        """The ParsedProject kept for the base vars plus `vars` (None if no command used them)."""
        all_vars = dict(BASE_VARS)
        all_vars.update(vars or {})
        return self._manifests.get(parse_key(json.dumps(all_vars, sort_keys=True)))

    def deps(self):
        """Install the package into integration_tests/dbt_packages once. The folder is
        shared by every test process (pytest-xdist workers, several builders), and
        `dbt deps` deletes it before writing it again, so it runs under a file lock and
        only when the package is not installed yet."""
        if self._deps_done:
            return
        import fcntl

        lock_path = Path(tempfile.gettempdir()) / "milestone_activation_dbt_deps.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (PROJECT_DIR / "dbt_packages" / "milestone_activation").exists():
                    result = self._invoke(["deps", "--quiet"])
                    if not result.success:
                        raise BuildFailed(f"dbt deps failed: {result.exception}")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        self._deps_done = True

    def build(self, dataset: Dataset, vars=None, command="run", select=None, full_refresh=True):
        """Load `dataset` as raw tables, run dbt, return the marts (or raise BuildFailed).

        By default every incremental model is rebuilt in full (`--full-refresh`), so
        nothing of an earlier build in the same database carries over."""
        self.deps()
        write_raw_tables(self.engine, dataset)
        all_vars = dict(BASE_VARS)
        all_vars.update(vars or {})
        if not self._seeded:
            # The package seeds (KPI targets, default milestones) load once per session;
            # every model is rebuilt by each run, so nothing else survives between builds.
            self.run_dbt(["seed", "--vars", json.dumps(all_vars, sort_keys=True), "--quiet"])
            self._seeded = True
        args = [command, "--vars", json.dumps(all_vars, sort_keys=True), "--quiet"]
        if full_refresh:
            args.append("--full-refresh")
        if select:
            args += ["--select", select]
        self.run_dbt(args)
        return self.read_marts()

    def load(self, dataset: Dataset):
        """Replace the raw tables with `dataset` (no dbt run)."""
        self.deps()
        write_raw_tables(self.engine, dataset)

    def append_events(self, rows):
        """Append rows to the raw events table, as a pipeline's next load would."""
        if rows:
            self.engine.append_raw_rows("events", RAW_COLUMNS["events"], rows)

    def run_models(self, vars=None, full_refresh=False, command="run", select=None):
        """Run dbt on the raw tables as they are (incrementally unless `full_refresh`),
        on the models `select` picks (default all)."""
        all_vars = dict(BASE_VARS)
        all_vars.update(vars or {})
        vars_json = json.dumps(all_vars, sort_keys=True)
        self.deps()
        if not self._seeded:
            self.run_dbt(["seed", "--vars", vars_json, "--quiet"])
            self._seeded = True
        args = [command, "--vars", vars_json, "--quiet"]
        if full_refresh:
            args.append("--full-refresh")
        if select:
            args += ["--select", select]
        self.run_dbt(args)

    def run_dbt_with_vars(self, args, vars=None):
        """Run one dbt command (args without --vars) with the base vars plus `vars`;
        returns dbt's result (raises BuildFailed)."""
        all_vars = dict(BASE_VARS)
        all_vars.update(vars or {})
        self.deps()
        if not self._seeded:
            self.run_dbt(["seed", "--vars", json.dumps(all_vars, sort_keys=True), "--quiet"])
            self._seeded = True
        return self.run_dbt([args[0], "--vars", json.dumps(all_vars, sort_keys=True), "--quiet", *args[1:]])

    def read_all_marts(self):
        """Every table in the marts schema, rows sorted, as {table_name: [row dicts]}."""
        marts = {}
        for name in self.engine.list_tables(MART_SCHEMA):
            rows = self.query(f"select * from {MART_SCHEMA}.{name}")
            marts[name] = sorted(rows, key=lambda row: [(v is None, str(v)) for v in row.values()])
        return marts

    def run_dbt(self, args):
        """Run one dbt command; raise BuildFailed with dbt's error and warning lines."""
        messages = []

        def collect(event):
            if event.info.level in ("error", "warn"):
                messages.append(event.info.msg)

        result = self._invoke(args, callbacks=[collect])
        if not result.success:
            raise BuildFailed("\n".join(str(m) for m in messages) or str(result.exception), result=result)
        return result

    def query(self, sql):
        return self.engine.query(sql)

    def reset(self):
        """Drop everything built so far (the next build seeds again)."""
        self.engine.reset()
        self._seeded = False

    def close(self):
        self.engine.close()

    def read_marts(self):
        return {
            "user_milestones": self.query(
                f"select * from {MART_SCHEMA}.activation_user_milestones order by user_id, milestone_id"),
            "users": self.query(f"select * from {MART_SCHEMA}.activation_users order by user_id"),
            "quarantined_users": self.query(
                f"select * from {MART_SCHEMA}.activation_quarantined_users"),
            "quarantined_events": self.query(
                f"select * from {MART_SCHEMA}.activation_quarantined_events"),
            "data_quality": self.query(f"select * from {MART_SCHEMA}.activation_data_quality"),
        }

    def read_bi_marts(self):
        # Ordered by key: a table's scan order is not defined on every engine.
        return {name: self.query(f"select * from {MART_SCHEMA}.activation_{name} order by {', '.join(key)}")
                for name, key in BI_MART_KEYS.items()}


# --------------------------------------------------------------------------- comparison

Z95 = 1.959963984540054


def wilson_by_hand(count, nobs):
    """The 95% Wilson score interval (lower, upper) written out from its formula, for
    checking the references and marts: centre (p + z²/2n) / (1 + z²/n), half-width
    z·sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n), clamped to [0, 1]; None when n is 0."""
    if not nobs:
        return None
    p, z2 = count / nobs, Z95 ** 2
    centre = (p + z2 / (2 * nobs)) / (1 + z2 / nobs)
    half = Z95 * math.sqrt(p * (1 - p) / nobs + z2 / (4 * nobs ** 2)) / (1 + z2 / nobs)
    return max(0.0, centre - half), min(1.0, centre + half)


def bh_by_hand(p_values):
    """Benjamini–Hochberg q-values written out from the step-up rule, for checking the
    references and marts: the m non-null p-values sorted ascending, q_(i) the least of
    m p_(j) / j over j >= i, capped at 1; None where the p-value is None."""
    ranked = sorted((p, index) for index, p in enumerate(p_values) if p is not None)
    q_values = [None] * len(p_values)
    least = 1.0
    for rank in range(len(ranked), 0, -1):
        p, index = ranked[rank - 1]
        least = min(least, len(ranked) * p / rank)
        q_values[index] = least
    return q_values


def _same(actual, expected, rel=1e-9, abs_=1e-6):
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(actual) == bool(expected)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=abs_)
    if isinstance(expected, dt.datetime) and isinstance(actual, dt.datetime):
        return actual.replace(tzinfo=None) == expected.replace(tzinfo=None)
    if isinstance(expected, dt.date) and isinstance(actual, dt.date):
        return actual == expected
    try:
        from decimal import Decimal
        if isinstance(actual, Decimal) or isinstance(expected, Decimal):
            return math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=abs_)
    except TypeError:
        pass
    return actual == expected


def assert_rows_match(actual_rows, expected_rows, key, columns=None, label="rows"):
    """Every expected row has an actual row with the same key and equal values in `columns`."""
    def key_of(row):
        return tuple(row[k] for k in key)

    actual = {key_of(r): r for r in actual_rows}
    expected = {key_of(r): r for r in expected_rows}
    assert len(actual) == len(actual_rows), f"{label}: duplicate keys in the mart"
    missing = sorted(set(expected) - set(actual), key=str)
    extra = sorted(set(actual) - set(expected), key=str)
    assert not missing and not extra, f"{label}: missing keys {missing[:5]}, unexpected keys {extra[:5]}"
    problems = []
    for k, exp in expected.items():
        act = actual[k]
        for column in columns or exp.keys():
            if not _same(act.get(column), exp.get(column)):
                problems.append(f"{label} {k}: {column} = {act.get(column)!r}, reference {exp.get(column)!r}")
    assert not problems, "\n".join(problems[:20])


def assert_marts_match_reference(marts, ref):
    """Compare every column of both per-user marts and the quarantine/reconciliation outputs."""
    assert_rows_match(marts["user_milestones"], ref["user_milestones"], key=("user_id", "milestone_id"),
                      label="activation_user_milestones")
    assert_rows_match(marts["users"], ref["users"], key=("user_id",), label="activation_users")

    def reasons(rows):
        counts = {}
        for r in rows:
            counts[r["reason"] if "reason" in r else r["quarantine_reason"]] = counts.get(
                r["reason"] if "reason" in r else r["quarantine_reason"], 0) + 1
        return counts

    assert reasons(marts["quarantined_users"]) == reasons(ref["users_quarantine"])
    assert reasons(marts["quarantined_events"]) == reasons(ref["events_quarantine"])
    quality = {(r["table_name"], r["outcome"]): 0 for r in marts["data_quality"]}
    for r in marts["data_quality"]:
        quality[(r["table_name"], r["outcome"])] += r["row_count"]
    assert quality.get(("events", "staged"), 0) == ref["staged_events_count"]
    assert quality.get(("events", "duplicate_removed"), 0) == ref["duplicate_events_removed"]
    assert quality.get(("users", "staged"), 0) == ref["staged_users_count"]


BI_MART_KEYS = {
    "cohort_completion": ("cohort_date", "milestone_id", "window_name"),
    "funnel": ("cohort_date", "breakdown_dimension", "breakdown_value", "step_number"),
    "milestone_velocity": ("cohort_date", "to_step_number"),
    "retention": ("activation_cohort_date", "window_days"),
    "viral_coefficient": ("cohort_date",),
    "conversion_by_milestone": ("highest_level_reached",),
    "nudges": ("user_id",),
    "pql_score_history": ("user_id", "valid_from"),
    "pql_scores_daily": ("user_id", "score_date"),
    "pql_handoffs": ("user_id", "crossed_on"),
    "kpis": ("period_start", "kpi_name"),
}

# Columns the reference cannot reproduce byte for byte: the SQL hash of a stable key.
BI_SKIPPED_COLUMNS = {"pql_handoffs": {"handoff_id"}, "kpis": {"kpi_label"}}


def assert_bi_marts_match_reference(marts, ref):
    """Compare every BI mart with the reference, on every column the reference gives
    (each of which the mart must have, also where the reference's value is null)."""
    for name, key in BI_MART_KEYS.items():
        expected = ref[name]
        columns = None
        if expected:
            columns = [c for c in expected[0] if c not in BI_SKIPPED_COLUMNS.get(name, set())]
        if expected and marts[name]:
            absent = [c for c in expected[0] if c not in marts[name][0]]
            assert not absent, f"activation_{name}: no column {absent}"
        assert_rows_match(marts[name], expected, key=key, columns=columns, label=f"activation_{name}")
    handoff_ids = [r["handoff_id"] for r in marts["pql_handoffs"]]
    assert len(handoff_ids) == len(set(handoff_ids)), "activation_pql_handoffs: handoff_id not unique"


def _sort_value(value):
    """A sort key for one value that lines up equal values across builds and engines:
    numbers of any type by value (floats rounded), datetimes without time zone."""
    if isinstance(value, bool) or value is None:
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", round(float(value), 6))
    if isinstance(value, dt.datetime):
        return ("datetime", value.replace(tzinfo=None).isoformat())
    return (type(value).__name__, str(value))


def assert_same_tables(actual_marts, expected_marts, skipped=None, rel_tol=1e-9, label="actual"):
    """Two builds' marts ({table: rows}) hold the same rows, in any order. Float columns
    compare to `rel_tol` relative (sums may be added in another order); `skipped`
    ({table: {columns}}) leaves bookkeeping columns out."""
    incremental, full = actual_marts, expected_marts
    assert sorted(incremental) == sorted(full), f"different tables: {sorted(incremental)} vs {sorted(full)}"
    problems = []
    for name in sorted(full):
        skipped_columns = (skipped or {}).get(name, set())

        def prepared(rows, skipped_columns=skipped_columns):
            kept = [{k: v for k, v in row.items() if k not in skipped_columns} for row in rows]
            return sorted(kept, key=lambda row: [(row[k] is None, _sort_value(row[k])) for k in sorted(row)])

        inc_rows, full_rows = prepared(incremental[name]), prepared(full[name])
        if len(inc_rows) != len(full_rows):
            problems.append(f"{name}: {len(inc_rows)} rows ({label}), {len(full_rows)} expected")
            continue
        for inc, ref in zip(inc_rows, full_rows):
            for column, expected in ref.items():
                actual = inc.get(column)
                numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (actual, expected))
                same = (math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=rel_tol)
                        if numbers and float in (type(actual), type(expected)) else actual == expected)
                if not same:
                    problems.append(f"{name}.{column}: {label} {actual!r}, expected {expected!r} in {ref}")
                    break
    assert not problems, "\n".join(problems[:10])


def table_differences(actual_marts, expected_marts, skipped=None, examples=2):
    """For a failure message next to `assert_same_tables`: per table, how many rows are
    only in one build (floats rounded to 9 significant digits) and a few of them."""
    def comparable(row, skipped_columns):
        values = []
        for column in sorted(row):
            if column in skipped_columns:
                continue
            value = row[column]
            if isinstance(value, float):
                value = float(f"{value:.9g}")
            values.append((column, _sort_value(value)))
        return tuple(values)

    lines = []
    for name in sorted(set(actual_marts) | set(expected_marts)):
        skipped_columns = (skipped or {}).get(name, set())
        actual = {}
        for row in actual_marts.get(name, []):
            key = comparable(row, skipped_columns)
            actual[key] = actual.get(key, 0) + 1
        expected = {}
        for row in expected_marts.get(name, []):
            key = comparable(row, skipped_columns)
            expected[key] = expected.get(key, 0) + 1
        only_actual = [key for key, count in actual.items() for _ in range(count - expected.get(key, 0))]
        only_expected = [key for key, count in expected.items() for _ in range(count - actual.get(key, 0))]
        if only_actual or only_expected:
            lines.append(f"{name}: {len(only_actual)} rows only in the checked build, "
                         f"{len(only_expected)} only in the expected one")
            for key in only_actual[:examples]:
                lines.append(f"    checked only:  {dict((c, v[1]) for c, v in key)}")
            for key in only_expected[:examples]:
                lines.append(f"    expected only: {dict((c, v[1]) for c, v in key)}")
    return "\n".join(lines)


def make_workdir():
    path = Path(tempfile.mkdtemp(prefix="activation-tests-"))
    return path


def remove_workdir(path):
    shutil.rmtree(path, ignore_errors=True)
