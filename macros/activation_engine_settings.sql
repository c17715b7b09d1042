{#- Run-start hook (dbt_project.yml `on-run-start`): on DuckDB, applies the vars
    `activation_duckdb_memory_limit` (e.g. '8GB') and `activation_duckdb_threads` to
    the database before any model runs, so a build over a large events table stays
    within a memory budget (DuckDB spills to its temp directory beyond it). Null vars
    (the default) leave DuckDB's own settings; other engines ignore both. -#}
{% macro activation_engine_settings() -%}
    {{ return(adapter.dispatch('activation_engine_settings', 'milestone_activation')()) }}
{%- endmacro %}

{% macro default__activation_engine_settings() -%}
{%- endmacro %}

{% macro duckdb__activation_engine_settings() -%}
    {%- set memory_limit = var('activation_duckdb_memory_limit', none) -%}
    {%- set threads = var('activation_duckdb_threads', none) -%}
    {%- if memory_limit is not none and not modules.re.fullmatch('[0-9]+([.][0-9]+)? ?[KMGT]i?B', memory_limit | string) -%}
        {{ exceptions.raise_compiler_error(
            "milestone_activation: activation_duckdb_memory_limit = '" ~ memory_limit
            ~ "' is not a size. Fix: give a number and a unit, such as '8GB' or '512MiB'."
        ) }}
    {%- endif -%}
    {%- if threads is not none and not modules.re.fullmatch('[1-9][0-9]*', threads | string) -%}
        {{ exceptions.raise_compiler_error(
            "milestone_activation: activation_duckdb_threads = '" ~ threads
            ~ "' is not a positive whole number. Fix: give the number of threads, such as 2."
        ) }}
    {%- endif -%}
    {%- if memory_limit is not none %}
    set global memory_limit = '{{ memory_limit }}';
    {%- endif %}
    {%- if threads is not none %}
    set global threads = {{ threads }};
    {%- endif %}
{%- endmacro %}
