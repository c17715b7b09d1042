{#- The quarantined event rows with their raw values (name and time text as received,
    properties), for debugging why a row was rejected. It lives in the staging schema
    on purpose: the raw text of a rejected row may hold anything (emails have been seen
    in properties), so the marts schema BI tools read gets only ids, reasons and dates
    (activation_quarantined_events, which reads this model). -#}

with

classified as (

    select * from {{ ref('int_activation__events_classified') }}

),

final as (

    select
        source_relation,
        event_id,
        user_id,
        event_name,
        event_name_raw,
        event_at,
        event_timestamp_raw,
        properties,
        quarantine_reason,
        partition_date

    from classified
    where quarantine_reason is not null and quarantine_reason != 'before_start_date'

)

select * from final
