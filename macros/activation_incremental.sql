{#- Incremental processing by event date.

    The event-grain models (`int_activation__events_classified` and the narrow tables
    built from it) are partitioned by `partition_date`, the event's UTC date. Each run
    rewrites whole partitions from the first date of the reprocessing window onwards,
    so late events inside the window and duplicates arriving in a later batch are
    handled exactly as a full refresh would. The window starts `activation_lookback_days`
    before the latest date already stored. -#}


{#- Model config for an event-date partitioned incremental model. DuckDB and
    PostgreSQL replace the rewritten dates with delete+insert keyed on the partition
    column; Spark (no Delta, so no merge) overwrites the same dates as Parquet
    partitions with insert_overwrite. Both replace exactly the dates present in the
    model's output. -#}
{% macro activation_incremental_config(partition_column='partition_date') -%}
    {{ return(adapter.dispatch('activation_incremental_config', 'milestone_activation')(partition_column)) }}
{%- endmacro %}

{% macro default__activation_incremental_config(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro spark__activation_incremental_config(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [partition_column],
        'file_format': 'parquet',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}


{#- Partition date for rows whose event time could not be parsed: later than any real
    date, so the rows (all quarantined) are re-read from the source on every run. -#}
{% macro activation_unparsed_partition_date() -%}
    date '9999-12-31'
{%- endmacro %}


{#- First date of this run's reprocessing window for `int_activation__events_classified`,
    as 'YYYY-MM-DD', or none when the model is built in full (first run, full refresh,
    or nothing with a usable date stored yet). The window starts
    `activation_lookback_days` days before the latest stored event date, ignoring rows
    quarantined as future_timestamp (their dates are always re-read). -#}
{% macro activation_event_window_start() -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set lookback_days = activation_var('activation_lookback_days') -%}
    {%- set watermark_query -%}
        select max(partition_date) as latest_date
        from {{ this }}
        where event_at is not null and coalesce(quarantine_reason, '') != 'future_timestamp'
    {%- endset -%}
    {%- set latest_date = run_query(watermark_query).columns[0].values()[0] -%}
    {%- if latest_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if latest_date is string -%}
        {%- set latest_date = modules.datetime.date.fromisoformat(latest_date[:10]) -%}
    {%- endif -%}
    {{ return((latest_date - modules.datetime.timedelta(days=lookback_days)).isoformat()) }}
{%- endmacro %}


{#- First date of the reprocessing window for a model built from
    `int_activation__events_classified`: the window of the run that last wrote the
    events (`processed_from_date`), or none to rebuild in full (first run, full
    refresh, events rebuilt in full, or `config_fingerprint` differing from the one the
    stored rows were built with, e.g. after a milestone configuration change). -#}
{% macro activation_processed_window_start(config_fingerprint) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set fingerprint_query -%}
        select count(*) as stale_markers
        from {{ this }}
        where user_id is null and config_fingerprint != {{ activation_string_literal(config_fingerprint) }}
    {%- endset -%}
    {%- if run_query(fingerprint_query).columns[0].values()[0] | int > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set window_query -%}
        select max(processed_from_date) as window_start
        from {{ ref('int_activation__events_classified') }}
    {%- endset -%}
    {%- set window_start = run_query(window_query).columns[0].values()[0] -%}
    {%- if window_start is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return((window_start | string)[:10]) }}
{%- endmacro %}


{#- An md5 of the rows `fingerprint_sql` returns (ordered), or of `extra` alone when
    not executing. Stored on the partition marker rows of a derived incremental model
    so a configuration change rebuilds it in full. -#}
{% macro activation_config_fingerprint(fingerprint_sql=none, extra='', depends_on=none) -%}
    {#- `depends_on`: a relation the query reads; when it is not built yet (a bare
        `dbt compile` or lint on an empty database) the query is skipped. -#}
    {%- set parts = [extra | string] -%}
    {%- set can_query = execute and fingerprint_sql
        and (depends_on is none or load_relation(depends_on) is not none) -%}
    {%- if can_query -%}
        {%- for row in run_query(fingerprint_sql).rows -%}
            {%- do parts.append(row.values() | join('|')) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}
