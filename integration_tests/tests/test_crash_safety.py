"""Interrupted runs, re-run with a plain `dbt run`, end equal to a full refresh (SPEC §8).

Each sequence feeds the generator's data (with late rows and duplicates,
`plan_batches` of test_incremental.py) batch by batch, as test_incremental.py does,
and interrupts some batches' runs before the batch's own plain `dbt run`:

- `prefix`: only the first k models of a random topological order of the package's
  models run (`dbt run --select <those k>`); every other prefix of the session ends
  right after an incremental model (each in turn), where that model's stored state
  is ahead of its dependants', the others at a random k;
- `subset`: a random subset of the models, in 1-3 `dbt run --select` invocations in
  random order (SPEC: runs of any subset of models in any order end right);
- `sigkill` (DuckDB, PostgreSQL): `dbt run` in a subprocess with `--log-format json`;
  when a chosen incremental model starts, a random short wait, then SIGKILL of the
  whole process group.

Points fall mostly on the batches with new rows after the first build; a batch may
be interrupted more than once before its plain re-run; an interrupted run of the first
batch repeats that batch's `--full-refresh` on an empty database. The interrupted
runs may fail (their outcome is only printed); every plain re-run must succeed, and
after the last batch every table in the marts schema must equal a full refresh on the
same raw rows (the bookkeeping column of test_incremental.py left out).

Sizing: ACTIVATION_CRASH_POINTS interruption points in all (default 20 on DuckDB, 4
on PostgreSQL with a SIGKILL among them, 3 on Spark: Spark runs in this process, so
a subprocess dbt cannot share its session and only between-model points run there),
ACTIVATION_CRASH_POINTS_PER_SEQUENCE per sequence (default 4, 3 on Spark), all drawn
from ACTIVATION_CRASH_SEED. A failure names the seed, the sequence and every step
done, so it can be replayed with the same variables.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from engines import get_engine_name
from harness import BASE_VARS, PROJECT_DIR, BuildFailed, table_differences
from test_incremental import BOOKKEEPING_COLUMNS, assert_same_tables, generated_dataset, plan_batches

ENGINE = get_engine_name()
POINTS = int(os.environ.get("ACTIVATION_CRASH_POINTS", {"duckdb": 20, "postgres": 4}.get(ENGINE, 3)))
POINTS_PER_SEQUENCE = max(1, int(os.environ.get("ACTIVATION_CRASH_POINTS_PER_SEQUENCE",
                                                3 if ENGINE == "spark" else 4)))
SEED = int(os.environ.get("ACTIVATION_CRASH_SEED", "8"))
SEQUENCES = math.ceil(POINTS / POINTS_PER_SEQUENCE)
# Spark: the session lives in this process, a subprocess dbt cannot reach its tables.
KINDS = ("prefix", "subset") if ENGINE == "spark" else ("prefix", "sigkill", "subset")
DATASET_SEEDS = [41, 42] if ENGINE == "duckdb" else [41]
# Small data: the points cost dbt's per-model overhead, not data volume.
DATASET_SIZE = {"users": 40, "events_per_user": 20, "days": 30}
SIGKILL_MAX_DELAY_SECONDS = 0.5  # an incremental model runs ~0.3-0.5 s here on DuckDB
SUBPROCESS_TIMEOUT_SECONDS = 900


def point_kinds():
    """The kind of every interruption point, all sequences together: the kinds in turn
    (so every kind occurs once there are as many points), then shuffled."""
    kinds = [KINDS[i % len(KINDS)] for i in range(POINTS)]
    random.Random(SEED).shuffle(kinds)
    return kinds


def vars_json(vars):
    all_vars = dict(BASE_VARS)
    all_vars.update(vars)
    return json.dumps(all_vars, sort_keys=True)


@pytest.fixture(scope="module")
def datasets(dbt_builder):
    return {seed: generated_dataset(dbt_builder.workdir, seed, **DATASET_SIZE) for seed in DATASET_SEEDS}


@pytest.fixture(scope="module")
def full_builds(dbt_builder, datasets):
    """The full refresh of each whole dataset, made once and compared with every sequence."""
    cache = {}

    def get(seed):
        if seed not in cache:
            dataset, vars = datasets[seed]
            dbt_builder.load(dataset)
            dbt_builder.run_models(vars, full_refresh=True)
            cache[seed] = dbt_builder.read_all_marts()
        return cache[seed]

    return get


@pytest.fixture(scope="module")
def model_graph(dbt_builder, datasets):
    """{model name: set of the package models it reads}, and the incremental models,
    from the manifest of `dbt parse`; ephemeral models are left out (a run does not
    build them), their readers wait for what they read."""
    _, vars = datasets[DATASET_SEEDS[0]]
    dbt_builder.deps()
    parsed = dbt_builder.run_dbt(["parse", "--vars", vars_json(vars), "--quiet"]).result
    manifest = parsed.writable_manifest().to_dict()  # as manifest.json holds it
    models = {uid: node for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node["package_name"] == "milestone_activation"}
    ephemeral = {uid for uid, node in models.items() if node["config"]["materialized"] == "ephemeral"}

    def built_parents(uid):
        # An ephemeral model is no step of a run (it is inlined where it is read): a model
        # reading one waits for what that one reads.
        found = set()
        for parent in models[uid]["depends_on"]["nodes"]:
            if parent in ephemeral:
                found |= built_parents(parent)
            elif parent in models:
                found.add(models[parent]["name"])
        return found

    parents = {node["name"]: built_parents(uid) for uid, node in models.items() if uid not in ephemeral}
    incremental = sorted(node["name"] for node in models.values()
                         if node["config"]["materialized"] == "incremental")
    assert incremental, "no incremental model in the manifest: nothing to interrupt inside"
    return parents, incremental


def random_topological_order(parents, rng):
    """A topological order of the models, ties broken at random."""
    remaining = {name: set(deps) for name, deps in parents.items()}
    order = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        assert ready, f"cycle among {sorted(remaining)}"
        chosen = rng.choice(ready)
        order.append(chosen)
        del remaining[chosen]
        for deps in remaining.values():
            deps.discard(chosen)
    return order


class Interrupter:
    """Runs the interrupted runs of one sequence and keeps a log of every step."""

    def __init__(self, builder, vars, rng, parents, incremental, log, prefix_index=0):
        self.prefix_index = prefix_index  # prefix points of the session before this sequence's
        self.builder = builder
        self.vars = vars
        self.rng = rng
        self.parents = parents
        self.incremental = incremental
        self.log = log

    def args(self, full_refresh, select=None, quiet=True):
        args = ["run", "--vars", vars_json(self.vars)]
        if quiet:
            args += ["--quiet", "--no-write-json"]
        if full_refresh:
            args.append("--full-refresh")
        if select:
            args += ["--select", *select]
        return args

    def run_in_process(self, full_refresh, select):
        try:
            self.builder.run_dbt(self.args(full_refresh, select))
            return "ok"
        except BuildFailed as error:
            return f"failed: {str(error).strip().splitlines()[0][:200] if str(error).strip() else '?'}"

    def interrupt(self, kind, full_refresh):
        rng = self.rng
        if kind == "prefix":
            order = random_topological_order(self.parents, rng)
            if self.prefix_index % 2 == 0:
                # Every other prefix point of the session ends right after an incremental
                # model, each of them in turn.
                boundary = self.incremental[(self.prefix_index // 2) % len(self.incremental)]
                k = order.index(boundary) + 1
            else:
                k = rng.randint(1, len(order) - 1)
            self.prefix_index += 1
            outcome = self.run_in_process(full_refresh, order[:k])
            return f"prefix of {k}/{len(order)} ending at {order[k - 1]}: {outcome}"
        if kind == "subset":
            names = sorted(self.parents)
            subset = rng.sample(names, rng.randint(1, max(1, len(names) // 3)))
            if not set(subset) & set(self.incremental):
                subset.append(rng.choice(self.incremental))
            rng.shuffle(subset)
            chunk_count = min(len(subset), rng.randint(1, 3))
            cuts = sorted(rng.sample(range(1, len(subset)), chunk_count - 1)) if chunk_count > 1 else []
            chunks = [subset[a:b] for a, b in zip([0, *cuts], [*cuts, len(subset)])]
            outcomes = [f"{chunk} {self.run_in_process(full_refresh, chunk)}" for chunk in chunks]
            return "subset runs, in this order: " + "; ".join(outcomes)
        if kind == "sigkill":
            model = rng.choice(self.incremental)
            delay = round(rng.uniform(0, SIGKILL_MAX_DELAY_SECONDS), 3)
            return f"SIGKILL {delay}s after {model} started: " + self.run_and_kill(full_refresh, model, delay)
        raise AssertionError(kind)

    def run_and_kill(self, full_refresh, model, delay):
        """`dbt run` in a subprocess with the harness's project, profiles, target, vars and
        environment; SIGKILL of its process group `delay` seconds after `model` starts."""
        builder = self.builder
        # dbt-duckdb keeps the database file open in this process between invokes;
        # release it so the subprocess can open it.
        builder.engine.after_invoke()
        env = dict(os.environ)
        env.update(builder.engine.dbt_env())
        env.update(PYTHONUNBUFFERED="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        args = self.args(full_refresh, quiet=False)
        command = [sys.executable, "-c", "from dbt.cli.main import cli; cli()", args[0],
                   "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
                   "--target", builder.engine.target,
                   # A target folder of its own: dbt's parse cache of the in-process runs
                   # stays untouched.
                   "--target-path", str(builder.workdir / "target-subprocess"),
                   "--log-path", str(builder.workdir / "logs-subprocess"),
                   "--log-format", "json", "--log-level", "info", *args[1:]]
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)

        def kill():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        watchdog = threading.Timer(SUBPROCESS_TIMEOUT_SECONDS, kill)
        watchdog.start()
        tail = []
        killed_at_start = False
        try:
            for line in process.stdout:
                tail = [*tail[-30:], line.rstrip()]
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                node = (record.get("data") or {}).get("node_info") or {}
                if record.get("info", {}).get("name") == "LogStartLine" and node.get("node_name") == model:
                    time.sleep(delay)
                    kill()
                    killed_at_start = True
                    break
        finally:
            process.stdout.close()
            returncode = process.wait()
            watchdog.cancel()
        if not killed_at_start:
            messages = []
            for line in tail:
                try:
                    messages.append(json.loads(line)["info"]["msg"])
                except (ValueError, KeyError, TypeError):
                    messages.append(line)
            raise AssertionError(f"{model} never started in the subprocess (exit code {returncode}); "
                                 "its last output:\n" + "\n".join(messages[-15:]))
        return "killed" if returncode == -signal.SIGKILL else f"ended by itself first (exit code {returncode})"


def run_sequence(builder, dataset, vars, batches, plan, interrupter, log):
    """Feed `batches`; before the plain run of batch i, the interruptions plan[i]."""
    for index, batch in enumerate(batches):
        full_refresh = index == 0
        if index == 0:
            first = copy.copy(dataset)
            first.events = list(batch)
            if plan.get(0):
                # An interrupted first build starts from an empty database: the state a
                # killed --full-refresh leaves over another data set's tables is not an
                # input of this data set.
                builder.reset()
                builder.run_dbt(["seed", "--vars", vars_json(vars), "--quiet"])
                builder._seeded = True
            builder.load(first)
        else:
            builder.append_events(batch)
        for kind in plan.get(index, []):
            log.append(f"batch {index} ({len(batch)} new rows): {interrupter.interrupt(kind, full_refresh)}")
            print(log[-1])
        try:
            # The re-run is a plain `dbt run`, also after an interrupted --full-refresh.
            builder.run_models(vars, full_refresh=full_refresh and not plan.get(0))
        except BuildFailed as error:
            raise AssertionError(f"the plain run of batch {index} failed:\n{error}\n\nsteps:\n"
                                 + "\n".join(log)) from None
        log.append(f"batch {index} ({len(batch)} new rows): plain run ok")
    return builder.read_all_marts()


@pytest.mark.parametrize("sequence", range(SEQUENCES))
def test_interrupted_runs_equal_full_refresh(dbt_builder, datasets, full_builds, model_graph, sequence):
    kinds = point_kinds()[sequence * POINTS_PER_SEQUENCE:(sequence + 1) * POINTS_PER_SEQUENCE]
    seed = DATASET_SEEDS[sequence % len(DATASET_SEEDS)]
    dataset, vars = datasets[seed]
    expected = full_builds(seed)
    rng = random.Random(SEED * 1000 + sequence)
    batches = plan_batches(dataset.events, rng)
    if ENGINE == "spark":
        # One Spark build costs about a minute: two loads (late rows and duplicates kept).
        batches = [batches[0], [row for batch in batches[1:] for row in batch]]
    # Most points go to the batches that bring new rows after the first build: there
    # the stored state of an interrupted model is ahead of, or behind, its dependants.
    weights = [1 if index == 0 or not batch else 4 for index, batch in enumerate(batches)]
    plan = {}
    for kind in kinds:
        plan.setdefault(rng.choices(range(len(batches)), weights)[0], []).append(kind)
    parents, incremental = model_graph
    header = (f"ACTIVATION_CRASH_SEED={SEED} sequence {sequence} (ACTIVATION_CRASH_POINTS={POINTS}, "
              f"ACTIVATION_CRASH_POINTS_PER_SEQUENCE={POINTS_PER_SEQUENCE}), data set {seed}, "
              f"{len(batches)} batches, points {kinds}")
    log = [header]
    print(header)
    interrupter = Interrupter(dbt_builder, vars, rng, parents, incremental, log,
                              prefix_index=point_kinds()[:sequence * POINTS_PER_SEQUENCE].count("prefix"))

    marts = run_sequence(dbt_builder, dataset, vars, batches, plan, interrupter, log)
    try:
        assert_same_tables(marts, expected, skipped=BOOKKEEPING_COLUMNS, label="after interruptions")
    except AssertionError as error:
        differences = table_differences(marts, expected, skipped=BOOKKEEPING_COLUMNS)
        raise AssertionError(f"marts after the interrupted sequence differ from a full refresh:\n{differences}\n\n"
                             f"first differences, rows in sorted order:\n{error}\n\nsteps:\n"
                             + "\n".join(log)) from None
