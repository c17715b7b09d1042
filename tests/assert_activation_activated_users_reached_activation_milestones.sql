{#- Activation rule (SPEC §4): a user is activated exactly when every activation
    milestone was reached within its timeframe, and activated_at is the latest of those
    reach times. Activation milestones are the flagged ones or, when none is flagged,
    the highest-level ones. Recomputed here from int_activation__user_milestones (the
    per-user milestone grid activation_user_milestones also shows), read upstream
    without a graph edge so the test runs with activation_users alone; returns the
    users where activation_users disagrees. -#}

with

user_milestones as (

    select * from {{ milestone_activation.activation_upstream_relation('int_activation__user_milestones') }}

),

users as (

    select * from {{ ref('activation_users') }}

),

flag_counts as (

    select count(distinct case when is_activation_milestone then milestone_id end) as flagged_milestones
    from user_milestones

),

top_level as (

    select max(milestone_level) as max_level
    from user_milestones

),

activation_rows as (

    select user_milestones.*
    from user_milestones
    cross join flag_counts
    cross join top_level
    where
        user_milestones.is_activation_milestone
        or (flag_counts.flagged_milestones = 0 and user_milestones.milestone_level = top_level.max_level)

),

expected as (

    select
        user_id,
        count(*) as activation_milestones,
        sum(case when is_within_timeframe then 1 else 0 end) as reached_within_timeframe,
        max(reached_at) as latest_reached_at

    from activation_rows
    group by user_id

)

select
    users.user_id,
    users.is_activated,
    users.activated_at,
    expected.activation_milestones,
    expected.reached_within_timeframe,
    expected.latest_reached_at

from users
left join expected
    on users.user_id = expected.user_id
where
    users.is_activated != coalesce(expected.reached_within_timeframe = expected.activation_milestones, false)
    or (users.is_activated and users.activated_at != expected.latest_reached_at)
