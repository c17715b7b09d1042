{#- Funnel steps: milestones in (level, milestone_id) order, numbered from 1, each with
    the milestone of the step before it. -#}

with

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

numbered as (

    select
        milestone_id,
        milestone_level,
        timeframe_seconds,
        cast(row_number() over (order by milestone_level, milestone_id) as {{ dbt.type_bigint() }}) as step_number

    from milestones

),

final as (

    select
        numbered.step_number,
        numbered.milestone_id,
        numbered.milestone_level,
        numbered.timeframe_seconds,
        previous_step.milestone_id as previous_milestone_id

    from numbered
    left join numbered as previous_step
        on numbered.step_number = previous_step.step_number + 1

)

select * from final
