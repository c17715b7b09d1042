{#- Aggregate: the non-null values of `measure` joined by `delimiter_text`, in the order
    of `order_by_expr` (ascending). dbt.listagg on Spark ignores the order, so the text
    would depend on how rows happen to arrive. -#}
{% macro activation_listagg(measure, delimiter_text, order_by_expr) -%}
    {{ return(adapter.dispatch('activation_listagg', 'milestone_activation')(measure, delimiter_text, order_by_expr)) }}
{%- endmacro %}

{% macro default__activation_listagg(measure, delimiter_text, order_by_expr) -%}
    {{ dbt.listagg(measure, delimiter_text, 'order by ' ~ order_by_expr) }}
{%- endmacro %}

{% macro spark__activation_listagg(measure, delimiter_text, order_by_expr) -%}
    {#- Pairs (order key, value) sorted by key, then the values; array_join skips nulls. -#}
    array_join(
        transform(
            array_sort(collect_list(named_struct('sort_key', {{ order_by_expr }}, 'value', {{ measure }}))),
            pair -> pair.value
        ),
        {{ delimiter_text }}
    )
{%- endmacro %}
