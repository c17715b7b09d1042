"""The milestone_activation dashboard (Streamlit): the marts as charts and tables.

    make dashboard     # on the demo build (demo/activation.duckdb)
    streamlit run dashboard/app.py -- [--profiles-dir DIR] [--target NAME] [--schema NAME]

Reads the marts of any target of your dbt profile (see connection.py). Pages: KPIs,
funnel, cohorts, survival, PQL, experiments, data quality. Every table is plain HTML
(`table.activation-table`, one `data-col` per cell) so what it shows can be read back.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from connection import Marts, parse_settings  # noqa: E402

st.set_page_config(page_title="Activation dashboard", layout="wide")

RATE_KPIS = {"activation_rate", "milestone_completion_rate", "conversion_rate_activated",
             "retention_d7", "retention_d30", "pql_conversion_rate"}
HOUR_KPIS = {"ttfv_median_hours", "ttfv_mean_hours", "milestone_velocity_hours"}
DASH = "–"


# --- formatting (the browser test formats the marts' values the same way) --------------
def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def fmt_rate(value) -> str:
    return DASH if is_missing(value) else f"{float(value) * 100:.1f}%"


def fmt_count(value) -> str:
    return DASH if is_missing(value) else f"{int(value):,}"


def fmt_number(value, digits=2, unit="") -> str:
    return DASH if is_missing(value) else f"{float(value):.{digits}f}{unit}"


def fmt_signed(value, digits=1, unit="") -> str:
    return DASH if is_missing(value) else f"{float(value):+.{digits}f}{unit}"


def fmt_p(value) -> str:
    if is_missing(value):
        return DASH
    return "<0.0001" if float(value) < 0.0001 else f"{float(value):.4f}"


def fmt_kpi(kpi_name: str, value) -> str:
    if kpi_name in RATE_KPIS:
        return fmt_rate(value)
    if kpi_name in HOUR_KPIS:
        return fmt_number(value, 1, " h")
    return fmt_number(value, 2)


def fmt_kpi_change(kpi_name: str, value) -> str:
    if kpi_name in RATE_KPIS:
        return DASH if is_missing(value) else fmt_signed(float(value) * 100, 1, " pts")
    if kpi_name in HOUR_KPIS:
        return fmt_signed(value, 1, " h")
    return fmt_signed(value, 2)


def html_table(frame: pd.DataFrame, table_id: str) -> None:
    """Render a frame of texts as an HTML table whose cells name their column."""
    header = "".join(f"<th>{html.escape(str(name))}</th>" for name in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(
            f'<td data-col="{html.escape(str(name))}">{html.escape(str(value))}</td>'
            for name, value in row.items())
        rows.append(f"<tr>{cells}</tr>")
    st.html(
        "<style>.activation-table{border-collapse:collapse;font-size:0.9rem;margin-bottom:1rem}"
        ".activation-table th,.activation-table td{border-bottom:1px solid #ddd;padding:4px 10px;"
        "text-align:right}.activation-table th:first-child,.activation-table td:first-child"
        "{text-align:left}</style>"
        f'<table class="activation-table" id="{table_id}"><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>")


# --- data --------------------------------------------------------------------------------
@st.cache_resource
def marts() -> Marts:
    return Marts(parse_settings(sys.argv[1:]))


@st.cache_data(ttl=300, show_spinner=False)
def read(sql: str) -> pd.DataFrame:
    return marts().read(sql)


@st.cache_data(ttl=300, show_spinner=False)
def has_table(name: str) -> bool:
    return marts().table_exists(name)


def module_off(table: str, flag: str) -> bool:
    if has_table(table):
        return False
    st.info(f"`{table}` is not built: its module is off (var `{flag}`).")
    return True


def page_done(name: str) -> None:
    """A marker the browser test waits for: the page's script ran to its end."""
    st.html(f'<div class="activation-page-done" data-page="{name}"></div>')


# --- pages -------------------------------------------------------------------------------
def default_period(kpis: pd.DataFrame):
    """The latest period in which every KPI has a value; else the latest with an activation
    rate; else the latest period."""
    for complete in (kpis.groupby("period_start")["value"].apply(lambda values: values.notna().all()),
                     kpis[kpis["kpi_name"] == "activation_rate"].set_index("period_start")["value"].notna()):
        periods = sorted(complete[complete].index)
        if periods:
            return periods[-1]
    return max(kpis["period_start"])


def kpis_page() -> None:
    st.title("Activation KPIs")
    # the top status band is the one of the highest score (band names come from a var)
    top_status = read("""
        select status from {marts}.activation_users
        order by activation_score desc, user_id
        limit 1
    """)["status"]
    top_status = top_status.iloc[0] if len(top_status) else ""
    users = read(f"""
        select
            count(*) as users,
            avg(case when is_activated then 1.0 else 0.0 end) as activation_rate,
            avg(case when status = '{top_status.replace("'", "''")}' then 1.0 else 0.0 end) as top_share,
            max(as_of) as as_of
        from {{marts}}.activation_users
    """).iloc[0]
    ttfv = read("""
        select time_to_first_value_hours from {marts}.activation_users
        where time_to_first_value_hours is not null
    """)["time_to_first_value_hours"]
    st.caption(f"As of {pd.Timestamp(users['as_of']):%Y-%m-%d %H:%M} UTC. {marts().description}.")
    columns = st.columns(4)
    columns[0].metric("Users", fmt_count(users["users"]))
    columns[1].metric("Activated", fmt_rate(users["activation_rate"]))
    columns[2].metric(f"Status {top_status}", fmt_rate(users["top_share"]))
    columns[3].metric("Median hours to first value", fmt_number(ttfv.median() if len(ttfv) else None, 1))

    kpis = read("""
        select period_start, kpi_name, kpi_label, value, target_value, direction,
               previous_value, change_from_previous, status
        from {marts}.activation_kpis
        order by period_start, kpi_name
    """)
    kpis["period_start"] = pd.to_datetime(kpis["period_start"]).dt.date
    periods = sorted(kpis["period_start"].unique())
    default = default_period(kpis)
    period = st.selectbox("Period", periods, index=periods.index(default),
                          help="Default: the latest period in which every KPI has a value (young "
                               "users are censored, so recent periods have no rates yet).")
    st.subheader(f"KPI table, period starting {period}")
    current = kpis[kpis["period_start"] == period].sort_values("kpi_label")
    html_table(pd.DataFrame({
        "KPI": current["kpi_label"],
        "Value": [fmt_kpi(k, v) for k, v in zip(current["kpi_name"], current["value"])],
        "Target": [fmt_kpi(k, v) for k, v in zip(current["kpi_name"], current["target_value"])],
        "Change": [fmt_kpi_change(k, v) for k, v in zip(current["kpi_name"], current["change_from_previous"])],
        "Status": [DASH if is_missing(s) else s.replace("_", " ") for s in current["status"]],
    }), "kpi-table")

    st.subheader("KPIs over time, against their targets")
    history = kpis.dropna(subset=["value"]).copy()
    history["period_start"] = pd.to_datetime(history["period_start"])
    line = alt.Chart().mark_line(point=True).encode(
        x=alt.X("period_start:T", title=None), y=alt.Y("value:Q", title=None))
    target = alt.Chart().mark_rule(strokeDash=[4, 4], color="#d62728").encode(y="target_value:Q")
    chart = alt.layer(line, target, data=history).properties(width=250, height=130).facet(
        facet=alt.Facet("kpi_label:N", title=None), columns=3).resolve_scale(y="independent")
    st.altair_chart(chart)
    page_done("kpis")


def funnel_page() -> None:
    st.title("Funnel by channel")
    dimensions = read("select distinct breakdown_dimension from {marts}.activation_funnel")["breakdown_dimension"]
    options = sorted(dimensions)
    dimension = st.selectbox("Breakdown", options,
                             index=options.index("install_source") if "install_source" in options else 0)
    funnel = read(f"""
        select breakdown_value, step_number, milestone_id,
               sum(eligible_users) as eligible_users,
               sum(in_progress_users) as in_progress_users,
               sum(completed_users) as completed_users
        from {{marts}}.activation_funnel
        where breakdown_dimension = '{dimension.replace("'", "''")}'
        group by breakdown_value, step_number, milestone_id
        order by breakdown_value, step_number
    """)
    funnel["breakdown_value"] = funnel["breakdown_value"].fillna("(none)")
    funnel["conversion_from_start"] = funnel["completed_users"] / funnel["eligible_users"].where(
        funnel["eligible_users"] > 0)
    st.caption("Users whose longest step window has closed, summed over signup cohorts; users still "
               "inside a window are in progress, not drop-offs.")
    funnel["step"] = funnel["step_number"].astype(int).astype(str) + ". " + funnel["milestone_id"]
    chart = alt.Chart(funnel).mark_bar().encode(
        x=alt.X("step:N", title=None, sort=None),
        xOffset=alt.XOffset("breakdown_value:N"),
        y=alt.Y("conversion_from_start:Q", title="reached, share of eligible users",
                axis=alt.Axis(format="%")),
        color=alt.Color("breakdown_value:N", title=dimension),
        tooltip=["breakdown_value", "step", "completed_users", "eligible_users",
                 alt.Tooltip("conversion_from_start:Q", format=".1%")],
    ).properties(height=360)
    st.altair_chart(chart, use_container_width=True)
    html_table(pd.DataFrame({
        dimension: funnel["breakdown_value"],
        "Step": funnel["step"],
        "Eligible": funnel["eligible_users"].map(fmt_count),
        "Reached": funnel["completed_users"].map(fmt_count),
        "Conversion from start": funnel["conversion_from_start"].map(fmt_rate),
        "In progress": funnel["in_progress_users"].map(fmt_count),
    }), "funnel-table")
    page_done("funnel")


def cohorts_page() -> None:
    st.title("Cohort completion")
    windows = list(read("select distinct window_name from {marts}.activation_cohort_completion")["window_name"])
    order = [name for name in ("timeframe", "d0", "d7", "d30") if name in windows]
    window = st.selectbox("Window", order, help="timeframe: each milestone's own; d0/d7/d30: days after signup")
    cohorts = read(f"""
        select cohort_date, milestone_id, milestone_level, eligible_users, completed_users, completion_rate
        from {{marts}}.activation_cohort_completion
        where window_name = '{window}'
        order by cohort_date, milestone_level
    """)
    cohorts["cohort_date"] = pd.to_datetime(cohorts["cohort_date"]).dt.date
    cohorts["cohort"] = cohorts["cohort_date"].astype(str)
    milestones = list(cohorts.sort_values("milestone_level")["milestone_id"].drop_duplicates())
    heatmap = alt.Chart(cohorts).mark_rect().encode(
        x=alt.X("milestone_id:N", sort=milestones, title=None),
        y=alt.Y("cohort:O", title="signup cohort"),
        color=alt.Color("completion_rate:Q", title="completed", scale=alt.Scale(scheme="blues"),
                        legend=alt.Legend(format="%")),
        tooltip=["cohort", "milestone_id", "eligible_users", "completed_users",
                 alt.Tooltip("completion_rate:Q", format=".1%")],
    ).properties(height=28 * max(cohorts["cohort"].nunique(), 1))
    st.caption("Censored: a cohort's rate counts only users whose window has closed; blank cells "
               "have no such users yet.")
    st.altair_chart(heatmap, use_container_width=True)
    pivot = cohorts.pivot(index="cohort", columns="milestone_id", values="completion_rate")[milestones]
    table = pd.DataFrame({"Cohort": pivot.index})
    for milestone in milestones:
        table[milestone] = [fmt_rate(value) for value in pivot[milestone]]
    html_table(table, "cohort-table")
    page_done("cohorts")


def survival_page() -> None:
    st.title("Time to milestone (Kaplan–Meier)")
    if module_off("activation_time_to_milestone", "activation_statistics_enabled"):
        page_done("survival")
        return
    summary = read("""
        select milestone_id, segment_dimension, segment_value, users, reached_users, censored_users,
               median_days, median_null_reason, is_included
        from {marts}.activation_time_to_milestone_summary
    """)
    milestones = sorted(summary["milestone_id"].unique())
    dimensions = sorted(summary["segment_dimension"].unique())
    left, right = st.columns(2)
    milestone = left.selectbox("Milestone", milestones,
                               index=milestones.index("first_value") if "first_value" in milestones else 0)
    dimension = right.selectbox("Segment", dimensions,
                                index=dimensions.index("install_source") if "install_source" in dimensions else 0)
    quote = lambda text: text.replace("'", "''")  # noqa: E731
    curves = read(f"""
        select segment_value, day, survival, survival_ci_lower, survival_ci_upper
        from {{marts}}.activation_time_to_milestone
        where milestone_id = '{quote(milestone)}' and segment_dimension = '{quote(dimension)}'
        order by segment_value, day
    """)
    curves["reached"] = 1 - curves["survival"]
    band = alt.Chart(curves).mark_area(opacity=0.15).encode(
        x=alt.X("day:Q", title="days since signup"),
        y=alt.Y("survival_ci_lower:Q", title="not yet reached (survival)", scale=alt.Scale(domain=[0, 1])),
        y2="survival_ci_upper:Q", color=alt.Color("segment_value:N", title=dimension))
    line = alt.Chart(curves).mark_line(interpolate="step-after").encode(
        x="day:Q", y="survival:Q", color="segment_value:N",
        tooltip=["segment_value", "day", alt.Tooltip("survival:Q", format=".3f")])
    st.altair_chart((band + line).properties(height=380), use_container_width=True)
    tests = read(f"""
        select chi_square, degrees_of_freedom, p_value, null_reason
        from {{marts}}.activation_time_to_milestone_tests
        where milestone_id = '{quote(milestone)}' and segment_dimension = '{quote(dimension)}'
    """)
    if len(tests):
        test = tests.iloc[0]
        st.markdown(f"Log-rank test between {dimension} values: p-value **{fmt_p(test['p_value'])}**"
                    + (f" ({test['null_reason']})" if not is_missing(test["null_reason"]) else ""))
    rows = summary[(summary["milestone_id"] == milestone) & (summary["segment_dimension"] == dimension)]
    rows = rows.sort_values("segment_value")
    html_table(pd.DataFrame({
        dimension: rows["segment_value"],
        "Users": rows["users"].map(fmt_count),
        "Reached": rows["reached_users"].map(fmt_count),
        "Censored": rows["censored_users"].map(fmt_count),
        "Median days": [fmt_number(value, 1) if not is_missing(value) else (reason or DASH).replace("_", " ")
                        for value, reason in zip(rows["median_days"], rows["median_null_reason"])],
    }), "survival-table")
    page_done("survival")


def pql_page() -> None:
    st.title("PQL queue and hand-offs")
    if module_off("activation_pql_score_history", "activation_pql_enabled"):
        page_done("pql")
        return
    current = read("""
        select pql_band, count(*) as users, avg(pql_score) as mean_score
        from {marts}.activation_pql_score_history
        where is_current
        group by pql_band
    """)
    handoffs = read("""
        select to_band, count(*) as handoffs
        from {marts}.activation_pql_handoffs
        group by to_band
    """)
    bands = current.merge(handoffs, how="outer", left_on="pql_band", right_on="to_band")
    bands["band"] = bands["pql_band"].fillna(bands["to_band"])
    bands = bands.sort_values("mean_score", na_position="first")
    left, right = st.columns(2)
    left.subheader("Users by current band")
    left.altair_chart(alt.Chart(bands).mark_bar().encode(
        x=alt.X("users:Q", title="users"), y=alt.Y("band:N", sort=list(bands["band"]), title=None),
        tooltip=["band", "users"]).properties(height=160), use_container_width=True)
    weekly = read("""
        select crossed_on, to_band from {marts}.activation_pql_handoffs
    """)
    weekly["week"] = pd.to_datetime(weekly["crossed_on"]).dt.to_period("W-SUN").dt.start_time
    weekly = weekly.groupby(["week", "to_band"]).size().reset_index(name="handoffs")
    right.subheader("Hand-offs per week")
    right.altair_chart(alt.Chart(weekly).mark_bar().encode(
        x=alt.X("week:T", title=None), y=alt.Y("handoffs:Q", title="hand-offs"),
        color=alt.Color("to_band:N", title="band crossed into"),
        tooltip=["week", "to_band", "handoffs"]).properties(height=160), use_container_width=True)
    html_table(pd.DataFrame({
        "Band": bands["band"],
        "Users now": bands["users"].map(fmt_count),
        "Hand-offs into the band": bands["handoffs"].map(fmt_count),
    }), "pql-bands-table")
    st.subheader("Queue: top current scores")
    queue = read("""
        select user_id, pql_score, pql_band, pql_action, valid_from
        from {marts}.activation_pql_score_history
        where is_current
        order by pql_score desc, user_id
        limit 20
    """)
    html_table(pd.DataFrame({
        "User": queue["user_id"],
        "Score": queue["pql_score"].map(lambda value: fmt_number(value, 1)),
        "Band": queue["pql_band"],
        "Action": queue["pql_action"].fillna(DASH),
        "Since": pd.to_datetime(queue["valid_from"]).dt.strftime("%Y-%m-%d"),
    }), "pql-queue-table")
    st.subheader("Latest hand-offs (CRM feed)")
    latest = read("""
        select handoff_id, user_id, crossed_at, from_band, to_band, pql_score, days_since_signup
        from {marts}.activation_pql_handoffs
        order by crossed_at desc, handoff_id
        limit 20
    """)
    html_table(pd.DataFrame({
        "Crossed at": pd.to_datetime(latest["crossed_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        "User": latest["user_id"],
        "From": latest["from_band"].fillna(DASH),
        "To": latest["to_band"],
        "Score": latest["pql_score"].map(lambda value: fmt_number(value, 1)),
        "Days since signup": latest["days_since_signup"].map(lambda value: fmt_number(value, 1)),
    }), "pql-handoffs-table")
    page_done("pql")


def experiments_page() -> None:
    st.title("Experiment readout")
    if module_off("activation_experiment_results", "activation_experiments_enabled` and "
                  "`activation_statistics_enabled"):
        page_done("experiments")
        return
    experiments = read("""
        select experiment_id, variants, exposed_users, users_multiple_variants, srm_p_value, srm_null_reason
        from {marts}.activation_experiments
        order by experiment_id
    """)
    results = read("""
        select experiment_id, variant, metric, is_control, users, converted_users, conversion_rate,
               uplift_abs, uplift_abs_ci_lower, uplift_abs_ci_upper, p_value, null_reason
        from {marts}.activation_experiment_results
        order by experiment_id, metric, is_control desc, variant
    """)
    if experiments.empty:
        st.info("No experiment exposures in the data.")
        page_done("experiments")
        return
    html_table(pd.DataFrame({
        "Experiment": experiments["experiment_id"],
        "Variants": experiments["variants"].map(fmt_count),
        "Exposed users": experiments["exposed_users"].map(fmt_count),
        "In several variants": experiments["users_multiple_variants"].map(fmt_count),
        "Sample-ratio p-value": experiments["srm_p_value"].map(fmt_p),
    }), "experiments-table")
    treated = results[~results["is_control"].astype(bool)].copy()
    treated["label"] = treated["experiment_id"] + " · " + treated["variant"] + " · " + treated["metric"]
    points = alt.Chart(treated).mark_point(filled=True, size=80).encode(
        x=alt.X("uplift_abs:Q", title="absolute uplift vs control (95% interval)", axis=alt.Axis(format="%")),
        y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=400)),
        tooltip=["label", alt.Tooltip("uplift_abs:Q", format=".2%"), alt.Tooltip("p_value:Q", format=".4f")])
    bars = alt.Chart(treated).mark_rule().encode(x="uplift_abs_ci_lower:Q", x2="uplift_abs_ci_upper:Q",
                                                 y="label:N")
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#888", strokeDash=[3, 3]).encode(x="x:Q")
    st.altair_chart((bars + points + zero).properties(height=60 + 40 * len(treated)), use_container_width=True)
    html_table(pd.DataFrame({
        "Experiment": results["experiment_id"],
        "Metric": results["metric"],
        "Variant": results["variant"],
        "Users": results["users"].map(fmt_count),
        "Converted": results["converted_users"].map(fmt_count),
        "Rate": results["conversion_rate"].map(fmt_rate),
        "Uplift": [DASH if is_missing(value) else fmt_signed(value * 100, 2, " pts") for value in results["uplift_abs"]],
        "p-value": results["p_value"].map(fmt_p),
    }), "experiment-results-table")
    page_done("experiments")


def data_quality_page() -> None:
    st.title("Data quality")
    quality = read("""
        select table_name, source_relation, outcome, reason, row_count
        from {marts}.activation_data_quality
        order by table_name, source_relation, outcome, reason
    """)
    quality["reason"] = quality["reason"].fillna("")
    # With several events tables (var activation_event_relations) each has its rows.
    quality["table"] = [table if not source else f"{table} ({source})"
                        for table, source in zip(quality["table_name"], quality["source_relation"].fillna(""))]
    quality["label"] = quality["outcome"] + quality["reason"].map(lambda reason: f": {reason}" if reason else "")
    st.caption("Where every raw row went: staged, quarantined (by reason) or removed as a duplicate.")
    chart = alt.Chart(quality[quality["outcome"] != "staged"]).mark_bar().encode(
        x=alt.X("row_count:Q", title="rows"), y=alt.Y("label:N", title=None, sort="-x"),
        color=alt.Color("table:N", title="table"), tooltip=["table", "label", "row_count"],
    ).properties(height=260)
    st.altair_chart(chart, use_container_width=True)
    html_table(pd.DataFrame({
        "Table": quality["table"],
        "Outcome": quality["outcome"],
        "Reason": quality["reason"].map(lambda reason: reason or DASH),
        "Rows": quality["row_count"].map(fmt_count),
    }), "data-quality-table")
    totals = quality.groupby("table", sort=False)["row_count"].sum()
    html_table(pd.DataFrame({"Table": totals.index, "Raw rows": totals.map(fmt_count).values}),
               "data-quality-totals-table")
    page_done("data-quality")


PAGES = [
    st.Page(kpis_page, title="KPIs", url_path="kpis", default=True),
    st.Page(funnel_page, title="Funnel", url_path="funnel"),
    st.Page(cohorts_page, title="Cohorts", url_path="cohorts"),
    st.Page(survival_page, title="Survival", url_path="survival"),
    st.Page(pql_page, title="PQL", url_path="pql"),
    st.Page(experiments_page, title="Experiments", url_path="experiments"),
    st.Page(data_quality_page, title="Data quality", url_path="data-quality"),
]

st.navigation(PAGES).run()
