{#- `from_expr` plus `interval` units of `datepart`, exact to the microsecond. Same
    arguments as dbt.dateadd, which it calls except where an engine's version is not
    exact: dbt-spark's goes through whole unix seconds (a fraction of a second on the
    start is lost, so an inclusive deadline could move by up to one second). -#}
{% macro activation_dateadd(datepart, interval, from_expr) -%}
    {{ return(adapter.dispatch('activation_dateadd', 'milestone_activation')(datepart, interval, from_expr)) }}
{%- endmacro %}

{% macro default__activation_dateadd(datepart, interval, from_expr) -%}
    {{ dbt.dateadd(datepart, interval, from_expr) }}
{%- endmacro %}

{% macro spark__activation_dateadd(datepart, interval, from_expr) -%}
    {%- set microseconds = {'second': 1000000, 'minute': 60000000, 'hour': 3600000000, 'day': 86400000000, 'week': 604800000000} -%}
    {%- if datepart in microseconds -%}
        {#- The factor is a bigint so an integer interval cannot overflow before the cast. #}
        timestamp_micros(
            unix_micros(cast({{ from_expr }} as timestamp))
            + cast(({{ interval }}) * cast({{ microseconds[datepart] }} as bigint) as bigint)
        )
    {%- else -%}
        {{ dbt.dateadd(datepart, interval, from_expr) }}
    {%- endif -%}
{%- endmacro %}
