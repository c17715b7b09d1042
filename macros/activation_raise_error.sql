{#- A SQL expression that fails the query with `message` when evaluated. Used in a
    `case` so a data problem found at run time stops the build with a clear text. -#}
{% macro activation_raise_error(message) -%}
    {{ return(adapter.dispatch('activation_raise_error', 'milestone_activation')(message)) }}
{%- endmacro %}

{% macro default__activation_raise_error(message) -%}
    cast({{ activation_string_literal(message) }} as integer)
{%- endmacro %}

{% macro duckdb__activation_raise_error(message) -%}
    error({{ activation_string_literal(message) }})
{%- endmacro %}

{% macro postgres__activation_raise_error(message) -%}
    {#- Postgres has no error() function: the failing cast carries the message. concat()
        is stable, not immutable, so the planner does not fold (and so raise) the cast
        while planning a branch that never runs. Text, so the caller can cast it to the
        type its context needs. -#}
    cast(cast(concat({{ activation_string_literal(message) }}) as integer) as text)
{%- endmacro %}

{% macro spark__activation_raise_error(message) -%}
    raise_error({{ activation_string_literal(message) }})
{%- endmacro %}
