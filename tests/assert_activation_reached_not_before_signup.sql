{#- Only events at or after signup count (SPEC §3), so no milestone is reached before
    the user was created, and time to reach is never negative. -#}

select
    user_id,
    milestone_id,
    user_created_at,
    reached_at,
    time_to_reach_seconds

from {{ ref('activation_user_milestones') }}
where
    reached_at < user_created_at
    or time_to_reach_seconds < 0
