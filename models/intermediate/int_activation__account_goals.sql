{#- When each account first met each goal (SPEC §10): account activation and every
    milestone. An account's members are its staged users created on or before as_of;
    a member meets the activation goal at `activated_at` and a milestone goal at its
    reach within the timeframe. Walking through the member signups and goal times in
    time order, with U(t) members signed up by t and A(t) of them past the goal by t,
    the account meets the goal at the first goal time t where the rule of var
    `activation_account_activation_rule` holds:
        any        A >= 1
        all        A = U
        min_users  A >= var activation_account_min_users
        min_share  A / U >= var activation_account_min_share
    Signups and goal times at the same instant count together. A later signup can
    lower the share before the rule is met; once met, the goal stays met. -#}
{{ config(enabled=activation_var('activation_accounts_enabled')) }}
{%- set rule = activation_var('activation_account_activation_rule') -%}
{%- set double = activation_type_double() -%}

with

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

members as (

    select
        users.user_id,
        users.account_id,
        users.created_at,
        users.activated_at

    from users
    cross join as_of
    where users.account_id is not null and users.created_at <= as_of.as_of_at

),

member_goal_times as (

    {#- Every member with every goal, and the time the member reached it (null: not). #}
    select
        account_id,
        user_id,
        created_at,
        'activation' as goal_type,
        'activation' as goal_id,
        cast(null as {{ dbt.type_int() }}) as milestone_level,
        activated_at as achieved_at

    from members

    union all

    select
        members.account_id,
        members.user_id,
        members.created_at,
        'milestone' as goal_type,
        milestones.milestone_id as goal_id,
        milestones.milestone_level,
        case when user_milestones.is_within_timeframe then user_milestones.reached_at end as achieved_at

    from members
    cross join milestones
    left join user_milestones
        on
            members.user_id = user_milestones.user_id
            and milestones.milestone_id = user_milestones.milestone_id

),

timeline as (

    select
        account_id,
        goal_type,
        goal_id,
        created_at as event_at,
        1 as members_added,
        0 as achievers_added

    from member_goal_times

    union all

    select
        account_id,
        goal_type,
        goal_id,
        achieved_at as event_at,
        0 as members_added,
        1 as achievers_added

    from member_goal_times
    where achieved_at is not null

),

timeline_points as (

    select
        account_id,
        goal_type,
        goal_id,
        event_at,
        sum(members_added) as members_added,
        sum(achievers_added) as achievers_added

    from timeline
    group by account_id, goal_type, goal_id, event_at

),

running as (

    select
        account_id,
        goal_type,
        goal_id,
        event_at,
        achievers_added,
        sum(members_added) over (
            partition by account_id, goal_type, goal_id
            order by event_at
            rows between unbounded preceding and current row
        ) as members_so_far,
        sum(achievers_added) over (
            partition by account_id, goal_type, goal_id
            order by event_at
            rows between unbounded preceding and current row
        ) as achievers_so_far

    from timeline_points

),

met as (

    select
        account_id,
        goal_type,
        goal_id,
        min(event_at) as met_at

    from running
    where
        achievers_added > 0
        {%- if rule == 'any' %}
        and achievers_so_far >= 1
        {%- elif rule == 'all' %}
        and achievers_so_far = members_so_far
        {%- elif rule == 'min_users' %}
        and achievers_so_far >= {{ activation_var('activation_account_min_users') }}
        {%- else %}
        and cast(achievers_so_far as {{ double }}) / members_so_far
        >= cast({{ activation_var('activation_account_min_share') }} as {{ double }})
        {%- endif %}
    group by account_id, goal_type, goal_id

),

goal_totals as (

    select
        account_id,
        goal_type,
        goal_id,
        max(milestone_level) as milestone_level,
        min(created_at) as account_created_at,
        count(*) as members,
        count(achieved_at) as achievers

    from member_goal_times
    group by account_id, goal_type, goal_id

),

final as (

    select
        goal_totals.account_id,
        goal_totals.account_created_at,
        goal_totals.goal_type,
        goal_totals.goal_id,
        goal_totals.milestone_level,
        goal_totals.members,
        goal_totals.achievers,
        met.met_at

    from goal_totals
    left join met
        on
            goal_totals.account_id = met.account_id
            and goal_totals.goal_type = met.goal_type
            and goal_totals.goal_id = met.goal_id

)

select * from final
