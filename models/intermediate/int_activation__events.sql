{#- Staged events: usable and deduplicated, one row per distinct event. A view over
    int_activation__events_classified, the one stored pass over the events; everything
    downstream filters it to the event names it needs. The properties of
    `activation_event_passthrough_properties` come out as columns `property_<key>`. -#}

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
        event_at,
        {%- for key, column_name in activation_passthrough_properties() %}
        {{ activation_json_extract_text('properties', activation_string_literal(key)) }} as {{ column_name }},
        {%- endfor %}
        properties

    from classified
    where
        quarantine_reason is null
        and copy_number = 1

)

select * from final
