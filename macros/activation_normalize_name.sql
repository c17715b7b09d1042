{#- Normalise an event or config name the same way everywhere (SPEC §2):
    trim, lower-case, runs of non [a-z0-9] characters become `_`, leading and
    trailing `_` removed; an empty result becomes null. -#}
{% macro activation_normalize_name(expr) -%}
    {{ return(adapter.dispatch('activation_normalize_name', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_normalize_name(expr) -%}
    nullif(trim(both '_' from regexp_replace(lower(trim(cast({{ expr }} as {{ dbt.type_string() }}))), '[^a-z0-9]+', '_', 'g')), '')
{%- endmacro %}

{% macro spark__activation_normalize_name(expr) -%}
    nullif(trim(both '_' from regexp_replace(lower(trim(cast({{ expr }} as string))), '[^a-z0-9]+', '_')), '')
{%- endmacro %}
