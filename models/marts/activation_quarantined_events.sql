{#- Every raw event row the package could not use, with the reason. Nothing is
    dropped silently: raw rows = staged + quarantined + duplicates removed.
    Ids, reasons and dates only: the raw text of a rejected row (name and time as
    received, properties) stays in int_activation__quarantined_event_details in the
    staging schema, out of the schema BI tools read. -#}

with

details as (

    select * from {{ ref('int_activation__quarantined_event_details') }}

),

final as (

    select
        source_relation,
        event_id,
        user_id,
        event_name,
        event_at,
        quarantine_reason

    from details

)

select * from final
