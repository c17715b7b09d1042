{#- Every raw event row the package could not use, with the reason. Nothing is
    dropped silently: raw rows = staged + quarantined + duplicates removed. -#}

with

classified as (

    select * from {{ ref('int_activation__events_classified') }}

),

final as (

    select
        event_id,
        user_id,
        event_name,
        event_name_raw,
        event_timestamp_raw,
        event_at,
        properties,
        quarantine_reason

    from classified
    where quarantine_reason is not null

)

select * from final
