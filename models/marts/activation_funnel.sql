{#- Funnel by level order per signup cohort, overall and broken down by install_source,
    plan_tier, signup_type (direct / invited) and each passthrough segment. Step i counts
    users who reached steps 1..i within their timeframes in non-decreasing time order.
    Censored (SPEC §6): counts, rates and times cover the eligible users, whose longest
    step window has closed; the others are in_progress_users, never drop-offs. -#}
{%- set dimensions = ['install_source', 'plan_tier', 'signup_type']
    + activation_var('activation_user_passthrough_columns') -%}

with

funnel_steps as (

    select * from {{ ref('int_activation__user_funnel_steps') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

steps as (

    select * from {{ ref('int_activation__milestone_steps') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

user_groups as (

    select
        user_id,
        cohort_date,
        'all' as breakdown_dimension,
        'all' as breakdown_value
    from users
    {%- for dimension in dimensions %}
    union all
    select
        user_id,
        cohort_date,
        {{ activation_string_literal(dimension) }} as breakdown_dimension,
        coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(none)') as breakdown_value
    from users
    {%- endfor %}

),

grouped_steps as (

    select
        user_groups.cohort_date,
        user_groups.breakdown_dimension,
        user_groups.breakdown_value,
        funnel_steps.step_number,
        funnel_steps.is_eligible,
        funnel_steps.is_eligible and funnel_steps.is_step_completed as is_completed,
        case
            when funnel_steps.is_eligible and funnel_steps.is_step_completed
                then funnel_steps.hours_from_previous_step
        end as completed_hours

    from user_groups
    inner join funnel_steps
        on user_groups.user_id = funnel_steps.user_id

),

step_counts as (

    select
        cohort_date,
        breakdown_dimension,
        breakdown_value,
        step_number,
        count(*) as cohort_users,
        count(case when is_eligible then 1 end) as eligible_users,
        count(case when is_completed then 1 end) as completed_users,
        {{ activation_median('completed_hours') }} as median_hours_from_previous_step,
        avg(completed_hours) as mean_hours_from_previous_step

    from grouped_steps
    group by cohort_date, breakdown_dimension, breakdown_value, step_number

),

with_entries as (

    select
        *,
        coalesce(
            lag(completed_users) over (
                partition by cohort_date, breakdown_dimension, breakdown_value
                order by step_number
            ),
            eligible_users
        ) as entered_users

    from step_counts

),

final as (

    select
        with_entries.cohort_date,
        with_entries.breakdown_dimension,
        with_entries.breakdown_value,
        with_entries.step_number,
        steps.milestone_id,
        steps.milestone_level,
        with_entries.cohort_users,
        with_entries.eligible_users,
        with_entries.cohort_users - with_entries.eligible_users as in_progress_users,
        with_entries.entered_users,
        with_entries.completed_users,
        cast(with_entries.entered_users - with_entries.completed_users as {{ activation_type_double() }})
        / nullif(with_entries.entered_users, 0) as drop_off_rate,
        {{ activation_wilson_interval(
            'with_entries.entered_users - with_entries.completed_users', 'with_entries.entered_users', 'drop_off_rate'
        ) }},
        cast(with_entries.completed_users as {{ activation_type_double() }})
        / nullif(with_entries.eligible_users, 0) as conversion_from_start,
        {{ activation_wilson_interval(
            'with_entries.completed_users', 'with_entries.eligible_users', 'conversion_from_start'
        ) }},
        with_entries.median_hours_from_previous_step,
        with_entries.mean_hours_from_previous_step,
        as_of.as_of_at as as_of

    from with_entries
    inner join steps
        on with_entries.step_number = steps.step_number
    cross join as_of

)

select * from final
