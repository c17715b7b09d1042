{#- One row per user and milestone: whether and when the user reached it, by which
    path, and whether inside the milestone's timeframe. -#}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

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
        is_reached,
        reached_at,
        reached_path_id,
        is_within_timeframe,
        is_late,
        time_to_reach_seconds,
        time_to_reach_seconds / 3600.0 as time_to_reach_hours,
        time_to_reach_seconds / 86400.0 as time_to_reach_days,
        is_window_open,
        as_of

    from user_milestones

)

select * from final
