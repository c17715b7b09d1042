{#- The select list of a bookkeeping row (a run marker, a user marker, a placeholder)
    of a model whose data rows are unioned with it: every column of `columns` (a list of
    [name, SQL type] pairs, in the model's column order) as its expression in `values`,
    or as a typed null. Keeps the order and the types of the union in one place. -#}
{% macro activation_typed_row(columns, values={}) -%}
    {%- set names = columns | map(attribute=0) | list -%}
    {%- set unknown = values.keys() | reject('in', names) | list -%}
    {%- if unknown -%}
    {{ exceptions.raise_compiler_error(
        'activation_typed_row: ' ~ unknown | join(', ') ~ ' not among the columns ' ~ names | join(', ')
    ) }}
    {%- endif -%}
    {%- for name, type in columns %}
        {% if values.get(name) == name -%}
        {{ name }}
        {%- elif name in values -%}
        {{ values[name] }} as {{ name }}
        {%- else -%}
        cast(null as {{ type }}) as {{ name }}
        {%- endif %}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
