{#- Per user, the facts the BI marts need beyond milestones: invites sent (var
    `activation_invite_event`, counted by `activation_invite_count_property` when set),
    signups they brought (users naming them as inviter), conversion to paid (var `activation_conversion_event`, else a plan tier not in
    `activation_free_plan_tiers`) and the first activity after activation (events in
    `activation_activity_events`, or any event). One pass over the staged events. -#}
{%- set invite_event = var('activation_invite_event', 'invite_sent') -%}
{%- set invite_count_property = var('activation_invite_count_property', none) -%}
{%- set conversion_event = var('activation_conversion_event', none) -%}
{%- set activity_events = var('activation_activity_events', []) -%}
{%- set free_tiers = var('activation_free_plan_tiers', ['free']) -%}

with

events as (

    select * from {{ ref('int_activation__events') }}

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

event_facts as (

    select
        events.user_id,
        sum(
            case
                when events.event_name = '{{ invite_event }}'
                {%- if invite_count_property %}
                    then coalesce(
                        {{ activation_try_cast_integer(activation_json_extract_text('events.properties', "'" ~ invite_count_property ~ "'")) }},
                        1
                    )
                    {%- else %}
                    then 1
                {%- endif %}
                else 0
            end
        ) as invites_sent,
        {%- if conversion_event %}
        min(
            case
                when events.event_name = '{{ conversion_event }}' and events.event_at >= users.created_at
                    then events.event_at
            end
        ) as converted_at,
        {%- endif %}
        min(
            case
                when
                    events.event_at > users.activated_at
                {%- if activity_events | length > 0 %}
                    and events.event_name in ('{{ activity_events | join("', '") }}')
                    {%- endif %}
                    then events.event_at
            end
        ) as first_activity_after_activation_at

    from events
    inner join users
        on events.user_id = users.user_id
    group by events.user_id

),

final as (

    select
        users.user_id,
        cast(coalesce(event_facts.invites_sent, 0) as {{ dbt.type_int() }}) as invites_sent,
        cast(coalesce(invitations.invited_signups, 0) as {{ dbt.type_int() }}) as invited_signups,
        {%- if conversion_event %}
        event_facts.converted_at is not null as is_converted_to_paid,
        {%- else %}
        coalesce(users.plan_tier not in ('{{ free_tiers | join("', '") }}'), false) as is_converted_to_paid,
        {%- endif %}
        event_facts.first_activity_after_activation_at

    from users
    left join event_facts
        on users.user_id = event_facts.user_id
    left join invitations
        on users.user_id = invitations.inviter_user_id

)

select * from final
