{#- True when a non-null text value is strict JSON (RFC 8259). -#}
{% macro activation_json_is_valid(expr) -%}
    {{ return(adapter.dispatch('activation_json_is_valid', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_json_is_valid(expr) -%}
    {{ exceptions.raise_compiler_error("milestone_activation: JSON validation is not implemented for adapter '" ~ adapter.type() ~ "'.") }}
{%- endmacro %}

{% macro duckdb__activation_json_is_valid(expr) -%}
    {#- DuckDB's parser also accepts trailing commas and NaN / Infinity, which strict
        JSON (and other engines) reject. When the cheap pattern hints at one, string
        literals are blanked out and the pattern is checked again, so a comma or the
        word NaN inside a string value is not mistaken for one. -#}
    (
        json_valid({{ expr }})
        and (
            not regexp_matches({{ expr }}, ',\s*[}\]]|NaN|Infinity')
            or not regexp_matches(
                regexp_replace({{ expr }}, '"(\\.|[^"\\])*"', '""', 'g'),
                ',\s*[}\]]|NaN|Infinity'
            )
        )
    )
{%- endmacro %}
