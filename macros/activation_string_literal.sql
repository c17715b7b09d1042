{#- A SQL string literal holding `text` exactly. Standard SQL doubles single quotes;
    Spark reads `''` as two adjacent literals (joined without the quote) and treats a
    backslash as an escape, so it escapes both with a backslash. -#}
{% macro activation_string_literal(text) -%}
    {{ return(adapter.dispatch('activation_string_literal', 'milestone_activation')(text)) }}
{%- endmacro %}

{% macro default__activation_string_literal(text) -%}
    '{{ text | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__activation_string_literal(text) -%}
    '{{ text | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
