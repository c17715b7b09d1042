{#- A double-precision float type. dbt's `type_float()` is single precision on DuckDB
    (FLOAT = REAL), which turns a weight of 0.7 into 0.69999998 and moves users
    across band boundaries. -#}
{% macro activation_type_double() -%}
    {{ return(adapter.dispatch('activation_type_double', 'milestone_activation')()) }}
{%- endmacro %}

{% macro default__activation_type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__activation_type_double() -%}
    double
{%- endmacro %}

{% macro spark__activation_type_double() -%}
    double
{%- endmacro %}
