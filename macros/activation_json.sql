{#- True when a non-null text value is valid JSON. -#}
{% macro activation_json_is_valid(expr) -%}
    {{ return(adapter.dispatch('activation_json_is_valid', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_json_is_valid(expr) -%}
    {{ exceptions.raise_compiler_error("milestone_activation: JSON validation is not implemented for adapter '" ~ adapter.type() ~ "'.") }}
{%- endmacro %}

{% macro duckdb__activation_json_is_valid(expr) -%}
    json_valid({{ expr }})
{%- endmacro %}
