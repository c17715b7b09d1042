{#- One row per user and funnel step. A step is completed when every step up to it was
    reached within its timeframe and in non-decreasing time order (SPEC §6);
    `hours_from_previous_step` is measured from the previous step (step 1: signup).
    Censoring (SPEC §6): a user is eligible for the funnel's counts once the longest
    step window has closed (created_at + the greatest timeframe of all steps <= as_of,
    the cohort completion mart's arithmetic); until then they are in progress, never
    a drop-off. -#}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

steps as (

    select * from {{ ref('int_activation__milestone_steps') }}

),

longest_step_window as (

    select max(timeframe_seconds) as longest_step_window_seconds
    from steps

),

ordered as (

    select
        user_milestones.user_id,
        steps.step_number,
        steps.milestone_id,
        user_milestones.user_created_at,
        coalesce(
            {{ activation_dateadd(
                'second', 'longest_step_window.longest_step_window_seconds', 'user_milestones.user_created_at'
            ) }} <= user_milestones.as_of,
            false
        ) as is_eligible,
        user_milestones.is_within_timeframe,
        user_milestones.reached_at,
        lag(user_milestones.reached_at) over (
            partition by user_milestones.user_id
            order by steps.step_number
        ) as previous_reached_at

    from user_milestones
    inner join steps
        on user_milestones.milestone_id = steps.milestone_id
    cross join longest_step_window

),

step_checks as (

    select
        *,
        case
            when
                is_within_timeframe
                and (step_number = 1 or reached_at >= previous_reached_at)
                then 1
            else 0
        end as is_step_in_order

    from ordered

),

final as (

    select
        user_id,
        step_number,
        milestone_id,
        min(is_step_in_order) over (
            partition by user_id
            order by step_number
            rows between unbounded preceding and current row
        ) = 1 as is_step_completed,
        is_eligible,
        {{ activation_seconds_between('coalesce(previous_reached_at, user_created_at)', 'reached_at') }} / 3600.0
            as hours_from_previous_step

    from step_checks

)

select * from final
