{#- Fails with every row whose `column_name` lies outside [min_value, max_value]
    (bounds inclusive unless `inclusive` is false). Either bound may be omitted.
    Nulls pass; test them with not_null. Same arguments as dbt_utils.accepted_range. -#}
{% test activation_accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error(
        "activation_accepted_range on " ~ model ~ "." ~ column_name ~ ": give min_value, max_value or both."
    ) }}
{%- endif %}

select *

from {{ model }}
where {{ column_name }} is not null
    and not (
        1 = 1
        {%- if min_value is not none %}
        and {{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }}
        {%- endif %}
    )

{% endtest %}
