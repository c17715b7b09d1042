{#- One row per milestone and segment group (every dimension value with a usable user,
    plus `all`): users in the Kaplan-Meier curve, how many reached the milestone or were
    censored, users created after as_of (left out of the curve) and the median time to
    the milestone. The median is the first curve day with survival at most 0.5; the
    1e-12 allowance keeps a survival of exactly one half (such as 3/6) on its own day
    when the logs round it to 0.5000000000000001. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set dimensions = ['install_source', 'plan_tier', 'signup_type']
    + activation_var('activation_user_passthrough_columns') -%}

with

curve as (

    select * from {{ ref('activation_time_to_milestone') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

user_groups as (

    select
        user_id,
        created_at,
        'all' as segment_dimension,
        'all' as segment_value
    from users
    {%- for dimension in dimensions %}
    union all
    select
        user_id,
        created_at,
        {{ activation_string_literal(dimension) }} as segment_dimension,
        coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(none)') as segment_value
    from users
    {%- endfor %}

),

segment_groups as (

    select
        user_groups.segment_dimension,
        user_groups.segment_value,
        count(case when user_groups.created_at > as_of.as_of_at then 1 end) as users_created_after_as_of

    from user_groups
    cross join as_of
    group by user_groups.segment_dimension, user_groups.segment_value

),

curve_totals as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        sum(events + censored) as users,
        sum(events) as reached_users,
        sum(censored) as censored_users,
        min(case when survival <= 0.5 + 1e-12 then day end) as median_days

    from curve
    group by milestone_id, segment_dimension, segment_value

),

final as (

    select
        milestones.milestone_id,
        segment_groups.segment_dimension,
        segment_groups.segment_value,
        cast(coalesce(curve_totals.users, 0) as {{ dbt.type_bigint() }}) as users,
        cast(coalesce(curve_totals.reached_users, 0) as {{ dbt.type_bigint() }}) as reached_users,
        cast(coalesce(curve_totals.censored_users, 0) as {{ dbt.type_bigint() }}) as censored_users,
        cast(segment_groups.users_created_after_as_of as {{ dbt.type_bigint() }}) as users_created_after_as_of,
        curve_totals.median_days,
        case when curve_totals.median_days is null then 'survival_above_half' end as median_null_reason,
        coalesce(curve_totals.users, 0) >= {{ activation_var('activation_stats_min_group_size') }} as is_included

    from milestones
    cross join segment_groups
    left join curve_totals
        on
            milestones.milestone_id = curve_totals.milestone_id
            and segment_groups.segment_dimension = curve_totals.segment_dimension
            and segment_groups.segment_value = curve_totals.segment_value

)

select * from final
