{#- Exact seconds (with fraction) from `start_expr` to `end_expr`; both timestamps. -#}
{% macro activation_seconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('activation_seconds_between', 'milestone_activation')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__activation_seconds_between(start_expr, end_expr) -%}
    extract(epoch from ({{ end_expr }} - {{ start_expr }}))
{%- endmacro %}

{% macro duckdb__activation_seconds_between(start_expr, end_expr) -%}
    (epoch_us({{ end_expr }}) - epoch_us({{ start_expr }})) / 1000000.0
{%- endmacro %}

{% macro postgres__activation_seconds_between(start_expr, end_expr) -%}
    {#- The interval's epoch is exact (numeric); cast to double as on DuckDB, so the
        marts' column types are the same on both engines. -#}
    cast(extract(epoch from ({{ end_expr }} - {{ start_expr }})) as double precision)
{%- endmacro %}

{% macro spark__activation_seconds_between(start_expr, end_expr) -%}
    cast(unix_micros({{ end_expr }}) - unix_micros({{ start_expr }}) as double) / 1000000
{%- endmacro %}
