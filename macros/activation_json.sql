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


{#- A JSON object (as text) of `columns`, each a column name, with the column's value
    as text under the column's name: the properties of layouts that spread them over
    columns (var `activation_event_property_columns`). Null values are left out where
    the engine's builder does so (Spark, Snowflake) and written as null elsewhere; both
    read as null through `activation_json_extract_text`. Not on Redshift. -#}
{% macro activation_json_object(columns) -%}
    {{ return(adapter.dispatch('activation_json_object', 'milestone_activation')(columns)) }}
{%- endmacro %}

{#- The builders' arguments: name, value as text, name, value as text, ... -#}
{% macro activation_json_object_arguments(columns) -%}
    {%- for column_name in columns -%}
        {{ activation_string_literal(column_name) }}, {{ activation_text_column(column_name) }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro default__activation_json_object(columns) -%}
    {{ exceptions.raise_compiler_error(
        "milestone_activation: var activation_event_property_columns is not supported on adapter '" ~ adapter.type()
        ~ "' (no JSON object builder). Fix: set it to [] and select the properties as one JSON column in a view."
    ) }}
{%- endmacro %}

{% macro duckdb__activation_json_object(columns) -%}
    cast(json_object({{ activation_json_object_arguments(columns) }}) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__activation_json_object(columns) -%}
    {#- jsonb_build_object takes at most 100 arguments: 50 columns a call, merged. -#}
    cast(
        {%- for batch in columns | batch(50) %}
        {{ '|| ' if not loop.first }}jsonb_build_object({{ activation_json_object_arguments(batch) }})
        {%- endfor %}
    as {{ dbt.type_string() }})
{%- endmacro %}

{% macro spark__activation_json_object(columns) -%}
    to_json(named_struct({{ activation_json_object_arguments(columns) }}))
{%- endmacro %}

{% macro databricks__activation_json_object(columns) -%}
    {{ spark__activation_json_object(columns) }}
{%- endmacro %}

{% macro snowflake__activation_json_object(columns) -%}
    to_json(object_construct({{ activation_json_object_arguments(columns) }}))
{%- endmacro %}

{% macro bigquery__activation_json_object(columns) -%}
    to_json_string(json_object({{ activation_json_object_arguments(columns) }}))
{%- endmacro %}


{#- The event properties of var `activation_event_passthrough_properties` as
    [(key, column name)]: the column is `property_` and the key lower-cased with every
    run of characters other than ASCII letters and digits made one `_`. Two keys giving
    one name, or a key giving none, stop the build naming them. -#}
{% macro activation_passthrough_properties() %}
    {%- set pairs = [] -%}
    {%- set problems = [] -%}
    {%- set seen = {} -%}
    {%- for key in activation_var('activation_event_passthrough_properties') -%}
        {%- set snake = modules.re.sub('[^a-z0-9]+', '_', key | lower).strip('_') -%}
        {%- set column_name = 'property_' ~ snake -%}
        {%- if not snake -%}
            {%- do problems.append("'" ~ key ~ "' has no letter or digit to name a column") -%}
        {%- elif column_name in seen -%}
            {%- do problems.append("'" ~ key ~ "' and '" ~ seen[column_name] ~ "' both give the column " ~ column_name) -%}
        {%- else -%}
            {%- do seen.update({column_name: key}) -%}
            {%- do pairs.append((key, column_name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems and execute -%}
        {{ exceptions.raise_compiler_error(
            "milestone_activation: var activation_event_passthrough_properties: " ~ problems | join("; ")
            ~ ". Fix: list each property once, by a key with a letter or digit."
        ) }}
    {%- endif -%}
    {{ return(pairs) }}
{% endmacro %}
