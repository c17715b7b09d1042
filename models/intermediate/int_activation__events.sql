{#- Staged events: usable and deduplicated, one row per distinct event. A view over
    int_activation__events_classified, the one stored pass over the events; everything
    downstream filters it to the event names it needs. -#}

with

classified as (

    select * from {{ ref('int_activation__events_classified') }}

),

final as (

    select
        event_id,
        user_id,
        event_name,
        event_at,
        properties

    from classified
    where
        quarantine_reason is null
        and copy_number = 1

)

select * from final
