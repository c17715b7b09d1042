{#- The run's reference time, one row (SPEC preamble): var `activation_as_of` when set,
    else the latest parseable event time in the data (every stored event row,
    quarantined or not; not the rows set aside by var `activation_start_date`). Never the wall clock, so the same
    inputs give the same outputs on any day. An events table with rows but no
    parseable time and no `activation_as_of` stops the build; an empty one gives a
    null as_of and empty marts downstream. -#}
{%- set as_of_var = activation_var('activation_as_of') -%}

with

{% if as_of_var -%}
configured as (

    select {{ activation_parse_timestamp(activation_string_literal(as_of_var)) }} as as_of_at

),

final as (

    select
        case
            when as_of_at is null
                then cast({{ activation_raise_error(
                    "activation_as_of = '" ~ as_of_var ~ "' is not a timestamp. Fix: use ISO format such as 2025-10-01 or 2025-10-01T00:00:00Z."
                ) }} as {{ dbt.type_timestamp() }})
            else as_of_at
        end as as_of_at,
        'var' as as_of_source

    from configured

)
{%- else -%}
events as (

    select * from {{ ref('int_activation__events_classified') }}

),

summary as (

    select
        max(event_at) as latest_event_at,
        count(*) as event_rows

    from events
    where coalesce(quarantine_reason, '') != 'before_start_date'

),

final as (

    select
        case
            when event_rows > 0 and latest_event_at is null
                then cast({{ activation_raise_error(
                    "No event has a valid timestamp and activation_as_of is not set. Fix: check the events timestamp column (var activation_event_timestamp_column) or set var activation_as_of."
                ) }} as {{ dbt.type_timestamp() }})
            else latest_event_at
        end as as_of_at,
        'latest_event' as as_of_source

    from summary

)
{%- endif %}

select * from final
