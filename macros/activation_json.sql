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

{% macro spark__activation_json_is_valid(expr) -%}
    {#- Spark's JSON reader (Jackson) with the lenient options switched off: NaN /
        Infinity and single quotes are refused; trailing commas, comments, unquoted
        names, leading zeros and raw control characters are refused by default. The text
        is parsed as the only element of an array so that any JSON value (not only an
        object) is accepted. The reader ignores anything after the first complete value,
        so the text is parsed a second time with a sentinel element appended: a valid
        value gives one element, then two; text that closes the array early (`1] [2`)
        gives the same count both times. -#}
    {%- set options = "map('allowNonNumericNumbers', 'false', 'allowSingleQuotes', 'false')" -%}
    case
        when {{ expr }} is not null
            then coalesce(
                size(from_json(concat('[', {{ expr }}, ']'), 'array<string>', {{ options }})) = 1
                and size(from_json(concat('[', {{ expr }}, ',0]'), 'array<string>', {{ options }})) = 2,
                false
            )
    end
{%- endmacro %}
