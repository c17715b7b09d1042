{#- The events that can count toward a requirement, narrow and partitioned by event
    date: usable, deduplicated events of users who exist, at or after signup, whose
    name (and property filter) matches a requirement signature. Per user, signature
    and day only the first `max_min_count` events are kept (one row a day, from an
    aggregate, with a null event_id, where every requirement of the signature needs a
    single event), which always contains each user's first `max_min_count` events
    overall.

    Incremental by event date with the window of `int_activation__events_classified`.
    One marker row per rewritten date (user_id null, carrying `config_fingerprint`)
    makes a date whose rows all drop out still get replaced; a change in the
    milestone requirements rebuilds the model in full. -#}
{{ config(**activation_incremental_config('partition_date')) }}
{%- set signature_sql -%}
    select requirement_signature_id, event_name, property_key, property_value, max(min_count)
    from {{ ref('int_activation__milestone_requirements') }}
    group by 1, 2, 3, 4
    order by 1
{%- endset -%}
{%- set config_fingerprint = activation_config_fingerprint(
    signature_sql, depends_on=ref('int_activation__milestone_requirements')
) -%}
{%- set window_start = activation_processed_window_start(config_fingerprint) %}

with

events as (

    select * from {{ ref('int_activation__events_classified') }}
    {%- if window_start %}
    where partition_date >= cast({{ activation_string_literal(window_start) }} as date)
    {%- endif %}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

requirements as (

    select * from {{ ref('int_activation__milestone_requirements') }}

),

signatures as (

    select
        requirement_signature_id,
        event_name,
        property_key,
        property_value,
        max(min_count) as max_min_count

    from requirements
    group by requirement_signature_id, event_name, property_key, property_value

),

needed_events as (

    select
        events.user_id,
        events.event_id,
        events.event_name,
        events.event_at,
        events.properties,
        events.partition_date

    from events
    inner join users
        on events.user_id = users.user_id
    where
        events.quarantine_reason is null
        and events.copy_number = 1
        and events.event_name in (select signatures.event_name from signatures)
        and events.event_at >= users.created_at

),

matched_events as (

    select
        needed_events.user_id,
        signatures.requirement_signature_id,
        signatures.max_min_count,
        needed_events.event_id,
        needed_events.event_at,
        needed_events.partition_date

    from needed_events
    inner join signatures
        on
            needed_events.event_name = signatures.event_name
            and (
                signatures.property_key is null
                or {{ activation_json_extract_text('needed_events.properties', 'signatures.property_key') }}
                = signatures.property_value
            )

),

qualifying_events as (

    {#- Signatures that need one event: the day's first event by an aggregate (its
        event_id does not matter downstream, only its time). Others: the day's first
        `max_min_count` events by a window. -#}
    select
        user_id,
        requirement_signature_id,
        cast(null as {{ dbt.type_string() }}) as event_id,
        min(event_at) as event_at,
        partition_date

    from matched_events
    where max_min_count = 1
    group by user_id, requirement_signature_id, partition_date

    union all

    select
        user_id,
        requirement_signature_id,
        event_id,
        event_at,
        partition_date

    from (
        select
            *,
            row_number() over (
                partition by user_id, requirement_signature_id, partition_date
                order by event_at, event_id
            ) as day_occurrence_number

        from matched_events
        where max_min_count > 1
    ) as numbered
    where day_occurrence_number <= max_min_count

),

partition_markers as (

    select distinct partition_date
    from events

),

final as (

    select
        user_id,
        requirement_signature_id,
        event_id,
        event_at,
        partition_date,
        cast(null as {{ dbt.type_string() }}) as config_fingerprint

    from qualifying_events

    union all

    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_bigint() }}) as requirement_signature_id,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_timestamp() }}) as event_at,
        partition_date,
        {{ activation_string_literal(config_fingerprint) }} as config_fingerprint

    from partition_markers

)

select * from final
