{#- Validated milestone configuration, one row per milestone, with the timeframe in
    seconds. Compiling this model checks the whole configuration and fails the build
    with a message naming each bad milestone and the fix. -#}
{%- do activation_validate_milestone_config(
    ref('stg_activation__milestones'),
    ref('stg_activation__milestone_requirements')
) -%}

with

milestones as (

    select * from {{ ref('stg_activation__milestones') }}

),

final as (

    select
        milestone_id,
        milestone_definition,
        milestone_level,
        milestone_weight,
        is_activation_milestone,
        requires_milestone_id,
        triggered_by_event,
        coalesce(timeframe, cast(timeframe_days as {{ dbt.type_string() }}) || 'd') as timeframe,
        case
            when timeframe is null then timeframe_days * 86400
            when right(timeframe, 1) = 'h'
                then cast(left(timeframe, length(timeframe) - 1) as {{ dbt.type_int() }}) * 3600
            else cast(left(timeframe, length(timeframe) - 1) as {{ dbt.type_int() }}) * 86400
        end as timeframe_seconds

    from milestones

)

select * from final
