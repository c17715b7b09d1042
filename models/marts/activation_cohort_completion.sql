{#- Completion rate per signup cohort, milestone and window (the milestone's own
    timeframe, D0, D7, D30). Censored (SPEC §6): a user counts in a window's denominator
    only once created_at + window <= as_of, so young cohorts do not look like failures.
    A reach counts only inside both the window and the milestone's timeframe. -#}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

windows as (

    select
        'timeframe' as window_name,
        cast(null as {{ dbt.type_int() }}) as fixed_window_seconds
    union all
    select
        'd0' as window_name,
        86400 as fixed_window_seconds
    union all
    select
        'd7' as window_name,
        604800 as fixed_window_seconds
    union all
    select
        'd30' as window_name,
        2592000 as fixed_window_seconds

),

user_windows as (

    select
        users.cohort_date,
        user_milestones.user_id,
        user_milestones.milestone_id,
        user_milestones.milestone_level,
        windows.window_name,
        coalesce(windows.fixed_window_seconds, user_milestones.timeframe_seconds) as window_seconds,
        user_milestones.user_created_at,
        user_milestones.reached_at,
        user_milestones.is_within_timeframe,
        user_milestones.as_of

    from user_milestones
    inner join users
        on user_milestones.user_id = users.user_id
    cross join windows

),

flagged as (

    select
        *,
        {{ activation_dateadd('second', 'window_seconds', 'user_created_at') }} <= as_of as is_eligible,
        is_within_timeframe
        and reached_at <= {{ activation_dateadd('second', 'window_seconds', 'user_created_at') }} as is_completed

    from user_windows

),

counted as (

    select
        cohort_date,
        milestone_id,
        milestone_level,
        window_name,
        max(window_seconds) as window_seconds,
        count(*) as cohort_users,
        count(case when is_eligible then 1 end) as eligible_users,
        count(case when is_eligible and is_completed then 1 end) as completed_users,
        max(as_of) as as_of

    from flagged
    group by cohort_date, milestone_id, milestone_level, window_name

),

final as (

    select
        cohort_date,
        milestone_id,
        milestone_level,
        window_name,
        window_seconds,
        cohort_users,
        eligible_users,
        completed_users,
        cast(completed_users as {{ activation_type_double() }}) / nullif(eligible_users, 0) as completion_rate,
        {{ activation_wilson_interval('completed_users', 'eligible_users', 'completion_rate') }},
        eligible_users = cohort_users as is_mature,
        as_of

    from counted

)

select * from final
