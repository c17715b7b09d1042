{#- BigQuery implementations of the package's dispatched macros (GoogleSQL). String
    constants read backslash escapes and cannot hold a raw line break; regular
    expressions are RE2 (`\p{..}` classes), written as raw strings (r'...'). Timestamps
    are TIMESTAMP (UTC instants). Compile-checked only (README, "Engines"). -#}

{% macro bigquery__activation_string_literal(text) -%}
    {{ activation_escaped_string_literal(text, line_breaks=true) }}
{%- endmacro %}

{% macro bigquery__activation_trim_characters(expr, characters_sql) -%}
    trim({{ expr }}, {{ characters_sql }})
{%- endmacro %}

{% macro bigquery__activation_full_match(expr, pattern) -%}
    regexp_contains({{ expr }}, r'^(?:{{ pattern }})$')
{%- endmacro %}

{% macro bigquery__activation_json_is_valid(expr) -%}
    {#- SAFE.PARSE_JSON is null for text that does not parse; numbers beyond a double's
        precision are rounded, not refused. As on DuckDB, text that parses is refused
        when, with its string literals blanked, it still holds a trailing comma, NaN or
        Infinity. -#}
    {%- set forbidden = "r',\\s*[}\\]]|NaN|Infinity'" -%}
    case
        when {{ expr }} is null then null
        when safe.parse_json({{ expr }}, wide_number_mode => 'round') is null then false
        when not regexp_contains({{ expr }}, {{ forbidden }}) then true
        else not regexp_contains(
            regexp_replace({{ expr }}, r'"(\\.|[^"\\])*"', '""'),
            {{ forbidden }}
        )
    end
{%- endmacro %}

{% macro bigquery__activation_json_extract_text(json_expr, key_expr) -%}
    {#- The JSON subscript operator takes the key as any STRING expression (JSONPath
        would need a constant). Strings come back unquoted, objects and arrays as
        compact JSON, other scalars as their JSON text; a JSON null or a missing key is
        null. -#}
    {%- set value = "safe.parse_json(" ~ json_expr ~ ", wide_number_mode => 'round')[" ~ key_expr ~ "]" -%}
    case
        when {{ activation_json_is_valid(json_expr) }}
            then case json_type({{ value }})
                when 'string' then string({{ value }})
                when 'null' then null
                else to_json_string({{ value }})
            end
    end
{%- endmacro %}

{% macro bigquery__activation_parse_timestamp(expr) -%}
    {#- The layout is checked by the pattern (hours 00-23, years 0001-9999); the text
        is rebuilt as `YYYY-MM-DD HH:MM:SS.ffffff` and read in UTC with a fixed format
        (SAFE.: an impossible day gives null). The offset is subtracted by hand. -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- set tail = "substr(" ~ text_value ~ ", 20)" -%}
    {%- set fraction = "coalesce(regexp_extract(" ~ tail ~ ", r'^[.][0-9]{1,6}'), '')" -%}
    {%- set offset_digits = "replace(coalesce(regexp_extract(" ~ tail ~ ", r'[+-][0-9]{2}(?::?[0-9]{2})?$'), ''), ':', '')" -%}
    case
        when regexp_contains(
            {{ text_value }},
            r'^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?$'
        )
            then timestamp_sub(
                safe.parse_timestamp(
                    '%Y-%m-%d %H:%M:%E6S',
                    concat(
                        left({{ text_value }}, 10), ' ',
                        coalesce(nullif(substr({{ text_value }}, 12, 8), ''), '00:00:00'),
                        '.', rpad(substr({{ fraction }}, 2), 6, '0')
                    ),
                    'UTC'
                ),
                interval {{ activation_offset_minutes(offset_digits) }} minute
            )
    end
{%- endmacro %}

{% macro bigquery__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- BIGNUMERIC holds the pattern's digits exactly (NUMERIC(38, 6) is not a valid
        type); nothing is cast before the pattern holds. -#}
    {%- set exact_micros = "cast(" ~ text_value ~ " as bignumeric) * " ~ (1000000 if unit == 'seconds' else 1000) -%}
    case
        when regexp_contains({{ text_value }}, r'{{ pattern }}')
            then case
                when {{ exact_micros }} between -62135596800000000 and 253402300799999999
                    then timestamp_micros(cast({{ exact_micros }} as int64))
            end
    end
{%- endmacro %}

{% macro bigquery__activation_normalize_name(expr) -%}
    nullif(trim(regexp_replace(lower(cast({{ expr }} as string)), r'[^\p{L}\p{M}\p{N}]+', '_'), '_'), '')
{%- endmacro %}

{% macro bigquery__activation_row_hash(expressions) -%}
    {#- A struct's JSON text keeps types and nulls apart. -#}
    farm_fingerprint(to_json_string(struct({{ expressions | join(', ') }})))
{%- endmacro %}

{% macro bigquery__activation_seconds_between(start_expr, end_expr) -%}
    timestamp_diff({{ end_expr }}, {{ start_expr }}, microsecond) / 1000000
{%- endmacro %}

{% macro bigquery__activation_median(expr) -%}
    {#- PERCENTILE_CONT is analytic-only and APPROX_QUANTILES approximate: the exact
        median from the sorted values (the mean of the two middle ones for an even
        count). -#}
    (
        select avg(sorted.value)
        from (
            select value, position, count(*) over () as value_count
            from unnest(array_agg({{ expr }} ignore nulls order by {{ expr }})) as value with offset as position
        ) as sorted
        where sorted.position between div(sorted.value_count - 1, 2) and div(sorted.value_count, 2)
    )
{%- endmacro %}

{% macro bigquery__activation_try_cast_integer(expr) -%}
    {#- SAFE_CAST to FLOAT64 also reads 'inf' and 'nan': the range check refuses both. -#}
    case
        when safe_cast(trim({{ expr }}) as float64) = floor(safe_cast(trim({{ expr }}) as float64))
            and safe_cast(trim({{ expr }}) as float64) between -2147483648 and 2147483647
            then cast(safe_cast(trim({{ expr }}) as float64) as int64)
    end
{%- endmacro %}

{% macro bigquery__activation_type_double() -%}
    float64
{%- endmacro %}

{% macro bigquery__activation_raise_error(message) -%}
    error({{ activation_string_literal(message) }})
{%- endmacro %}

{% macro bigquery__activation_dateadd(datepart, interval, from_expr) -%}
    {#- dbt's bigquery__dateadd casts to DATETIME; the package's times are TIMESTAMPs, so
        fixed-length parts are added to the TIMESTAMP itself. -#}
    {%- set days = {'week': 7} -%}
    {%- if datepart in ['microsecond', 'millisecond', 'second', 'minute', 'hour', 'day'] -%}
        timestamp_add({{ from_expr }}, interval cast({{ interval }} as int64) {{ datepart }})
    {%- elif datepart in days -%}
        timestamp_add({{ from_expr }}, interval cast(({{ interval }}) * {{ days[datepart] }} as int64) day)
    {%- else -%}
        {{ dbt.dateadd(datepart, interval, from_expr) }}
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__activation_incremental_config(partition_column) -%}
    {#- insert_overwrite of the date partitions present in the model's output (BigQuery's
        dynamic partition replacement): the same dates replaced as delete+insert. -#}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': {'field': partition_column, 'data_type': 'date'},
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro bigquery__activation_user_incremental_config(placeholder_condition) -%}
    {#- BigQuery has no delete+insert, and its insert_overwrite replaces partitions, not
        users: the per-user model is a table rebuilt whole by every run. -#}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}
