{#- Exact median of a numeric expression as an aggregate (the mean of the two middle
    values for an even count, like percentile_cont(0.5)). -#}
{% macro activation_median(expr) -%}
    {{ return(adapter.dispatch('activation_median', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__activation_median(expr) -%}
    quantile_cont({{ expr }}, 0.5)
{%- endmacro %}

{% macro spark__activation_median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}
