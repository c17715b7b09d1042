{#- Per user, the facts the BI marts need beyond milestones: invites sent, signups they
    brought (users naming them as inviter), conversion to paid (var
    `activation_conversion_event`, else a plan tier not in `activation_free_plan_tiers`)
    and whether there was activity within 7 and 30 days after activation, the first
    conversion date, and activity in (created_at + 30 days, created_at + 60 days] (the
    signup-relative D30 retention of `activation_milestone_impact`). Read from the
    per-day facts in `int_activation__user_daily_activity`: a day has activity in a
    window longer than a day exactly when its first or its last activity does.

    Incremental by user (`activation_user_window` on the daily activity's date markers,
    macros/activation_incremental.sql): a run recomputes only the touched users and
    replaces their rows (delete+insert keyed on `user_id`): users with daily rows on a
    date the daily activity rewrote since this model last read it, users whose stored
    last activity date is on or after the first such date (a day that went leaves no
    row to find them by), and users whose signup, activation time, plan tier or count
    of invited signups differs from the one their row was built with (stored on it),
    new users and gone users (a placeholder row, `user_created_at` null, which the
    post-hook removes). The run marker (`user_id` '') records the daily activity's
    `write_sequence` read and the `config_fingerprint` (the vars of both models): a
    change of those, or the daily activity rebuilt since, recomputes every user.
    Readers take `user_id != ''`. Nothing here moves with `as_of`. -#}
{{ config(**activation_user_incremental_config('user_created_at is null')) }}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set free_tiers = activation_var('activation_free_plan_tiers') -%}
{%- set config_fingerprint = activation_config_fingerprint(extra=[
    conversion_event, free_tiers,
    activation_var('activation_invite_event'), activation_var('activation_invite_count_property'),
    activation_var('activation_activity_events'),
] | string) -%}
{#- A unit test's inputs are rows: nothing to query at compile time. -#}
{%- set window = {'mode': 'full', 'sequence': 0} if activation_in_unit_test() else activation_user_window(
    config_fingerprint, ref('int_activation__user_daily_activity'),
    ['source_sequence', 'config_fingerprint', 'user_created_at', 'last_activity_date']
) -%}
{%- set filtered = window.mode != 'full' and is_incremental() -%}
{#- The columns, in order, of the user rows and the bookkeeping rows unioned with them. -#}
{%- set columns = [
    ['user_id', dbt.type_string()],
    ['invites_sent', dbt.type_int()],
    ['invited_signups', dbt.type_int()],
    ['is_converted_to_paid', dbt.type_boolean()],
    ['is_retained_d7', dbt.type_boolean()],
    ['is_retained_d30', dbt.type_boolean()],
    ['has_activity_signup_d30', dbt.type_boolean()],
    ['first_conversion_date', 'date'],
    ['user_created_at', dbt.type_timestamp()],
    ['activated_at', dbt.type_timestamp()],
    ['plan_tier', dbt.type_string()],
    ['last_activity_date', 'date'],
    ['source_sequence', dbt.type_bigint()],
    ['config_fingerprint', dbt.type_string()],
] %}

with

all_users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

invitations as (

    select
        inviter_user_id,
        count(*) as invited_signups

    from all_users
    where inviter_user_id is not null
    group by inviter_user_id

),

user_inputs as (

    {#- What a user's row is built from besides their daily activity; stored on the
        row, so a change touches the user. #}
    select
        all_users.user_id,
        all_users.created_at,
        all_users.activated_at,
        all_users.plan_tier,
        cast(coalesce(invitations.invited_signups, 0) as {{ dbt.type_int() }}) as invited_signups

    from all_users
    left join invitations
        on all_users.user_id = invitations.inviter_user_id

),
{%- if filtered %}

touched_users as (

    {{ activation_touched_users(
        window, 'user_inputs', 'last_activity_date',
        source=ref('int_activation__user_daily_activity'), fact_at_type='date',
        compared=[
            ['user_created_at', 'created_at'], ['activated_at', 'activated_at'],
            ['plan_tier', 'plan_tier'], ['invited_signups', 'invited_signups'],
        ]
    ) }}

),
{%- endif %}

users as (

    select * from user_inputs
    {%- if filtered %}
    where user_id in (select touched_users.user_id from touched_users)
    {%- endif %}

),

daily_activity as (

    select * from {{ ref('int_activation__user_daily_activity') }}
    {%- if filtered %}
    where user_id is not null and user_id in (select touched_users.user_id from touched_users)
    {%- else %}
    where user_id is not null
    {%- endif %}

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
        min(case when last_conversion_at >= user_created_at then partition_date end) as first_conversion_date,
        max(partition_date) as last_activity_date

    from windowed_activity
    group by user_id

),

final as (

    select
        users.user_id,
        cast(coalesce(activity_facts.invites_sent, 0) as {{ dbt.type_int() }}) as invites_sent,
        users.invited_signups,
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
        activity_facts.first_conversion_date,
        users.created_at as user_created_at,
        users.activated_at,
        users.plan_tier,
        activity_facts.last_activity_date,
        cast(null as {{ dbt.type_bigint() }}) as source_sequence,
        cast(null as {{ dbt.type_string() }}) as config_fingerprint

    from users
    left join activity_facts
        on users.user_id = activity_facts.user_id
    {%- if filtered %}

    union all

    {# A touched user who is gone: a row so the delete+insert removes their stored row;
        the post-hook removes it (activation_remove_gone_users). -#}
    select
        {{- activation_typed_row(columns, {'user_id': 'touched_users.user_id'}) }}

    from touched_users
    where touched_users.user_id not in (select users.user_id from users)
    {%- endif %}

    union all

    {# The run marker: the daily activity's write_sequence read and the configuration. -#}
    select
        {{- activation_typed_row(columns, {
            'user_id': "''",
            'source_sequence': 'cast(' ~ window.sequence ~ ' as ' ~ dbt.type_bigint() ~ ')',
            'config_fingerprint': activation_string_literal(config_fingerprint),
        }) }}

)

select * from final
