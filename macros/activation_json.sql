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
        word NaN inside a string value is not mistaken for one. A CASE, not AND/OR:
        it keeps the costly steps to the rows that need them (several times faster
        on a large events table). Null in, null out. -#}
    case
        when not json_valid({{ expr }}) then false
        when not regexp_matches({{ expr }}, ',\s*[}\]]|NaN|Infinity') then true
        else not regexp_matches(
            regexp_replace({{ expr }}, '"(\\.|[^"\\])*"', '""', 'g'),
            ',\s*[}\]]|NaN|Infinity'
        )
    end
{%- endmacro %}

{% macro postgres__activation_json_is_valid(expr) -%}
    {#- PostgreSQL 15 cannot test a cast without failing the query (pg_input_is_valid
        and IS JSON arrive in 16), so the grammar is checked with regexes. Fast path: a
        flat object of scalars, the usual shape of event properties, matched whole.
        Otherwise every string literal becomes `~` (after any `~` outside strings became
        the invalid `!`), every number and literal `0`, whitespace goes, and innermost
        arrays and objects of those tokens are folded into `0` until none is left (a
        recursive CTE, so any depth); the text is JSON exactly when one token remains.
        Like the DuckDB check: trailing commas, NaN, Infinity, single quotes, leading
        zeros and raw control characters in strings are invalid. -#}
    {#- Block sets keep the backslashes as written (Jinja string literals would not). -#}
    {%- set string %}"([^"\\\x01-\x1f]|\\(["\\/bfnrt]|u[0-9a-fA-F]{4}))*"{% endset -%}
    {%- set scalar %}true|false|null|-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?{% endset -%}
    {%- set ws = "[ \\t\\n\\r]*" -%}
    {%- set member = string ~ ws ~ ":" ~ ws ~ "(" ~ string ~ "|" ~ scalar ~ ")" ~ ws -%}
    {%- set flat_object = "^" ~ ws ~ "\\{" ~ ws ~ "(" ~ member ~ "(," ~ ws ~ member ~ ")*)?\\}" ~ ws ~ "$" -%}
    {%- set container = "\\[([~0](,[~0])*)?\\]|\\{(~:[~0](,~:[~0])*)?\\}" -%}
    case
        when {{ expr }} is null then null
        when {{ expr }} ~ '{{ flat_object }}' then true
        else exists (
            with recursive folds (doc) as (
                select regexp_replace(
                    regexp_replace(
                        regexp_replace(translate({{ expr }}, '~', '!'), '{{ string }}', '~', 'g'),
                        '{{ scalar }}', '0', 'g'
                    ),
                    '[ \t\n\r]+', '', 'g'
                )
                union all
                select regexp_replace(folds.doc, '{{ container }}', '0', 'g')
                from folds
                where folds.doc ~ '{{ container }}'
            )
            select 1 from folds where folds.doc in ('0', '~')
        )
    end
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
