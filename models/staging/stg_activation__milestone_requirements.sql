{#- Requirement rows for composite and multi-path milestones, from the package seed
    or from your table when `activation_milestone_requirements_identifier` is set. -#}

with

source as (

    {% if activation_var('activation_milestone_requirements_identifier') -%}
    select * from {{ source('activation', 'milestone_requirements') }}
    {%- else -%}
    select * from {{ ref('activation_milestone_requirements') }}
    {%- endif %}

),

final as (

    select
        {{ activation_clean_text('milestone_id') }} as milestone_id,
        coalesce(cast(path_id as {{ dbt.type_int() }}), 1) as path_id,
        {{ activation_normalize_name('event_name') }} as event_name,
        cast(min_count as {{ dbt.type_int() }}) as min_count,
        {{ activation_clean_text('property_key') }} as property_key,
        cast(property_value as {{ dbt.type_string() }}) as property_value

    from source

)

select * from final
