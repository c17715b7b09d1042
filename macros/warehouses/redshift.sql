{#- Redshift implementations of the package's dispatched macros. Redshift speaks a
    PostgreSQL 8.0 dialect, but dbt's dispatch would otherwise hand it the PostgreSQL
    implementations, whose functions Redshift lacks (hashtextextended, regexp_replace
    flags, substring(... from pattern), concat() of one argument, numeric casts of any
    scale). String constants read backslash escapes; POSIX regular expressions (`~`),
    and PCRE in the REGEXP_ functions with the 'p' parameter. Compile-checked only
    (README, "Engines"). -#}

{% macro redshift__activation_string_literal(text) -%}
    {#- Quotes doubled, and backslashes too (as Redshift's QUOTE_LITERAL does). -#}
    {{ activation_escaped_string_literal(text, quote="''") }}
{%- endmacro %}

{% macro redshift__activation_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro redshift__activation_json_is_valid(expr) -%}
    {#- CAN_JSON_PARSE accepts any JSON value; as on DuckDB, text that parses is refused
        when, with its string literals blanked, it still holds a trailing comma, NaN or
        Infinity. -#}
    {%- set forbidden = activation_string_literal(",[ \t\n\r]*[]}]|NaN|Infinity") -%}
    case
        when {{ expr }} is null then null
        when not can_json_parse({{ expr }}) then false
        when regexp_instr({{ expr }}, {{ forbidden }}) = 0 then true
        else regexp_instr(
            regexp_replace({{ expr }}, {{ activation_string_literal('"(\\\\.|[^"\\\\])*"') }}, '""', 1, 'p'),
            {{ forbidden }}
        ) = 0
    end
{%- endmacro %}

{% macro redshift__activation_json_extract_text(json_expr, key_expr) -%}
    {#- JSON_EXTRACT_PATH_TEXT with null_if_invalid: strings unquoted, nested values as
        JSON text, null for a missing key, guarded by the strict check. -#}
    case
        when {{ activation_json_is_valid(json_expr) }}
            then json_extract_path_text({{ json_expr }}, {{ key_expr }}, true)
    end
{%- endmacro %}

{% macro redshift__activation_parse_timestamp(expr) -%}
    {#- As on PostgreSQL: nothing is cast before the layout (regex) and the day of the
        month (leap years included) are known to be valid; the offset is subtracted
        with DATEADD. -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- set year = "cast(substring(" ~ text_value ~ ", 1, 4) as integer)" -%}
    {%- set month = "cast(substring(" ~ text_value ~ ", 6, 2) as integer)" -%}
    {%- set day = "cast(substring(" ~ text_value ~ ", 9, 2) as integer)" -%}
    {%- set tail = "substring(" ~ text_value ~ ", 20)" -%}
    {%- set local_text = "replace(left(" ~ text_value ~ ", 19), 'T', ' ') || regexp_substr(" ~ tail ~ ", '^[.][0-9]{1,6}')" -%}
    {%- set offset_digits = "replace(regexp_substr(" ~ tail ~ ", '[+-][0-9]{2}(:?[0-9]{2})?$'), ':', '')" -%}
    case
        when {{ text_value }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?$'
            then case
                when {{ year }} >= 1 and {{ activation_day_fits_month(year, month, day) }}
                    then dateadd(minute, -({{ activation_offset_minutes(offset_digits) }}), cast({{ local_text }} as timestamp))
            end
    end
{%- endmacro %}

{% macro redshift__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- Nested: nothing is cast before the pattern holds. Whole seconds and the
        remaining microseconds are added apart (TIMESTAMP 'epoch' + n * INTERVAL). -#}
    {%- set scale = 1000000 if unit == 'seconds' else 1000 -%}
    {%- set exact = "cast(" ~ text_value ~ " as decimal(38, " ~ (6 if unit == 'seconds' else 3) ~ "))" -%}
    {%- set exact_micros = exact ~ " * " ~ scale -%}
    case
        when {{ text_value }} ~ '{{ pattern }}'
            then case
                when {{ exact_micros }} between -62135596800000000 and 253402300799999999
                    then timestamp 'epoch'
                        + cast(floor({{ exact_micros }} / 1000000) as bigint) * interval '1 second'
                        + cast({{ exact_micros }} - floor({{ exact_micros }} / 1000000) * 1000000 as bigint) * interval '1 microsecond'
            end
    end
{%- endmacro %}

{% macro redshift__activation_normalize_name(expr) -%}
    {#- LOWER is UTF-8 aware; REGEXP_REPLACE with 'p' reads the pattern as PCRE, whose
        `\p{..}` classes match letters, marks and numbers. -#}
    nullif(btrim(
        regexp_replace(lower(cast({{ expr }} as {{ dbt.type_string() }})), {{ activation_string_literal('[^\\p{L}\\p{M}\\p{N}]+') }}, '_', 1, 'p'),
        '_'
    ), '')
{%- endmacro %}

{% macro redshift__activation_row_hash(expressions) -%}
    {#- The first 60 bits of an MD5 of the values, separated by a unit separator. -#}
    strtol(left(md5(
        {%- for expression in expressions %}
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), chr(30)){% if not loop.last %} || chr(31) ||{% endif %}
        {%- endfor %}
    ), 15), 16)
{%- endmacro %}

{% macro redshift__activation_seconds_between(start_expr, end_expr) -%}
    cast(datediff(microsecond, {{ start_expr }}, {{ end_expr }}) as double precision) / 1000000
{%- endmacro %}

{% macro redshift__activation_median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro redshift__activation_try_cast_integer(expr) -%}
    {#- A plain decimal number (exponent of at most two digits, so the cast to double
        cannot overflow), read as a double, whole and inside the integer range. -#}
    case
        when trim({{ expr }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,2})?$'
            then case
                when cast(trim({{ expr }}) as double precision) = floor(cast(trim({{ expr }}) as double precision))
                    and cast(trim({{ expr }}) as double precision) between -2147483648 and 2147483647
                    then cast(cast(trim({{ expr }}) as double precision) as integer)
            end
    end
{%- endmacro %}

{% macro redshift__activation_raise_error(message) -%}
    {#- No error() function: the failing cast carries the message, as text so the
        caller can cast it to the type its context needs. -#}
    cast(cast({{ activation_string_literal(message) }} as integer) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro redshift__activation_incremental_config(partition_column) -%}
    {#- delete+insert keyed on the event date, with the date as the sort key. -#}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'sort': [partition_column],
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro redshift__activation_json_object(columns) -%}
    {#- Redshift has no JSON object builder (json_build_object is PostgreSQL's). -#}
    {{ default__activation_json_object(columns) }}
{%- endmacro %}
