"""The dashboard in a real browser: the test starts `streamlit run dashboard/app.py` on the
demo build, opens every page in Debian's headless Chromium, checks that each renders to its
end without an exception or a browser console error and that its charts drew, reads the
numbers of its tables and metrics from the DOM and compares them with values computed here
from the mart tables, and saves a screenshot per page (ACTIVATION_BI_ARTIFACTS).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import Browser

ROOT = Path(__file__).resolve().parents[2]
STREAMLIT = str(Path(sys.executable).with_name("streamlit"))
DASH = "–"
PAGES = ["kpis", "funnel", "cohorts", "survival", "pql", "experiments", "data-quality"]


# --- formats, as the page should show the marts' values ---------------------------------
def rate(value) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def count(value) -> str:
    return DASH if value is None else f"{int(value):,}"


def number(value, digits=2, unit="") -> str:
    return DASH if value is None else f"{value:.{digits}f}{unit}"


def signed(value, digits=1, unit="") -> str:
    return DASH if value is None else f"{value:+.{digits}f}{unit}"


def p_value(value) -> str:
    return DASH if value is None else ("<0.0001" if value < 0.0001 else f"{value:.4f}")


KPI_UNITS = {"activation_rate": "rate", "milestone_completion_rate": "rate", "conversion_rate_activated": "rate",
             "retention_d7": "rate", "retention_d30": "rate", "pql_conversion_rate": "rate",
             "ttfv_median_hours": "hours", "ttfv_mean_hours": "hours", "milestone_velocity_hours": "hours",
             "viral_coefficient": "number"}


def kpi_text(name, value) -> str:
    unit = KPI_UNITS[name]
    return rate(value) if unit == "rate" else number(value, 1, " h") if unit == "hours" else number(value, 2)


def kpi_change_text(name, value) -> str:
    unit = KPI_UNITS[name]
    if value is None:
        return DASH
    return signed(value * 100, 1, " pts") if unit == "rate" else signed(value, 1, " h") if unit == "hours" \
        else signed(value, 2)


# --- the app -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app(demo, artifacts):
    port = free_port()
    log = (artifacts / "streamlit.log").open("w")
    process = subprocess.Popen(
        [STREAMLIT, "run", str(ROOT / "dashboard" / "app.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
         "--", "--profiles-dir", str(demo.profiles_dir), "--target", "duckdb"],
        cwd=ROOT, env=dict(demo.env, STREAMLIT_SERVER_HEADLESS="true"), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # Generous: in `make test` the lint and the benchmark load both cores meanwhile.
        start_up_seconds = 180
        deadline = time.monotonic() + start_up_seconds
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            assert process.poll() is None, f"streamlit exited: {(artifacts / 'streamlit.log').read_text()}"
            assert time.monotonic() < deadline, f"streamlit did not answer within {start_up_seconds} s"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def rendered(app, artifacts):
    """Every page opened in headless Chromium: its tables and metrics as read from the DOM."""
    pages = {}
    with Browser() as browser:
        for page in PAGES:
            browser.open(f"{app}/" if page == "kpis" else f"{app}/{page}")
            browser.wait_for(
                f"document.querySelector('.activation-page-done[data-page=\"{page}\"]') !== null"
                " || document.querySelector('[data-testid=\"stException\"]') !== null",
                timeout=120, what=f"page {page} to finish")
            # every chart drawn (vega-embed puts a canvas or svg in its container)
            browser.wait_for(
                "Array.from(document.querySelectorAll('.vega-embed'))"
                ".every(e => e.querySelector('canvas, svg') !== null)", timeout=60, what=f"charts of {page}")
            browser.screenshot(artifacts / f"dashboard_{page}.png")
            pages[page] = browser.evaluate("""(() => ({
                exceptions: Array.from(document.querySelectorAll('[data-testid="stException"]')).map(e => e.innerText),
                errors: Array.from(document.querySelectorAll('[data-testid="stAlertContentError"]')).map(e => e.innerText),
                charts: document.querySelectorAll('.vega-embed').length,
                title: (document.querySelector('h1') || {}).innerText,
                metrics: Object.fromEntries(Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
                    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])),
                tables: Object.fromEntries(Array.from(document.querySelectorAll('table.activation-table')).map(t => [
                    t.id, Array.from(t.querySelectorAll('tbody tr')).map(r => Object.fromEntries(
                        Array.from(r.querySelectorAll('td')).map(c => [c.dataset.col, c.innerText.trim()])))])),
            }))()""")
            pages[page]["console_errors"] = list(browser.console_errors)
    return pages


def query(demo, sql):
    rows = demo.query(sql)
    return [{key: (None if value != value else value) if isinstance(value, float) else value
             for key, value in row.items()} for row in rows]


# --- the checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_errors_and_draws_its_charts(rendered, artifacts, page):
    shown = rendered[page]
    assert not shown["exceptions"], shown["exceptions"]
    assert not shown["errors"], shown["errors"]
    assert not shown["console_errors"], shown["console_errors"]
    assert shown["charts"] >= 1, f"{page}: no chart"
    assert shown["tables"], f"{page}: no table"
    assert (artifacts / f"dashboard_{page}.png").stat().st_size > 10_000


def test_kpi_page_shows_the_marts_numbers(rendered, demo):
    shown = rendered["kpis"]
    users = query(demo, """
        select count(*) as users, avg(case when is_activated then 1.0 else 0.0 end) as activated,
               avg(case when status = 'pql' then 1.0 else 0.0 end) as pql,
               median(time_to_first_value_hours) as ttfv
        from main_activation.activation_users""")[0]
    assert shown["metrics"] == {"Users": count(users["users"]), "Activated": rate(users["activated"]),
                                "Status pql": rate(users["pql"]),
                                "Median hours to first value": number(users["ttfv"], 1)}
    period = query(demo, """
        select max(period_start) as period_start from (
            select period_start from main_activation.activation_kpis
            group by period_start having count(value) = count(*)) as complete""")[0]["period_start"]
    rows = query(demo, f"""
        select kpi_name, kpi_label, value, target_value, change_from_previous, status
        from main_activation.activation_kpis where period_start = '{period}'""")
    expected = sorted(({"KPI": row["kpi_label"], "Value": kpi_text(row["kpi_name"], row["value"]),
                        "Target": kpi_text(row["kpi_name"], row["target_value"]),
                        "Change": kpi_change_text(row["kpi_name"], row["change_from_previous"]),
                        "Status": DASH if row["status"] is None else row["status"].replace("_", " ")}
                       for row in rows), key=lambda row: row["KPI"])
    assert len(expected) == 10
    assert shown["tables"]["kpi-table"] == expected


def test_funnel_page_shows_the_marts_numbers(rendered, demo):
    rows = query(demo, """
        select breakdown_value, step_number, milestone_id, sum(eligible_users) as eligible,
               sum(completed_users) as completed, sum(in_progress_users) as in_progress
        from main_activation.activation_funnel where breakdown_dimension = 'install_source'
        group by breakdown_value, step_number, milestone_id
        order by breakdown_value, step_number""")
    expected = [{"install_source": row["breakdown_value"] or "(none)", "Step": f"{row['step_number']}. {row['milestone_id']}",
                 "Eligible": count(row["eligible"]), "Reached": count(row["completed"]),
                 "Conversion from start": rate(row["completed"] / row["eligible"] if row["eligible"] else None),
                 "In progress": count(row["in_progress"])} for row in rows]
    assert len(expected) > 5
    assert rendered["funnel"]["tables"]["funnel-table"] == expected


def test_cohort_page_shows_the_marts_numbers(rendered, demo):
    rows = query(demo, """
        select cast(cohort_date as varchar) as cohort, milestone_id, completion_rate
        from main_activation.activation_cohort_completion where window_name = 'timeframe'""")
    shown = rendered["cohorts"]["tables"]["cohort-table"]
    cells = {(row["Cohort"], milestone): text for row in shown for milestone, text in row.items()
             if milestone != "Cohort"}
    assert cells == {(row["cohort"], row["milestone_id"]): rate(row["completion_rate"]) for row in rows}


def test_survival_page_shows_the_marts_numbers(rendered, demo):
    rows = query(demo, """
        select segment_value, users, reached_users, censored_users, median_days, median_null_reason
        from main_activation.activation_time_to_milestone_summary
        where milestone_id = 'first_value' and segment_dimension = 'install_source'
        order by segment_value""")
    expected = [{"install_source": row["segment_value"], "Users": count(row["users"]),
                 "Reached": count(row["reached_users"]), "Censored": count(row["censored_users"]),
                 "Median days": number(row["median_days"], 1) if row["median_days"] is not None
                 else (row["median_null_reason"] or DASH).replace("_", " ")} for row in rows]
    assert len(expected) > 1
    assert rendered["survival"]["tables"]["survival-table"] == expected


def test_pql_page_shows_the_marts_numbers(rendered, demo):
    current = {row["pql_band"]: row["users"] for row in query(demo, """
        select pql_band, count(*) as users from main_activation.activation_pql_score_history
        where is_current group by pql_band""")}
    handoffs = {row["to_band"]: row["n"] for row in query(demo, """
        select to_band, count(*) as n from main_activation.activation_pql_handoffs group by to_band""")}
    shown = {row["Band"]: row for row in rendered["pql"]["tables"]["pql-bands-table"]}
    assert set(shown) == set(current) | set(handoffs)
    for band, row in shown.items():
        assert row["Users now"] == count(current.get(band)), band
        assert row["Hand-offs into the band"] == count(handoffs.get(band)), band
    queue = query(demo, """
        select user_id, pql_score, pql_band from main_activation.activation_pql_score_history
        where is_current order by pql_score desc, user_id limit 20""")
    assert [(row["User"], row["Score"], row["Band"]) for row in rendered["pql"]["tables"]["pql-queue-table"]] == [
        (row["user_id"], number(row["pql_score"], 1), row["pql_band"]) for row in queue]


def test_experiment_page_shows_the_marts_numbers(rendered, demo):
    experiments = query(demo, """
        select experiment_id, variants, exposed_users, users_multiple_variants, srm_p_value
        from main_activation.activation_experiments order by experiment_id""")
    assert rendered["experiments"]["tables"]["experiments-table"] == [
        {"Experiment": row["experiment_id"], "Variants": count(row["variants"]),
         "Exposed users": count(row["exposed_users"]), "In several variants": count(row["users_multiple_variants"]),
         "Sample-ratio p-value": p_value(row["srm_p_value"])} for row in experiments]
    results = query(demo, """
        select experiment_id, metric, variant, users, converted_users, conversion_rate, uplift_abs, p_value
        from main_activation.activation_experiment_results
        order by experiment_id, metric, is_control desc, variant""")
    assert rendered["experiments"]["tables"]["experiment-results-table"] == [
        {"Experiment": row["experiment_id"], "Metric": row["metric"], "Variant": row["variant"],
         "Users": count(row["users"]), "Converted": count(row["converted_users"]),
         "Rate": rate(row["conversion_rate"]),
         "Uplift": DASH if row["uplift_abs"] is None else signed(row["uplift_abs"] * 100, 2, " pts"),
         "p-value": p_value(row["p_value"])} for row in results]


def test_data_quality_page_shows_the_marts_numbers(rendered, demo):
    def table(row):
        return row["table_name"] + (f" ({row['source_relation']})" if row["source_relation"] else "")

    rows = query(demo, """
        select table_name, source_relation, outcome, coalesce(reason, '') as reason, row_count
        from main_activation.activation_data_quality order by table_name, source_relation, outcome, reason""")
    assert rendered["data-quality"]["tables"]["data-quality-table"] == [
        {"Table": table(row), "Outcome": row["outcome"], "Reason": row["reason"] or DASH,
         "Rows": count(row["row_count"])} for row in rows]
    totals = query(demo, """
        select table_name, source_relation, sum(row_count) as n from main_activation.activation_data_quality
        group by table_name, source_relation order by table_name, source_relation""")
    assert rendered["data-quality"]["tables"]["data-quality-totals-table"] == [
        {"Table": table(row), "Raw rows": count(row["n"])} for row in totals]


def test_chromium_comes_from_the_project_script():
    """scripts/chromium.sh is idempotent: with chromium present it installs nothing."""
    completed = subprocess.run(["bash", str(ROOT / "scripts" / "chromium.sh")], capture_output=True, text=True,
                               env=dict(os.environ), timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "installing" not in completed.stdout and "chromium" in completed.stdout.lower()
