{#- When each user met each requirement: the time of the k-th qualifying event
    (k = min_count), counting only events at or after signup, ordered by
    (event_at, event_id) (SPEC §3). One row per user and requirement met.
    Events are filtered to the names some requirement needs before any window runs,
    and ranked once per requirement signature, keeping only ranks up to the largest
    min_count any requirement of that signature asks for. -#}

with

events as (

    select * from {{ ref('int_activation__events') }}

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
    group by 1, 2, 3, 4

),

needed_events as (

    select
        events.user_id,
        events.event_id,
        events.event_name,
        events.event_at,
        events.properties

    from events
    inner join users
        on events.user_id = users.user_id
    where
        events.event_name in (select signatures.event_name from signatures)
        and events.event_at >= users.created_at

),

qualifying_events as (

    select
        needed_events.user_id,
        signatures.requirement_signature_id,
        signatures.max_min_count,
        needed_events.event_at,
        row_number() over (
            partition by needed_events.user_id, signatures.requirement_signature_id
            order by needed_events.event_at, needed_events.event_id
        ) as occurrence_number

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

counted_occurrences as (

    {#- Only occurrences some requirement asks for are joined on. #}
    select *
    from qualifying_events
    where occurrence_number <= max_min_count

),

final as (

    select
        counted_occurrences.user_id,
        requirements.requirement_id,
        requirements.milestone_id,
        requirements.path_id,
        counted_occurrences.event_at as reached_at

    from counted_occurrences
    inner join requirements
        on
            counted_occurrences.requirement_signature_id = requirements.requirement_signature_id
            and counted_occurrences.occurrence_number = requirements.min_count

)

select * from final
