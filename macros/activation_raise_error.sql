{#- A SQL expression that fails the query with `message` when evaluated. Used in a
    `case` so a data problem found at run time stops the build with a clear text. -#}
{% macro activation_raise_error(message) -%}
    {{ return(adapter.dispatch('activation_raise_error', 'milestone_activation')(message)) }}
{%- endmacro %}

{% macro default__activation_raise_error(message) -%}
    cast('{{ message | replace("'", "''") }}' as integer)
{%- endmacro %}

{% macro duckdb__activation_raise_error(message) -%}
    error('{{ message | replace("'", "''") }}')
{%- endmacro %}

{% macro spark__activation_raise_error(message) -%}
    raise_error({{ activation_string_literal(message) }})
{%- endmacro %}
