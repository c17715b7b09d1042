{#- The user x milestone grid with reach status against each milestone's timeframe
    (inclusive deadline). A view: both per-user marts read it, nothing stores it twice. -#}

with

users as (

    select * from {{ ref('int_activation__users') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

reaches as (

    {#- The reach rows, not the bookkeeping rows. #}
    select * from {{ ref('int_activation__milestone_reaches') }}
    where milestone_id is not null

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

grid as (

    select
        users.user_id,
        users.created_at as user_created_at,
        milestones.milestone_id,
        milestones.milestone_level,
        milestones.milestone_weight,
        milestones.is_activation_milestone,
        milestones.timeframe_seconds,
        {{ activation_dateadd('second', 'milestones.timeframe_seconds', 'users.created_at') }} as deadline_at,
        reaches.reached_at,
        reaches.reached_path_id,
        as_of.as_of_at

    from users
    cross join milestones
    cross join as_of
    left join reaches
        on
            users.user_id = reaches.user_id
            and milestones.milestone_id = reaches.milestone_id

),

final as (

    select
        user_id,
        milestone_id,
        milestone_level,
        milestone_weight,
        is_activation_milestone,
        user_created_at,
        timeframe_seconds,
        deadline_at,
        reached_at is not null as is_reached,
        reached_at,
        reached_path_id,
        coalesce(reached_at <= deadline_at, false) as is_within_timeframe,
        coalesce(reached_at > deadline_at, false) as is_late,
        {{ activation_seconds_between('user_created_at', 'reached_at') }} as time_to_reach_seconds,
        deadline_at > as_of_at as is_window_open,
        as_of_at as as_of

    from grid

)

select * from final
