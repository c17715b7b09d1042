{#- Snowflake implementations of the package's dispatched macros. Snowflake reads
    backslash escapes inside single-quoted strings, so every regular expression is
    written through `activation_string_literal` (which doubles the backslashes); its
    regular expressions are POSIX ERE (no `\p{..}` classes), and REGEXP_LIKE matches
    the whole text. Built and reference-checked on the fakesnow emulator (README,
    "Engines"). -#}

{% macro snowflake__activation_string_literal(text) -%}
    {#- Backslash is an escape character in Snowflake string constants. -#}
    {{ activation_escaped_string_literal(text) }}
{%- endmacro %}

{% macro snowflake__activation_trim_characters(expr, characters_sql) -%}
    trim({{ expr }}, {{ characters_sql }})
{%- endmacro %}

{% macro snowflake__activation_full_match(expr, pattern) -%}
    regexp_like({{ expr }}, {{ activation_string_literal(pattern) }})
{%- endmacro %}

{% macro snowflake__activation_json_is_valid(expr) -%}
    {#- TRY_PARSE_JSON with 'd' (duplicate keys allowed, the last one wins, as the
        reference reads them) is null for text that does not parse. Snowflake's parser
        is lenient in places strict JSON is not, so text that parses is refused when,
        with its string literals blanked, it still holds a trailing comma, NaN,
        Infinity, a single quote or a comment. -#}
    {%- set forbidden = activation_string_literal(",\\s*[]}]|NaN|Infinity|'|/[*/]") -%}
    case
        when {{ expr }} is null then null
        when try_parse_json({{ expr }}, 'd') is null then false
        when regexp_instr({{ expr }}, {{ forbidden }}) = 0 then true
        else regexp_instr(
            regexp_replace({{ expr }}, {{ activation_string_literal('"(\\\\.|[^"\\\\])*"') }}, '""'),
            {{ forbidden }}
        ) = 0
    end
{%- endmacro %}

{% macro snowflake__activation_json_extract_text(json_expr, key_expr) -%}
    {#- GET on the parsed document takes any key as a value (no path syntax to escape).
        Strings come back unquoted, objects and arrays as compact JSON, other scalars as
        their text; a JSON null or a missing key is null. -#}
    {%- set value = "get(try_parse_json(" ~ json_expr ~ ", 'd'), " ~ key_expr ~ ")" -%}
    case
        when {{ activation_json_is_valid(json_expr) }} and is_object(try_parse_json({{ json_expr }}, 'd'))
            then case
                when is_object({{ value }}) or is_array({{ value }}) then to_json({{ value }})
                when is_null_value({{ value }}) then null
                else to_varchar({{ value }})
            end
    end
{%- endmacro %}

{% macro snowflake__activation_parse_timestamp(expr) -%}
    {#- The layout is checked by the pattern (hours 00-23, years 0001-9999); the text
        is rebuilt as `YYYY-MM-DD HH24:MI:SS.FF6` and read with that fixed format, so no
        session input format plays a part, and an impossible day gives null. The offset
        is subtracted by hand. -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- set tail = "substr(" ~ text_value ~ ", 20)" -%}
    {%- set fraction = "coalesce(regexp_substr(" ~ tail ~ ", '^[.][0-9]{1,6}'), '')" -%}
    {%- set offset_digits = "replace(coalesce(regexp_substr(" ~ tail ~ ", '[+-][0-9]{2}(:?[0-9]{2})?$'), ''), ':', '')" -%}
    case
        when regexp_like(
            {{ text_value }},
            '([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?'
        )
            then dateadd(
                minute,
                -({{ activation_offset_minutes(offset_digits) }}),
                try_to_timestamp_ntz(
                    left({{ text_value }}, 10) || ' '
                    || coalesce(nullif(substr({{ text_value }}, 12, 8), ''), '00:00:00')
                    || '.' || rpad(substr({{ fraction }}, 2), 6, '0'),
                    'YYYY-MM-DD HH24:MI:SS.FF6'
                )
            )
    end
{%- endmacro %}

{% macro snowflake__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- Nested: nothing is cast before the pattern holds. TO_TIMESTAMP_NTZ with scale 6
        reads the number as microseconds since the epoch. -#}
    case
        when regexp_like({{ text_value }}, {{ activation_string_literal(pattern) }})
            then case
                when {{ micros }} between -62135596800000000 and 253402300799999999
                    then to_timestamp_ntz(cast({{ micros }} as bigint), 6)
            end
    end
{%- endmacro %}

{% macro snowflake__activation_normalize_name(expr) -%}
    {#- No `\p{..}` in Snowflake's regular expressions: printable ASCII names take `[^a-z0-9]+`;
        other names are matched against the generated code point ranges of letters,
        marks and numbers (activation_unicode_tables.sql), written as characters. -#}
    {%- set text_value = 'cast(' ~ expr ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    nullif(trim(case
        when regexp_like({{ text_value }}, '[ -~]*')
            then regexp_replace(lower({{ text_value }}), '[^a-z0-9]+', '_')
        else regexp_replace(
            lower({{ text_value }}),
            {{ activation_string_literal('[^' ~ activation_unicode_name_characters_as_text() ~ ']+') }},
            '_'
        )
    end, '_'), '')
{%- endmacro %}

{% macro snowflake__activation_row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro snowflake__activation_seconds_between(start_expr, end_expr) -%}
    timestampdiff(microsecond, {{ start_expr }}, {{ end_expr }}) / 1000000.0
{%- endmacro %}

{% macro snowflake__activation_median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro snowflake__activation_try_cast_integer(expr) -%}
    {#- TRY_TO_DOUBLE also reads 'inf' and 'nan': the range check refuses both. -#}
    case
        when try_to_double(trim({{ expr }})) = floor(try_to_double(trim({{ expr }})))
            and try_to_double(trim({{ expr }})) between -2147483648 and 2147483647
            then cast(try_to_double(trim({{ expr }})) as integer)
    end
{%- endmacro %}

{% macro snowflake__activation_type_double() -%}
    double
{%- endmacro %}

{% macro snowflake__activation_incremental_config(partition_column) -%}
    {#- delete+insert keyed on the event date, as on DuckDB and PostgreSQL, with the
        table clustered by that date so the delete prunes micro-partitions. -#}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'cluster_by': [partition_column],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}
