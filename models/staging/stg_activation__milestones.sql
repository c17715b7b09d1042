{#- Milestone definitions from the package seed, or from your table when
    `activation_milestones_identifier` is set. Validation happens downstream in
    int_activation__milestones, which fails the build on bad configuration. -#}

with

source as (

    {% if activation_var('activation_milestones_identifier') -%}
    select * from {{ source('activation', 'milestones') }}
    {%- else -%}
    select * from {{ ref('activation_milestones') }}
    {%- endif %}

),

final as (

    select
        {{ activation_clean_text('milestone_id') }} as milestone_id,
        {{ activation_clean_text('definition') }} as milestone_definition,
        cast(level as {{ dbt.type_int() }}) as milestone_level,
        cast(weight as {{ activation_type_double() }}) as milestone_weight,
        lower({{ activation_clean_text('timeframe') }}) as timeframe,
        cast(timeframe_days as {{ dbt.type_int() }}) as timeframe_days,
        {{ activation_normalize_name('triggered_by_event') }} as triggered_by_event,
        coalesce(cast(is_activation as {{ dbt.type_boolean() }}), false) as is_activation_milestone,
        {{ activation_clean_text('requires_milestone_id') }} as requires_milestone_id

    from source

)

select * from final
