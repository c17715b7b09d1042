{#- A reach is either within the timeframe or late, never both; and it is one of the
    two exactly when the milestone was reached. -#}

select
    user_id,
    milestone_id,
    is_reached,
    is_within_timeframe,
    is_late

from {{ ref('activation_user_milestones') }}
where
    (is_late and is_within_timeframe)
    or ((is_late or is_within_timeframe) != is_reached)
