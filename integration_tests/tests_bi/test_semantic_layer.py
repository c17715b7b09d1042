"""The semantic layer on the demo build: every metric MetricFlow answers equals the value
computed here from the mart tables (pandas over the marts, never through MetricFlow), the
`mf` command line answers the issue's query and the KPI saved query, and a project with the
optional modules off still parses with the semantic layer on.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parent
MF = str(Path(sys.executable).with_name("mf"))
DBT = str(Path(sys.executable).with_name("dbt"))


# --- comparison helpers ------------------------------------------------------------------
def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def key_text(value) -> str:
    """A group key as text: dates and times as YYYY-MM-DD (MetricFlow returns timestamps)."""
    if missing(value):
        return "<null>"
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        return value.isoformat()[:10]
    text = str(value)
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        return text[:10]
    if text in ("True", "False", "true", "false"):
        return text.lower()
    return text


def same_number(actual, expected) -> bool:
    if missing(expected) or missing(actual):
        return missing(expected) and missing(actual)
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def assert_rows_equal(columns, rows, group_by, expected: dict, label: str):
    """`expected`: {tuple of group key texts: {metric: value}}; every row of MetricFlow's answer
    matches, and every expected group is answered."""
    got = {}
    for row in rows:
        record = dict(zip(columns, row))
        got[tuple(key_text(record[name]) for name in group_by)] = record
    assert set(got) == set(expected), (
        f"{label}: groups differ; only MetricFlow: {sorted(set(got) - set(expected))[:5]}, "
        f"only marts: {sorted(set(expected) - set(got))[:5]}")
    problems = []
    for key, values in expected.items():
        for metric, value in values.items():
            if not same_number(got[key][metric], value):
                problems.append(f"{key} {metric}: MetricFlow {got[key][metric]!r}, marts {value!r}")
    assert not problems, f"{label}: {len(problems)} values differ:\n" + "\n".join(problems[:20])


def week(series: pd.Series) -> pd.Series:
    """Monday of the ISO week (MetricFlow's metric_time__week)."""
    return pd.to_datetime(series).dt.to_period("W-SUN").dt.start_time


def ratio(numerator, denominator):
    if missing(numerator) or missing(denominator) or float(denominator) == 0:
        return None
    return float(numerator) / float(denominator)


def total(series: pd.Series):
    """Sum that stays null when every value is null (SQL's sum)."""
    return series.sum(min_count=1)


def keyed(frame: pd.DataFrame, keys: list[str], columns: dict) -> dict:
    """{group key texts: {metric: value of frame column}} from one row per group."""
    return {tuple(key_text(row[k]) for k in keys): {metric: row[column] for metric, column in columns.items()}
            for _, row in frame.iterrows()}


# --- the marts, read directly ------------------------------------------------------------
@pytest.fixture(scope="module")
def marts(demo):
    import duckdb

    con = duckdb.connect(str(demo.database), read_only=True)
    try:
        return {name: con.execute(f"select * from main_activation.{name}").df() for name in (
            "activation_users", "activation_conversion_by_milestone", "activation_cohort_completion",
            "activation_milestone_velocity", "activation_retention", "activation_viral_coefficient",
            "activation_pql_score_history", "activation_pql_handoffs", "activation_kpis")}
    finally:
        con.close()


def expected_queries(marts) -> list[tuple[str, list[str], list[str], dict]]:
    """(label, metrics, group_by, expected) for every metric of the semantic layer."""
    queries = []

    users = marts["activation_users"].copy()
    users["week"] = week(users["created_at"])
    users["activated"] = users["is_activated"].astype(int)
    users["converted"] = users["is_converted_to_paid"].astype(int)
    users["activated_converted"] = (users["is_activated"] & users["is_converted_to_paid"]).astype(int)
    by_week_plan = {}
    for (period, plan), group in users.groupby(["week", "plan_tier"], dropna=False):
        ttfv = group["time_to_first_value_hours"].dropna()
        by_week_plan[(key_text(period), key_text(plan))] = {
            "activation_signups": len(group),
            "activation_activated_users": group["activated"].sum(),
            "activation_rate": ratio(group["activated"].sum(), len(group)),
            "activation_ttfv_median_hours": ttfv.median() if len(ttfv) else None,
            "activation_ttfv_mean_hours": ttfv.mean() if len(ttfv) else None,
            "activation_converted_users": group["converted"].sum(),
            "activation_conversion_rate": ratio(group["converted"].sum(), len(group)),
            "activation_activated_converted_users": group["activated_converted"].sum(),
            "activation_conversion_rate_activated": ratio(group["activated_converted"].sum(),
                                                          group["activated"].sum()),
            "activation_invites_sent": group["invites_sent"].sum(),
        }
    queries.append(("users by week and plan", sorted(next(iter(by_week_plan.values()))),
                    ["metric_time__week", "user__plan_tier"], by_week_plan))

    ttfv = users["time_to_first_value_hours"].dropna()
    queries.append(("headline", ["activation_signups", "activation_rate", "activation_ttfv_median_hours"], [], {
        (): {"activation_signups": len(users), "activation_rate": users["activated"].mean(),
             "activation_ttfv_median_hours": ttfv.median()}}))

    # conversion by milestone cohort: the users semantic model against another mart
    conversion = marts["activation_conversion_by_milestone"]
    queries.append(("conversion by highest level",
                    ["activation_signups", "activation_converted_users", "activation_conversion_rate"],
                    ["user__highest_level_reached"],
                    keyed(conversion, ["highest_level_reached"], {
                        "activation_signups": "users", "activation_converted_users": "converted_users",
                        "activation_conversion_rate": "conversion_rate"})))

    completion = marts["activation_cohort_completion"]
    by_milestone = {}
    for milestone, group in completion.groupby("milestone_id"):
        timeframe = group[group["window_name"] == "timeframe"]
        d7 = group[group["window_name"] == "d7"]
        by_milestone[(milestone,)] = {
            "activation_milestone_completion_rate": ratio(timeframe["completed_users"].sum(),
                                                          timeframe["eligible_users"].sum()),
            "activation_milestone_completion_rate_d7": ratio(d7["completed_users"].sum(), d7["eligible_users"].sum()),
            "activation_completion_eligible_users": group["eligible_users"].sum(),
            "activation_completion_completed_users": group["completed_users"].sum(),
        }
    queries.append(("completion by milestone", sorted(next(iter(by_milestone.values()))), ["milestone"],
                    by_milestone))
    timeframe = completion[completion["window_name"] == "timeframe"]
    queries.append(("completion by cohort and milestone", ["activation_milestone_completion_rate"],
                    ["metric_time__week", "milestone"],
                    keyed(timeframe, ["cohort_date", "milestone_id"],
                          {"activation_milestone_completion_rate": "completion_rate"})))

    velocity = marts["activation_milestone_velocity"]
    steps = velocity[velocity["to_step_number"] >= 2]
    by_cohort = {}
    for cohort in sorted(velocity["cohort_date"].unique()):
        pairs = steps[steps["cohort_date"] == cohort]
        hours = total(pairs["mean_hours"] * pairs["users"]) if len(pairs) else None
        count = total(pairs["users"]) if len(pairs) else None
        by_cohort[(key_text(cohort),)] = {"activation_velocity_step_hours": hours,
                                          "activation_velocity_step_pairs": count,
                                          "activation_milestone_velocity_hours": ratio(hours, count)}
    queries.append(("velocity by cohort", sorted(next(iter(by_cohort.values()))), ["metric_time__week"],
                    by_cohort))

    retention = marts["activation_retention"]
    by_cohort = {}
    for cohort, group in retention.groupby("activation_cohort_date"):
        d7 = group[group["window_days"] == 7]
        d30 = group[group["window_days"] == 30]
        by_cohort[(key_text(cohort),)] = {
            "activation_retention_d7": ratio(total(d7["retained_users"]), total(d7["eligible_users"])),
            "activation_retention_d30": ratio(total(d30["retained_users"]), total(d30["eligible_users"])),
            "activation_retention_eligible_users": group["eligible_users"].sum(),
            "activation_retention_retained_users": group["retained_users"].sum(),
        }
        # the mart's own rate per row, too
        for window, rows in ((7, d7), (30, d30)):
            if len(rows):
                assert same_number(by_cohort[(key_text(cohort),)][f"activation_retention_d{window}"],
                                   rows["retention_rate"].iloc[0])
    queries.append(("retention by activation cohort", sorted(next(iter(by_cohort.values()))),
                    ["metric_time__week"], by_cohort))

    viral = marts["activation_viral_coefficient"]
    queries.append(("virality by cohort",
                    ["activation_invites_per_user", "activation_invite_acceptance_rate",
                     "activation_viral_coefficient", "activation_cohort_users", "activation_cohort_invites_sent",
                     "activation_cohort_invited_signups"],
                    ["metric_time__week"],
                    keyed(viral, ["cohort_date"], {
                        "activation_invites_per_user": "invites_per_user",
                        "activation_invite_acceptance_rate": "invite_acceptance_rate",
                        "activation_viral_coefficient": "viral_coefficient",
                        "activation_cohort_users": "cohort_users",
                        "activation_cohort_invites_sent": "invites_sent",
                        "activation_cohort_invited_signups": "invited_signups"})))
    invites, cohort_users, invited = viral["invites_sent"].sum(), viral["cohort_users"].sum(), viral["invited_signups"].sum()
    queries.append(("virality overall", ["activation_viral_coefficient"], [], {
        (): {"activation_viral_coefficient": ratio(invites, cohort_users) * ratio(invited, invites)}}))

    history = marts["activation_pql_score_history"]
    current = history[history["is_current"]].groupby("pql_band").size()
    queries.append(("PQL users by band", ["activation_pql_users"], ["pql_score__pql_band"],
                    {(band,): {"activation_pql_users": count} for band, count in current.items()}))
    handoffs = marts["activation_pql_handoffs"].copy()
    handoffs["week"] = week(handoffs["crossed_at"])
    counts = handoffs.groupby(["week", "to_band"]).size()
    queries.append(("hand-offs by week and band", ["activation_pql_handoffs"],
                    ["metric_time__week", "pql_handoff__to_band"],
                    {(key_text(period), band): {"activation_pql_handoffs": count}
                     for (period, band), count in counts.items()}))

    kpis = marts["activation_kpis"]
    queries.append(("KPI table", ["activation_kpi_value", "activation_kpi_target"],
                    ["metric_time__week", "kpi__kpi_name"],
                    keyed(kpis, ["period_start", "kpi_name"],
                          {"activation_kpi_value": "value", "activation_kpi_target": "target_value"})))
    by_period = {}
    for period, group in kpis.groupby("period_start"):
        rows = {name: group[group["kpi_name"] == name].iloc[0] for name in ("activation_rate", "pql_conversion_rate")}
        by_period[(key_text(period),)] = {
            "activation_kpi_activation_rate": ratio(rows["activation_rate"]["numerator"],
                                                    rows["activation_rate"]["denominator"]),
            "activation_kpi_pql_conversion_rate": ratio(rows["pql_conversion_rate"]["numerator"],
                                                        rows["pql_conversion_rate"]["denominator"]),
            "activation_kpi_numerator": total(group["numerator"]),
            "activation_kpi_denominator": total(group["denominator"]),
        }
        # per period the re-aggregated ratio is the KPI table's value
        assert same_number(by_period[(key_text(period),)]["activation_kpi_activation_rate"],
                           rows["activation_rate"]["value"])
    queries.append(("KPI ratios by period", sorted(next(iter(by_period.values()))), ["metric_time__week"],
                    by_period))
    rate = kpis[kpis["kpi_name"] == "activation_rate"]
    queries.append(("KPI activation rate overall", ["activation_kpi_activation_rate"], [], {
        (): {"activation_kpi_activation_rate": ratio(rate["numerator"].sum(), rate["denominator"].sum())}}))
    return queries


def run_mf(demo, *args, timeout=300) -> subprocess.CompletedProcess:
    completed = subprocess.run([MF, *args], cwd=demo.project, env=demo.env, capture_output=True, text=True,
                               timeout=timeout)
    assert completed.returncode == 0 and "ERROR" not in completed.stdout, completed.stdout + completed.stderr
    return completed


def read_csv(path: Path):
    with path.open() as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


# --- the checks ----------------------------------------------------------------------------
def test_every_metric_equals_the_marts(demo, marts, tmp_path):
    queries = expected_queries(marts)
    (tmp_path / "queries.json").write_text(json.dumps(
        [{"metrics": metrics, "group_by": group_by} for _, metrics, group_by, _ in queries]))
    completed = subprocess.run([sys.executable, str(HERE / "mf_queries.py"), str(tmp_path / "queries.json"),
                                str(tmp_path / "results.json")], cwd=demo.project, env=demo.env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    answer = json.loads((tmp_path / "results.json").read_text())

    queried = {metric for _, metrics, _, _ in queries for metric in metrics}
    assert queried == set(answer["manifest_metrics"]), (
        f"not checked: {sorted(set(answer['manifest_metrics']) - queried)}; "
        f"not in the manifest: {sorted(queried - set(answer['manifest_metrics']))}")
    for (label, _metrics, group_by, expected), result in zip(queries, answer["results"]):
        assert result["rows"], f"{label}: MetricFlow returned no rows"
        assert_rows_equal(result["columns"], result["rows"], group_by, expected, label)


def test_mf_query_answers_signups_and_activation_by_month_and_plan(demo, marts, tmp_path):
    """The issue's query through the `mf` command line, against the users mart by month."""
    output = tmp_path / "monthly.csv"
    run_mf(demo, "query", "--metrics",
           "activation_signups,activation_activated_users,activation_rate,activation_ttfv_median_hours",
           "--group-by", "metric_time__month,user__plan_tier", "--csv", str(output), "--quiet")
    columns, rows = read_csv(output)
    users = marts["activation_users"].copy()
    users["month"] = pd.to_datetime(users["created_at"]).dt.to_period("M").dt.start_time
    expected = {}
    for (month, plan), group in users.groupby(["month", "plan_tier"], dropna=False):
        ttfv = group["time_to_first_value_hours"].dropna()
        expected[(key_text(month), key_text(plan))] = {
            "activation_signups": len(group),
            "activation_activated_users": int(group["is_activated"].sum()),
            "activation_rate": group["is_activated"].mean(),
            "activation_ttfv_median_hours": ttfv.median() if len(ttfv) else None,
        }
    rows = [[None if value == "" else value for value in row] for row in rows]
    assert_rows_equal(columns, rows, ["metric_time__month", "user__plan_tier"], expected, "mf query by month")


def test_mf_saved_query_gives_the_kpi_table(demo, marts, tmp_path):
    output = tmp_path / "kpis.csv"
    run_mf(demo, "query", "--saved-query", "activation_kpi_dashboard", "--csv", str(output), "--quiet")
    columns, rows = read_csv(output)
    rows = [[None if value == "" else value for value in row] for row in rows]
    expected = keyed(marts["activation_kpis"], ["period_start", "kpi_name"],
                     {"activation_kpi_value": "value", "activation_kpi_target": "target_value"})
    assert_rows_equal(columns, rows, ["metric_time__week", "kpi__kpi_name"], expected, "saved query")


def _parse(demo, target: Path, vars: dict) -> subprocess.Popen:
    return subprocess.Popen([DBT, "parse", "--target-path", str(target), "--vars", json.dumps(vars)],
                            cwd=demo.project, env=demo.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def test_semantic_layer_and_exposures_parse_with_optional_modules_off_and_layer_absent_when_off(demo, tmp_path):
    modules_off = {"activation_semantic_layer_enabled": True, "activation_statistics_enabled": False,
                   "activation_pql_enabled": False, "activation_experiments_enabled": False}
    runs = {"modules_off": _parse(demo, tmp_path / "modules_off", modules_off),
            "layer_off": _parse(demo, tmp_path / "layer_off", {})}
    for name, process in runs.items():
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, f"dbt parse ({name}) failed:\n{output[-4000:]}"

    manifest = json.loads((tmp_path / "modules_off" / "semantic_manifest.json").read_text())
    models = {model["name"] for model in manifest["semantic_models"]}
    metrics = {metric["name"] for metric in manifest["metrics"]}
    assert "activation_pql_score_history" not in models and "activation_pql_handoffs" not in models
    assert not {"activation_pql_users", "activation_pql_handoffs"} & metrics
    assert {"activation_users", "activation_kpis", "activation_retention"} <= models
    assert "activation_rate" in metrics and manifest["saved_queries"]

    # the dashboard's exposures follow the modules too
    exposures = json.loads((tmp_path / "modules_off" / "manifest.json").read_text())["exposures"]
    assert {exposure["name"] for exposure in exposures.values()} == {"activation_dashboard"}

    off = json.loads((tmp_path / "layer_off" / "manifest.json").read_text())
    assert not off["semantic_models"] and not off["metrics"] and not off["saved_queries"]
    assert not [node for node in off["nodes"].values() if node["name"] == "activation_time_spine"]
    assert {exposure["name"] for exposure in off["exposures"].values()} == {
        "activation_dashboard", "activation_dashboard_survival", "activation_dashboard_pql",
        "activation_dashboard_experiments"}
