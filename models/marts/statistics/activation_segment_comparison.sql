{#- Completion of each milestone by segment (SPEC §7): per milestone, segment dimension
    (install_source, plan_tier, signup_type, then each passthrough column) and value, the
    users eligible for the milestone (its timeframe closed by as_of) and those who reached
    it within the timeframe. Groups below var `activation_stats_min_group_size` eligible
    users are flagged and left out of the test in `activation_segment_tests`; the included
    groups of a testable dimension carry their expected completions under independence.

    Counts are taken once per combination of every dimension's value, then summed per
    dimension, so the users are read once whatever the number of dimensions. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set dimensions = ['install_source', 'plan_tier', 'signup_type']
    + activation_var('activation_user_passthrough_columns') -%}
{%- set min_group_size = activation_var('activation_stats_min_group_size') -%}
{%- set max_groups = activation_var('activation_stats_max_groups') -%}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

eligible_user_milestones as (

    select
        user_milestones.milestone_id,
        {%- for dimension in dimensions %}
        coalesce(cast(users.{{ dimension }} as {{ dbt.type_string() }}), '(none)') as dimension_{{ loop.index }}_value,
        {%- endfor %}
        user_milestones.is_within_timeframe

    from user_milestones
    inner join users
        on user_milestones.user_id = users.user_id
    where user_milestones.deadline_at <= user_milestones.as_of

),

eligible_combinations as (

    select
        milestone_id,
        {%- for dimension in dimensions %}
        dimension_{{ loop.index }}_value,
        {%- endfor %}
        count(*) as eligible_users,
        count(case when is_within_timeframe then 1 end) as completed_users

    from eligible_user_milestones
    group by
        milestone_id
        {%- for dimension in dimensions -%}
        , dimension_{{ loop.index }}_value
        {%- endfor %}

),

segment_counts as (

    {%- for dimension in dimensions %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        milestone_id,
        {{ activation_string_literal(dimension) }} as segment_dimension,
        dimension_{{ loop.index }}_value as segment_value,
        cast(sum(eligible_users) as {{ dbt.type_bigint() }}) as eligible_users,
        cast(sum(completed_users) as {{ dbt.type_bigint() }}) as completed_users

    from eligible_combinations
    group by milestone_id, dimension_{{ loop.index }}_value
    {%- endfor %}

),

flagged as (

    select
        *,
        eligible_users >= {{ min_group_size }} as is_included

    from segment_counts

),

with_totals as (

    select
        *,
        count(case when is_included then 1 end) over (
            partition by milestone_id, segment_dimension
        ) as groups_included,
        cast(sum(case when is_included then eligible_users else 0 end) over (
            partition by milestone_id, segment_dimension
        ) as {{ dbt.type_bigint() }}) as eligible_users_included,
        cast(sum(case when is_included then completed_users else 0 end) over (
            partition by milestone_id, segment_dimension
        ) as {{ dbt.type_bigint() }}) as completed_users_included

    from flagged

),

final as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        eligible_users,
        completed_users,
        eligible_users - completed_users as not_completed_users,
        cast(completed_users as {{ activation_type_double() }}) / nullif(eligible_users, 0) as completion_rate,
        {{ activation_wilson_interval('completed_users', 'eligible_users', 'completion_rate') }},
        is_included,
        {#- The same conditions as the test's null reasons: a test with a statistic. #}
        case
            when
                is_included
                and groups_included between 2 and {{ max_groups }}
                and completed_users_included > 0
                and completed_users_included < eligible_users_included
                then
                    cast(eligible_users as {{ activation_type_double() }}) * completed_users_included
                    / nullif(eligible_users_included, 0)
        end as expected_completed_users

    from with_totals

)

select * from final
