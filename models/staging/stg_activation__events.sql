{#- One row per raw events row: names normalised, time parsed to UTC, and the
    row-level problems a single row can show by itself. Problems that need other
    tables (unknown user, future time, duplicates) are decided downstream. -#}
{%- set timestamp_column = var('activation_event_timestamp_column', 'event_timestamp') -%}

with

source as (

    select * from {{ source('activation', 'events') }}

),

renamed as (

    select
        {{ activation_clean_text('event_id') }} as event_id,
        {{ activation_clean_text('user_id') }} as user_id,
        {{ activation_normalize_name('event_name') }} as event_name,
        cast(event_name as {{ dbt.type_string() }}) as event_name_raw,
        {{ activation_parse_timestamp(timestamp_column) }} as event_at,
        cast({{ timestamp_column }} as {{ dbt.type_string() }}) as event_timestamp_raw,
        cast(properties as {{ dbt.type_string() }}) as properties

    from source

),

final as (

    select
        *,
        case
            when user_id is null then 'missing_user_id'
            when event_name is null then 'missing_event_name'
            when event_at is null then 'invalid_timestamp'
        end as row_problem,
        properties is null or coalesce({{ activation_json_is_valid('properties') }}, false)
            as is_properties_valid

    from renamed

)

select * from final
