{#- Sales queue: users whose rolling PQL score is currently in a hand-off band, with
    their latest crossing, the milestones behind the score and how old the account is. -#}
{{ config(enabled=activation_var('activation_pql_enabled')) }}

with

history as (

    select * from {{ ref('activation_pql_score_history') }}

),

handoffs as (

    select * from {{ ref('activation_pql_handoffs') }}

),

users as (

    select * from {{ ref('activation_users') }}

),

latest_handoffs as (

    select
        user_id,
        max(crossed_at) as last_crossed_at

    from handoffs
    group by user_id

),

final as (

    select
        history.user_id,
        users.account_id,
        users.plan_tier,
        history.pql_score,
        history.pql_band,
        history.pql_action,
        history.top_milestones,
        latest_handoffs.last_crossed_at,
        users.created_at

    from history
    inner join users
        on history.user_id = users.user_id
    left join latest_handoffs
        on history.user_id = latest_handoffs.user_id
    where
        history.is_current
        and history.pql_band != 'nurture'

)

select * from final
order by pql_score desc, last_crossed_at desc
