{#- One row per user: cohort, segments, progress through the milestones, activation,
    time to first value, activation score and the status band with its action, plus
    invites sent and conversion to paid. -#}

with

user_summaries as (

    select * from {{ ref('int_activation__user_summaries') }}

),

user_engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

final as (

    select
        user_summaries.*,
        user_engagement.invites_sent,
        user_engagement.is_converted_to_paid

    from user_summaries
    left join user_engagement
        on user_summaries.user_id = user_engagement.user_id

)

select * from final
