{#- Who to nudge now, and towards which milestone (one row per user at most).
    The target is the user's first funnel step not reached within timeframe, while its
    window is still open. Proactive: the step before it was reached, so push towards
    the next one. Reactive: no progress yet although the user is older than the median
    time completers needed for the target, so catch them before the window closes. -#}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

steps as (

    select * from {{ ref('int_activation__milestone_steps') }}

),

user_steps as (

    select
        user_milestones.user_id,
        user_milestones.user_created_at,
        user_milestones.milestone_id,
        user_milestones.milestone_level,
        user_milestones.is_within_timeframe,
        user_milestones.deadline_at,
        user_milestones.time_to_reach_seconds,
        user_milestones.as_of,
        steps.step_number,
        steps.previous_milestone_id

    from user_milestones
    inner join steps
        on user_milestones.milestone_id = steps.milestone_id

),

completer_medians as (

    select
        milestone_id,
        {{ activation_median('time_to_reach_seconds') }} as median_seconds_to_reach

    from user_steps
    where is_within_timeframe
    group by milestone_id

),

first_open_steps as (

    select
        user_id,
        min(step_number) as target_step_number

    from user_steps
    where not is_within_timeframe
    group by user_id

),

targets as (

    select
        target.user_id,
        target.milestone_id,
        target.milestone_level,
        target.step_number,
        target.previous_milestone_id,
        target.deadline_at,
        target.user_created_at,
        target.as_of,
        coalesce(previous_step.is_within_timeframe, false) as is_previous_reached,
        completer_medians.median_seconds_to_reach

    from first_open_steps
    inner join user_steps as target
        on
            first_open_steps.user_id = target.user_id
            and first_open_steps.target_step_number = target.step_number
    left join user_steps as previous_step
        on
            target.user_id = previous_step.user_id
            and target.step_number = previous_step.step_number + 1
    left join completer_medians
        on target.milestone_id = completer_medians.milestone_id
    where target.deadline_at > target.as_of

),

classified as (

    select
        *,
        case
            when step_number > 1 and is_previous_reached then 'proactive'
            when
                {{ activation_seconds_between('user_created_at', 'as_of') }} > median_seconds_to_reach
                then 'reactive'
        end as nudge_type

    from targets

),

final as (

    select
        user_id,
        nudge_type,
        milestone_id,
        milestone_level,
        previous_milestone_id,
        deadline_at,
        {{ activation_seconds_between('as_of', 'deadline_at') }} / 86400.0 as days_left,
        median_seconds_to_reach / 86400.0 as median_days_to_reach,
        as_of

    from classified
    where nudge_type is not null

)

select * from final
