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
    {#- Both vars are checked by the var registry (macros/activation_var.sql): a size
        such as '8GB' and a whole number >= 1. -#}
    {%- set memory_limit = activation_var('activation_duckdb_memory_limit') -%}
    {%- set threads = activation_var('activation_duckdb_threads') -%}
    {%- if memory_limit is not none %}
    set global memory_limit = {{ activation_string_literal(memory_limit) }};
    {%- endif %}
    {%- if threads is not none %}
    set global threads = {{ threads }};
    {%- endif %}
{%- endmacro %}
