{#- Fails with every row for which the SQL boolean `expression` is false or null.
    With `column_name` (when attached to a column) the expression is appended to the
    column, e.g. `expression: ">= 0"`. Same arguments as dbt_utils.expression_is_true. -#}
{% test activation_expression_is_true(model, expression, column_name=none) %}

select *

from {{ model }}
where not coalesce(
    {%- if column_name is not none %}
    {{ column_name }} {{ expression }}
    {%- else %}
    {{ expression }}
    {%- endif %},
    false
)

{% endtest %}
