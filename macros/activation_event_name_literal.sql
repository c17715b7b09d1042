{#- An event name given in a var, as SQL: the text as an escaped literal, normalised by
    `activation_normalize_name` in SQL, so a name from a var and a name from the events
    table can never be normalised differently (SPEC §2). -#}
{% macro activation_event_name_literal(text) -%}
    {{ activation_normalize_name(activation_string_literal(text)) }}
{%- endmacro %}
