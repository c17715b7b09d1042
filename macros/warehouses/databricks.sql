{#- Databricks implementations of the package's dispatched macros. Databricks SQL is
    Spark SQL, so most of them are the Spark ones, named here on purpose rather than
    reached by dbt's fallback from `databricks__` to `spark__`. What differs: ANSI
    mode is on by default on Databricks SQL warehouses (a failed cast fails the
    query, so casts that may fail are TRY_CAST), and tables are Delta (delete+insert
    keyed on the event date, as on DuckDB and PostgreSQL). Compile-checked only
    (README, "Engines"). -#}

{% macro databricks__activation_string_literal(text) -%}
    {{ return(spark__activation_string_literal(text)) }}
{%- endmacro %}

{% macro databricks__activation_full_match(expr, pattern) -%}
    {{ return(spark__activation_full_match(expr, pattern)) }}
{%- endmacro %}

{% macro databricks__activation_json_is_valid(expr) -%}
    {{ return(spark__activation_json_is_valid(expr)) }}
{%- endmacro %}

{% macro databricks__activation_json_extract_text(json_expr, key_expr) -%}
    {{ return(spark__activation_json_extract_text(json_expr, key_expr)) }}
{%- endmacro %}

{% macro databricks__activation_parse_timestamp(expr) -%}
    {{ return(spark__activation_parse_timestamp(expr, cast_function='try_cast')) }}
{%- endmacro %}

{% macro databricks__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {{ return(spark__activation_parse_epoch(text_value, pattern, micros, unit)) }}
{%- endmacro %}

{% macro databricks__activation_normalize_name(expr) -%}
    {{ return(spark__activation_normalize_name(expr)) }}
{%- endmacro %}

{% macro databricks__activation_row_hash(expressions) -%}
    {{ return(spark__activation_row_hash(expressions)) }}
{%- endmacro %}

{% macro databricks__activation_seconds_between(start_expr, end_expr) -%}
    {{ return(spark__activation_seconds_between(start_expr, end_expr)) }}
{%- endmacro %}

{% macro databricks__activation_median(expr) -%}
    {{ return(spark__activation_median(expr)) }}
{%- endmacro %}

{% macro databricks__activation_listagg(measure, delimiter_text, order_by_expr) -%}
    {{ return(spark__activation_listagg(measure, delimiter_text, order_by_expr)) }}
{%- endmacro %}

{% macro databricks__activation_try_cast_integer(expr) -%}
    {{ return(spark__activation_try_cast_integer(expr, cast_function='try_cast')) }}
{%- endmacro %}

{% macro databricks__activation_type_double() -%}
    {{ return(spark__activation_type_double()) }}
{%- endmacro %}

{% macro databricks__activation_raise_error(message) -%}
    {{ return(spark__activation_raise_error(message)) }}
{%- endmacro %}

{% macro databricks__activation_dateadd(datepart, interval, from_expr) -%}
    {{ return(spark__activation_dateadd(datepart, interval, from_expr)) }}
{%- endmacro %}

{% macro databricks__activation_incremental_config(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'file_format': 'delta',
        'partition_by': [partition_column],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro databricks__activation_user_incremental_config(placeholder_condition) -%}
    {#- Delta has delete+insert and DELETE: per user, as on DuckDB and PostgreSQL (not
        Spark's table fallback, which dispatch would otherwise pick). -#}
    {%- set config = default__activation_user_incremental_config(placeholder_condition) -%}
    {%- do config.update({'file_format': 'delta'}) -%}
    {{ return(config) }}
{%- endmacro %}
