{#- Parse a text (or timestamp) value into a naive UTC timestamp, or null.
    Accepted: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.ffffff]` (space or `T`), with an
    optional offset `Z`, `+HH`, `+HHMM` or `+HH:MM`. No offset means UTC. Offsets are
    applied (converted), never truncated. Anything else, including impossible dates,
    gives null so the row can be quarantined with `invalid_timestamp`. -#}
{% macro activation_parse_timestamp(expr) -%}
    {{ return(adapter.dispatch('activation_parse_timestamp', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_parse_timestamp(expr) -%}
    {{ exceptions.raise_compiler_error(
        "milestone_activation: timestamp parsing is not implemented for adapter '" ~ adapter.type() ~ "'. "
        ~ "Add a " ~ adapter.type() ~ "__activation_parse_timestamp macro."
    ) }}
{%- endmacro %}

{% macro duckdb__activation_parse_timestamp(expr) -%}
    {#- The offset is applied by hand: DuckDB's cast to TIMESTAMP silently drops it,
        and a cast to TIMESTAMPTZ depends on the session time zone. The hour is checked
        by the pattern (00-23): the cast reads `24:00:00` as the next day's midnight;
        so is the year (0001-9999): the cast reads year 0000 as 1 BC. -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {#- Layout is fixed by the pattern: 19 characters of date and time, then an optional
        fraction, then an optional offset. -#}
    {%- set tail = "substr(" ~ text_value ~ ", 20)" -%}
    {%- set local_text = "replace(left(" ~ text_value ~ ", 19), 'T', ' ') || regexp_extract(" ~ tail ~ ", '^[.][0-9]{1,6}')" -%}
    {%- set offset_digits = "replace(regexp_extract(" ~ tail ~ ", '[+-][0-9]{2}(:?[0-9]{2})?$'), ':', '')" -%}
    {#- Fast branch: the plain `YYYY-MM-DD HH:MM:SS` layout most sources write needs no
        trim, fraction or offset, and gives the same value as the general branch. -#}
    {%- set raw_text = "cast(" ~ expr ~ " as " ~ dbt.type_string() ~ ")" %}
    case
        when regexp_full_match({{ raw_text }}, '[1-9][0-9]{3}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}')
            then try_cast({{ raw_text }} as timestamp)
        when regexp_full_match(
            {{ text_value }},
            '([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}([ T]([01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?'
        )
            then try_cast({{ local_text }} as timestamp)
                - to_minutes({{ activation_offset_minutes(offset_digits) }})
    end
{%- endmacro %}

{% macro postgres__activation_parse_timestamp(expr) -%}
    {#- Postgres has no try_cast, so nothing may be cast before it is known to be valid:
        the layout is checked with a regex, then the day against the month's length
        (leap years included), and only then is the text cast. Nested CASEs keep that
        order, also when the planner folds a constant input. The offset is subtracted by
        hand, so the session time zone plays no part. -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- set year = "cast(substr(" ~ text_value ~ ", 1, 4) as integer)" -%}
    {%- set month = "cast(substr(" ~ text_value ~ ", 6, 2) as integer)" -%}
    {%- set day = "cast(substr(" ~ text_value ~ ", 9, 2) as integer)" -%}
    {#- Layout is fixed by the pattern: 19 characters of date and time, then an optional
        fraction, then an optional offset. -#}
    {%- set tail = "substr(" ~ text_value ~ ", 20)" -%}
    {%- set local_text = "replace(left(" ~ text_value ~ ", 19), 'T', ' ') || coalesce(substring(" ~ tail ~ " from '^[.][0-9]{1,6}'), '')" -%}
    {%- set offset_digits = "replace(coalesce(substring(" ~ tail ~ " from '[+-][0-9]{2}(?::?[0-9]{2})?$'), ''), ':', '')" -%}
    case
        when {{ text_value }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?$'
            then case
                when {{ year }} >= 1 and {{ activation_day_fits_month(year, month, day) }}
                    then cast({{ local_text }} as timestamp)
                        - interval '1 minute' * ({{ activation_offset_minutes(offset_digits) }})
            end
    end
{%- endmacro %}

{% macro spark__activation_parse_timestamp(expr, cast_function='cast') -%}
    {#- Same layout check as DuckDB's. `rlike` would accept a line break after the match,
        so the anchored match must equal the whole text. The parts are rebuilt as
        `YYYY-MM-DD HH:MM:SS[.ffffff]+00:00` and cast, independent of the session time
        zone; an impossible date or time gives null (dbt-spark runs with ANSI mode off).
        The offset is then subtracted by hand: Spark's own offsets stop at 18 hours,
        and the rule allows up to 23:59. Year 0000 is refused like everywhere else
        (Spark's calendar would accept it). -#}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- set tail = "substr(" ~ text_value ~ ", 20)" -%}
    {%- set offset_digits = "replace(regexp_extract(" ~ tail ~ ", '[+-][0-9]{2}(:?[0-9]{2})?$', 0), ':', '')" -%}
    case
        when
            regexp_extract(
                {{ text_value }},
                '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?',
                0
            ) = {{ text_value }}
            and left({{ text_value }}, 4) != '0000'
            then timestamp_micros(
                unix_micros({{ cast_function }}(
                    concat(
                        left({{ text_value }}, 10),
                        ' ',
                        coalesce(nullif(substr({{ text_value }}, 12, 8), ''), '00:00:00'),
                        regexp_extract({{ tail }}, '^[.][0-9]{1,6}', 0),
                        '+00:00'
                    ) as timestamp
                ))
                - cast({{ activation_offset_minutes(offset_digits) }} as bigint) * 60000000
            )
    end
{%- endmacro %}


{#- Minutes east of UTC from offset digits as the parsers extract them ('' for none,
    '+05', '-0530'): a plain SQL expression every engine accepts. -#}
{% macro activation_offset_minutes(offset_digits) -%}
    case when {{ offset_digits }} = '' then 0 else
        (case when left({{ offset_digits }}, 1) = '-' then -1 else 1 end) * (
            cast(substr({{ offset_digits }}, 2, 2) as integer) * 60
            + case when length({{ offset_digits }}) = 5 then cast(substr({{ offset_digits }}, 4, 2) as integer) else 0 end
        )
    end
{%- endmacro %}


{#- The var `activation_event_timestamp_format`, read through the var registry: `auto` (text or native
    timestamps, the forms above), `epoch_seconds` or `epoch_milliseconds` (numbers
    since 1970-01-01 UTC, in a numeric or text column). -#}
{% macro activation_event_timestamp_format() -%}
    {{ return(activation_var('activation_event_timestamp_format')) }}
{%- endmacro %}


{#- The event time as staging reads it: `activation_parse_timestamp`, or an epoch
    number when `activation_event_timestamp_format` says so. -#}
{% macro activation_parse_event_timestamp(expr) -%}
    {%- set timestamp_format = activation_event_timestamp_format() -%}
    {%- if timestamp_format == 'auto' -%}
        {{ activation_parse_timestamp(expr) }}
    {%- else -%}
        {{ activation_parse_epoch(expr, 'seconds' if timestamp_format == 'epoch_seconds' else 'milliseconds') }}
    {%- endif -%}
{%- endmacro %}


{#- Seconds or milliseconds since 1970-01-01 00:00:00 UTC into a naive UTC timestamp,
    or null. Accepted: an optional `-`, up to 12 (seconds) or 15 (milliseconds)
    digits, an optional fraction down to the microsecond (6 or 3 digits), surrounding
    whitespace ignored; the instant must fall in the years 0001-9999 like every other
    timestamp. Anything else (exponents, `+`, separators) is null. -#}
{% macro activation_parse_epoch(expr, unit) -%}
    {%- set text_value = activation_clean_text(expr) -%}
    {%- if unit == 'seconds' -%}
        {%- set pattern = '^-?[0-9]{1,12}([.][0-9]{1,6})?$' -%}
        {%- set micros = 'cast(' ~ text_value ~ ' as decimal(38, 6)) * 1000000' -%}
    {%- else -%}
        {%- set pattern = '^-?[0-9]{1,15}([.][0-9]{1,3})?$' -%}
        {%- set micros = 'cast(' ~ text_value ~ ' as decimal(38, 3)) * 1000' -%}
    {%- endif -%}
    {{ return(adapter.dispatch('activation_parse_epoch', 'milestone_activation')(text_value, pattern, micros, unit)) }}
{%- endmacro %}

{% macro default__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- try_cast: the cast must not fail on a row the pattern refuses, whatever order
        the engine evaluates the conditions in. -#}
    {%- set safe_micros = 'try_' ~ micros -%}
    case
        when regexp_matches({{ text_value }}, '{{ pattern }}')
            and {{ safe_micros }} between -62135596800000000 and 253402300799999999
            then make_timestamp(cast({{ safe_micros }} as bigint))
    end
{%- endmacro %}

{% macro postgres__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- Nested: nothing is cast before the pattern holds. Whole seconds and the
        microseconds are added apart, each exact. -#}
    case
        when {{ text_value }} ~ '{{ pattern }}'
            then case
                when {{ micros }} between -62135596800000000 and 253402300799999999
                    then timestamp '1970-01-01 00:00:00'
                        + cast(div({{ micros }}, 1000000) as bigint) * interval '1 second'
                        + cast(mod({{ micros }}, 1000000) as bigint) * interval '1 microsecond'
            end
    end
{%- endmacro %}

{% macro spark__activation_parse_epoch(text_value, pattern, micros, unit) -%}
    {#- Nested: nothing is cast before the pattern holds (with ANSI mode on, as on
        Databricks SQL, a failed cast would fail the query). -#}
    case
        when {{ text_value }} rlike '{{ pattern | replace('$', '\\\\z') }}'
            then case
                when {{ micros }} between -62135596800000000 and 253402300799999999
                    then timestamp_micros(cast({{ micros }} as bigint))
            end
    end
{%- endmacro %}


{#- True when `day` exists in `month` of `year` (integer SQL expressions; leap years
    included): for engines that cannot try a cast (PostgreSQL, Redshift). -#}
{% macro activation_day_fits_month(year, month, day) -%}
    {{ day }} <= case
        when {{ month }} = 2 and {{ year }} % 4 = 0 and ({{ year }} % 100 <> 0 or {{ year }} % 400 = 0) then 29
        when {{ month }} = 2 then 28
        when {{ month }} in (4, 6, 9, 11) then 30
        else 31
    end
{%- endmacro %}
