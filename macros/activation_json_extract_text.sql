{#- Value of a top-level JSON key as text (strings unquoted, numbers and booleans as
    their JSON text); null when the key is missing, null or the text is not an object.
    `key_expr` is a SQL expression, so the key may come from a column. -#}
{% macro activation_json_extract_text(json_expr, key_expr) -%}
    {{ return(adapter.dispatch('activation_json_extract_text', 'milestone_activation')(json_expr, key_expr)) }}
{%- endmacro %}

{% macro default__activation_json_extract_text(json_expr, key_expr) -%}
    {{ exceptions.raise_compiler_error("milestone_activation: JSON extraction is not implemented for adapter '" ~ adapter.type() ~ "'.") }}
{%- endmacro %}

{% macro duckdb__activation_json_extract_text(json_expr, key_expr) -%}
    {#- Guarded so an invalid document yields null instead of an error, whatever order
        the optimizer evaluates filters in. The key goes in a quoted path (`$."key"`),
        which cannot hold a double quote or a backslash; a key with either goes in a JSON
        pointer (`/key`, with `~` written `~0` and `/` written `~1`), which takes any
        key. Such a key is never all digits, so the pointer cannot pick an array
        element where the quoted path finds nothing. -#}
    case
        when json_valid({{ json_expr }})
            then json_extract_string(
                {{ json_expr }},
                case
                    when strpos({{ key_expr }}, '"') > 0 or strpos({{ key_expr }}, chr(92)) > 0
                        then '/' || replace(replace({{ key_expr }}, '~', '~0'), '/', '~1')
                    else '$."' || {{ key_expr }} || '"'
                end
            )
    end
{%- endmacro %}

{% macro postgres__activation_json_extract_text(json_expr, key_expr) -%}
    {#- Guarded by the strict check, so invalid text yields null instead of an error.
        The `json` type (not jsonb) keeps numbers as written (`1.0` stays `1.0`) and, as
        in the reference, the last of duplicate keys wins. Escapes inside a nested value
        are kept as written. Postgres cannot turn `\u0000`
        or an unpaired surrogate escape into text and would fail the query: a document
        holding one yields null. -#}
    {%- set bad_escape %}(^|[^\\])(\\\\)*(\\u(0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F]))|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]){% endset -%}
    {#- concat() is stable, not immutable: it keeps the planner from folding the cast of
        a constant (a unit-test fixture row) before the validity check has run. -#}
    {%- set document = "cast(concat(" ~ json_expr ~ ") as json)" -%}
    case
        when {{ activation_json_is_valid(json_expr) }} and not {{ json_expr }} ~ '{{ bad_escape }}'
            then case
                {#- Nested values as compact JSON text, as DuckDB and the reference give them:
                    whitespace outside string literals removed. #}
                when json_typeof({{ document }} -> {{ key_expr }}) in ('object', 'array')
                    then regexp_replace({{ document }} ->> {{ key_expr }}, '("([^"\\]|\\.)*")|[ \t\n\r]+', '\1', 'g')
                else {{ document }} ->> {{ key_expr }}
            end
    end
{%- endmacro %}

{% macro spark__activation_json_extract_text(json_expr, key_expr) -%}
    {#- get_json_object with the key in brackets (`$['key']`), so keys with dots,
        brackets, spaces, double quotes or backslashes work; a key holding a single quote
        falls back to `$.key`. A key that is `*` or holds a single quote and a `.` or `[`
        cannot be written in either form: configuration validation rejects it on Spark. Numbers come
        back as Spark's JSON writer prints them (`1.50` -> `1.5`), as on DuckDB. -#}
    case
        when {{ activation_json_is_valid(json_expr) }}
            then get_json_object(
                {{ json_expr }},
                case
                    when instr({{ key_expr }}, chr(39)) = 0 then concat('$[', chr(39), {{ key_expr }}, chr(39), ']')
                    else concat('$.', {{ key_expr }})
                end
            )
    end
{%- endmacro %}
