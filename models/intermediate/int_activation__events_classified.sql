{#- Every raw event row with its final quarantine reason (null when usable) and, for
    usable rows, its copy number among duplicates. Reasons are checked in order:
    missing_user_id, missing_event_name, invalid_timestamp, future_timestamp,
    invalid_properties_json, unknown_user. Duplicates are same event_id when present,
    otherwise same (user_id, event_name, event_at, properties); copy 1 is kept. -#}

with

events as (

    select * from {{ ref('stg_activation__events') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

classified as (

    select
        events.event_id,
        events.user_id,
        events.event_name,
        events.event_name_raw,
        events.event_at,
        events.event_timestamp_raw,
        events.properties,
        case
            when events.row_problem is not null then events.row_problem
            when
                events.event_at
                > {{ activation_dateadd('hour', var('activation_future_tolerance_hours', 24), 'as_of.as_of_at') }}
                then 'future_timestamp'
            when not events.is_properties_valid then 'invalid_properties_json'
            when users.user_id is null then 'unknown_user'
        end as quarantine_reason

    from events
    cross join as_of
    left join users
        on events.user_id = users.user_id

),

final as (

    select
        *,
        case
            when quarantine_reason is null
                then row_number() over (
                    partition by
                        quarantine_reason,
                        coalesce(event_id, ''),
                        case when event_id is null then user_id end,
                        case when event_id is null then event_name end,
                        case when event_id is null then event_at end,
                        case when event_id is null then coalesce(properties, '') end,
                        case when event_id is null then properties is null end
                    order by event_at, user_id, event_name, coalesce(properties, '')
                )
        end as copy_number

    from classified

)

select * from final
