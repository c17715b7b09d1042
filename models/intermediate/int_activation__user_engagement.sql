{#- Per user, the facts the BI marts need beyond milestones: invites sent, signups they
    brought (users naming them as inviter), conversion to paid (var
    `activation_conversion_event`, else a plan tier not in `activation_free_plan_tiers`)
    and whether there was activity within 7 and 30 days after activation, the first
    conversion date, and activity in (created_at + 30 days, created_at + 60 days] (the
    signup-relative D30 retention of `activation_milestone_impact`). Read from the
    per-day facts in `int_activation__user_daily_activity`: a day has activity in a
    window longer than a day exactly when its first or its last activity does. -#}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set free_tiers = activation_var('activation_free_plan_tiers') -%}

with

daily_activity as (

    select * from {{ ref('int_activation__user_daily_activity') }}
    where user_id is not null

),

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

invitations as (

    select
        inviter_user_id,
        count(*) as invited_signups

    from users
    where inviter_user_id is not null
    group by inviter_user_id

),

windowed_activity as (

    select
        daily_activity.*,
        users.activated_at,
        users.created_at as user_created_at,
        {{ activation_dateadd('day', 7, 'users.activated_at') }} as day_7_at,
        {{ activation_dateadd('day', 30, 'users.activated_at') }} as day_30_at,
        {{ activation_dateadd('day', 30, 'users.created_at') }} as signup_day_30_at,
        {{ activation_dateadd('day', 60, 'users.created_at') }} as signup_day_60_at

    from daily_activity
    inner join users
        on daily_activity.user_id = users.user_id

),

activity_facts as (

    select
        user_id,
        sum(invites_sent) as invites_sent,
        max(case when last_conversion_at >= user_created_at then 1 else 0 end) as has_conversion,
        max(
            case
                when
                    (first_activity_at > activated_at and first_activity_at <= day_7_at)
                    or (last_activity_at > activated_at and last_activity_at <= day_7_at)
                    then 1
                else 0
            end
        ) as has_activity_d7,
        max(
            case
                when
                    (first_activity_at > activated_at and first_activity_at <= day_30_at)
                    or (last_activity_at > activated_at and last_activity_at <= day_30_at)
                    then 1
                else 0
            end
        ) as has_activity_d30,
        max(
            case
                when
                    (first_activity_at > signup_day_30_at and first_activity_at <= signup_day_60_at)
                    or (last_activity_at > signup_day_30_at and last_activity_at <= signup_day_60_at)
                    then 1
                else 0
            end
        ) as has_activity_signup_d30,
        min(case when last_conversion_at >= user_created_at then partition_date end) as first_conversion_date

    from windowed_activity
    group by user_id

),

final as (

    select
        users.user_id,
        cast(coalesce(activity_facts.invites_sent, 0) as {{ dbt.type_int() }}) as invites_sent,
        cast(coalesce(invitations.invited_signups, 0) as {{ dbt.type_int() }}) as invited_signups,
        {%- if conversion_event %}
        coalesce(activity_facts.has_conversion, 0) = 1 as is_converted_to_paid,
        {%- else %}
        {%- if free_tiers | length > 0 %}
        coalesce(
            users.plan_tier not in {{ activation_string_literal_list(free_tiers) }}, false
        ) as is_converted_to_paid,
        {%- else %}
        users.plan_tier is not null as is_converted_to_paid,
        {%- endif %}
        {%- endif %}
        coalesce(activity_facts.has_activity_d7, 0) = 1 as is_retained_d7,
        coalesce(activity_facts.has_activity_d30, 0) = 1 as is_retained_d30,
        coalesce(activity_facts.has_activity_signup_d30, 0) = 1 as has_activity_signup_d30,
        activity_facts.first_conversion_date

    from users
    left join activity_facts
        on users.user_id = activity_facts.user_id
    left join invitations
        on users.user_id = invitations.inviter_user_id

)

select * from final
