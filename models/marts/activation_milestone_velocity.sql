{#- Milestone velocity per signup cohort: mean and median hours from each funnel step to
    the next among users who reached both within timeframe (to_step_number >= 2), and
    time to first value from signup (to_step_number = 0; timeframe not applied). -#}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

steps as (

    select * from {{ ref('int_activation__milestone_steps') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

step_reaches as (

    select
        user_milestones.user_id,
        steps.step_number,
        steps.milestone_id,
        user_milestones.reached_at

    from user_milestones
    inner join steps
        on user_milestones.milestone_id = steps.milestone_id
    where user_milestones.is_within_timeframe

),

transitions as (

    select
        users.cohort_date,
        current_step.step_number as to_step_number,
        previous_step.milestone_id as from_milestone_id,
        current_step.milestone_id as to_milestone_id,
        {{ activation_seconds_between('previous_step.reached_at', 'current_step.reached_at') }} / 3600.0 as hours

    from step_reaches as current_step
    inner join step_reaches as previous_step
        on
            current_step.user_id = previous_step.user_id
            and current_step.step_number = previous_step.step_number + 1
    inner join users
        on current_step.user_id = users.user_id

),

first_value as (

    select
        cohort_date,
        0 as to_step_number,
        cast(null as {{ dbt.type_string() }}) as from_milestone_id,
        first_value_milestone_id as to_milestone_id,
        time_to_first_value_hours as hours

    from users
    where first_value_at is not null

),

unioned as (

    select * from first_value
    union all
    select * from transitions

),

final as (

    select
        unioned.cohort_date,
        unioned.to_step_number,
        unioned.from_milestone_id,
        unioned.to_milestone_id,
        count(*) as users,
        avg(unioned.hours) as mean_hours,
        {{ activation_median('unioned.hours') }} as median_hours,
        max(as_of.as_of_at) as as_of

    from unioned
    cross join as_of
    group by
        unioned.cohort_date,
        unioned.to_step_number,
        unioned.from_milestone_id,
        unioned.to_milestone_id

)

select * from final
