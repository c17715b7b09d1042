{#- The eight activation KPIs of the research documents per period (var
    `activation_kpi_period`, week by default), shaped like their "Tracking Progress of
    Key KPIs" table: value, numerator and denominator (so BI can re-aggregate), target
    (seed `activation_kpi_targets`), change from the previous period and a status that
    knows whether higher or lower is better. Every period from the first signup to
    as_of appears, with null values when it has no users. -#}
{%- set period = activation_var('activation_kpi_period') -%}
{%- set top_status = (activation_var('activation_status_bands') | sort(attribute='min_score') | last)['status'] -%}
{%- set kpis = [
    ('activation_rate', 'Activation rate', 'higher_is_better'),
    ('ttfv_median_hours', 'Time to first value, median (hours)', 'lower_is_better'),
    ('ttfv_mean_hours', 'Time to first value, mean (hours)', 'lower_is_better'),
    ('milestone_completion_rate', 'Milestone completion rate (first milestone)', 'higher_is_better'),
    ('milestone_velocity_hours', 'Milestone velocity (mean hours between steps)', 'lower_is_better'),
    ('conversion_rate_activated', 'Conversion to paid of activated users', 'higher_is_better'),
    ('viral_coefficient', 'Viral coefficient', 'higher_is_better'),
    ('retention_d7', 'Retention D7 of activated users', 'higher_is_better'),
    ('retention_d30', 'Retention D30 of activated users', 'higher_is_better'),
    ('pql_conversion_rate', 'PQL conversion rate of activated users', 'higher_is_better'),
] -%}

with

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

steps as (

    select * from {{ ref('int_activation__milestone_steps') }}

),

funnel_steps as (

    select * from {{ ref('int_activation__user_funnel_steps') }}

),

targets as (

    select * from {{ ref('activation_kpi_targets') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

activation_windows as (

    {#- Activation is decided once the longest activation milestone window has closed. #}
    select max(timeframe_seconds) as activation_window_seconds
    from milestones
    where counts_for_activation

),

step_reaches as (

    select
        user_milestones.user_id,
        steps.step_number,
        user_milestones.timeframe_seconds,
        user_milestones.user_created_at,
        user_milestones.is_within_timeframe,
        user_milestones.reached_at

    from user_milestones
    inner join steps
        on user_milestones.milestone_id = steps.milestone_id

),

velocity_pairs as (

    select
        current_step.user_id,
        sum({{ activation_seconds_between('previous_step.reached_at', 'current_step.reached_at') }} / 3600.0)
            as velocity_hours_sum,
        count(*) as velocity_pairs

    from step_reaches as current_step
    inner join step_reaches as previous_step
        on
            current_step.user_id = previous_step.user_id
            and current_step.step_number = previous_step.step_number + 1
    where current_step.is_within_timeframe and previous_step.is_within_timeframe
    group by current_step.user_id

),

user_facts as (

    select
        users.user_id,
        cast({{ dbt.date_trunc(period, 'users.created_at') }} as date) as signup_period,
        cast({{ dbt.date_trunc(period, 'users.activated_at') }} as date) as activation_period,
        users.is_activated,
        {{ activation_dateadd('second', 'activation_windows.activation_window_seconds', 'users.created_at') }}
        <= as_of.as_of_at as is_activation_decided,
        users.time_to_first_value_hours,
        {#- The first funnel step, censored like the funnel: decided once the longest
            step window has closed. #}
        first_step.is_step_completed as is_first_step_reached,
        first_step.is_eligible as is_first_step_decided,
        velocity_pairs.velocity_hours_sum,
        coalesce(velocity_pairs.velocity_pairs, 0) as velocity_pairs,
        engagement.is_converted_to_paid,
        engagement.invites_sent,
        engagement.invited_signups,
        users.status = {{ activation_string_literal(top_status) }} as is_top_status,
        {{ activation_dateadd('day', 7, 'users.activated_at') }} <= as_of.as_of_at as is_d7_decided,
        {{ activation_dateadd('day', 30, 'users.activated_at') }} <= as_of.as_of_at as is_d30_decided,
        engagement.is_retained_d7,
        engagement.is_retained_d30

    from users
    inner join engagement
        on users.user_id = engagement.user_id
    inner join funnel_steps as first_step
        on
            users.user_id = first_step.user_id
            and first_step.step_number = 1
    left join velocity_pairs
        on users.user_id = velocity_pairs.user_id
    cross join activation_windows
    cross join as_of

),

signup_kpis as (

    select
        signup_period as period_start,
        count(case when is_activation_decided and is_activated then 1 end) as activation_numerator,
        count(case when is_activation_decided then 1 end) as activation_denominator,
        {{ activation_median('time_to_first_value_hours') }} as ttfv_median,
        sum(time_to_first_value_hours) as ttfv_sum,
        count(time_to_first_value_hours) as ttfv_count,
        count(case when is_first_step_decided and is_first_step_reached then 1 end) as completion_numerator,
        count(case when is_first_step_decided then 1 end) as completion_denominator,
        sum(velocity_hours_sum) as velocity_numerator,
        sum(velocity_pairs) as velocity_denominator,
        count(case when is_activated and is_converted_to_paid then 1 end) as conversion_numerator,
        count(case when is_activated then 1 end) as activated_users,
        sum(invites_sent) as invites_sent,
        sum(invited_signups) as invited_signups,
        count(*) as signup_users,
        count(case when is_activated and is_top_status then 1 end) as pql_numerator

    from user_facts
    group by signup_period

),

activation_kpis as (

    select
        activation_period as period_start,
        count(case when is_d7_decided and is_retained_d7 then 1 end) as d7_numerator,
        count(case when is_d7_decided then 1 end) as d7_denominator,
        count(case when is_d30_decided and is_retained_d30 then 1 end) as d30_numerator,
        count(case when is_d30_decided then 1 end) as d30_denominator

    from user_facts
    where is_activated
    group by activation_period

),

digits as (

    {%- for digit in range(10) %}
    select {{ digit }} as digit{% if not loop.last %}
    union all{% endif %}
    {%- endfor %}

),

period_numbers as (

    {#- 0..9999 periods: portable on every engine, no users x days expansion. #}
    select thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + ones.digit as period_number
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones

),

bounds as (

    select
        cast({{ dbt.date_trunc(period, 'min(users.created_at)') }} as date) as first_period,
        cast({{ dbt.date_trunc(period, 'max(as_of.as_of_at)') }} as date) as last_period

    from users
    cross join as_of

),

periods as (

    select
        cast({{ dbt.dateadd(period, 'period_numbers.period_number', 'bounds.first_period') }} as date)
            as period_start

    from bounds
    cross join period_numbers
    where {{ dbt.dateadd(period, 'period_numbers.period_number', 'bounds.first_period') }} <= bounds.last_period

),

period_values as (

    {#- Periods without users count 0 users; their sums, medians and values stay null. #}
    select
        periods.period_start,
        coalesce(signup_kpis.activation_numerator, 0) as activation_numerator,
        coalesce(signup_kpis.activation_denominator, 0) as activation_denominator,
        signup_kpis.ttfv_median,
        signup_kpis.ttfv_sum,
        coalesce(signup_kpis.ttfv_count, 0) as ttfv_count,
        coalesce(signup_kpis.completion_numerator, 0) as completion_numerator,
        coalesce(signup_kpis.completion_denominator, 0) as completion_denominator,
        signup_kpis.velocity_numerator,
        coalesce(signup_kpis.velocity_denominator, 0) as velocity_denominator,
        coalesce(signup_kpis.conversion_numerator, 0) as conversion_numerator,
        coalesce(signup_kpis.activated_users, 0) as activated_users,
        coalesce(signup_kpis.invites_sent, 0) as invites_sent,
        coalesce(signup_kpis.invited_signups, 0) as invited_signups,
        coalesce(signup_kpis.signup_users, 0) as signup_users,
        coalesce(signup_kpis.pql_numerator, 0) as pql_numerator,
        coalesce(activation_kpis.d7_numerator, 0) as d7_numerator,
        coalesce(activation_kpis.d7_denominator, 0) as d7_denominator,
        coalesce(activation_kpis.d30_numerator, 0) as d30_numerator,
        coalesce(activation_kpis.d30_denominator, 0) as d30_denominator

    from periods
    left join signup_kpis
        on periods.period_start = signup_kpis.period_start
    left join activation_kpis
        on periods.period_start = activation_kpis.period_start

),

{#- Per KPI: numerator, denominator and value, as expressions over period_values. -#}
{%- set double = activation_type_double() -%}
{%- set kpi_formulas = [
    ('activation_rate', 'activation_numerator', 'activation_denominator',
        'cast(activation_numerator as ' ~ double ~ ') / nullif(activation_denominator, 0)'),
    ('ttfv_median_hours', 'null', 'ttfv_count', 'ttfv_median'),
    ('ttfv_mean_hours', 'ttfv_sum', 'ttfv_count', 'ttfv_sum / nullif(ttfv_count, 0)'),
    ('milestone_completion_rate', 'completion_numerator', 'completion_denominator',
        'cast(completion_numerator as ' ~ double ~ ') / nullif(completion_denominator, 0)'),
    ('milestone_velocity_hours', 'velocity_numerator', 'velocity_denominator',
        'velocity_numerator / nullif(velocity_denominator, 0)'),
    ('conversion_rate_activated', 'conversion_numerator', 'activated_users',
        'cast(conversion_numerator as ' ~ double ~ ') / nullif(activated_users, 0)'),
    ('viral_coefficient', 'invited_signups', 'signup_users',
        '(cast(invites_sent as ' ~ double ~ ') / nullif(signup_users, 0)) * (cast(invited_signups as ' ~ double ~ ') / nullif(invites_sent, 0))'),
    ('retention_d7', 'd7_numerator', 'd7_denominator', 'cast(d7_numerator as ' ~ double ~ ') / nullif(d7_denominator, 0)'),
    ('retention_d30', 'd30_numerator', 'd30_denominator', 'cast(d30_numerator as ' ~ double ~ ') / nullif(d30_denominator, 0)'),
    ('pql_conversion_rate', 'pql_numerator', 'activated_users',
        'cast(pql_numerator as ' ~ double ~ ') / nullif(activated_users, 0)'),
] %}
{#- The KPIs that are a share of counted users: their value carries a Wilson interval. -#}
{%- set proportion_kpis = ['activation_rate', 'milestone_completion_rate', 'conversion_rate_activated',
                           'retention_d7', 'retention_d30', 'pql_conversion_rate'] %}

kpi_definitions as (

    {%- for kpi_name, label, direction in kpis %}
    select
        {{ activation_string_literal(kpi_name) }} as kpi_name,
        {{ activation_string_literal(label) }} as kpi_label,
        {{ activation_string_literal(direction) }} as direction,
        {{ 'true' if kpi_name in proportion_kpis else 'false' }} as is_proportion
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

kpi_values as (

    {#- One row per period and KPI. The KPIs are picked from one pass over period_values
        (a cross join and a case per column, not a union of one select per KPI, which
        engines that inline CTEs, such as Spark, would evaluate once per KPI). #}
    select
        period_values.period_start,
        kpi_definitions.kpi_name,
        kpi_definitions.kpi_label,
        kpi_definitions.direction,
        kpi_definitions.is_proportion,
        {%- for column, position in [('numerator', 1), ('denominator', 2), ('kpi_value', 3)] %}
        case kpi_definitions.kpi_name
            {%- for formula in kpi_formulas %}
            when {{ activation_string_literal(formula[0]) }} then cast({{ formula[position] }} as {{ double }})
            {%- endfor %}
        end as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from period_values
    cross join kpi_definitions

),

compared as (

    select
        kpi_values.period_start,
        kpi_values.kpi_name,
        kpi_values.kpi_label,
        kpi_values.kpi_value,
        kpi_values.numerator,
        kpi_values.denominator,
        targets.target_value,
        kpi_values.direction,
        kpi_values.is_proportion,
        lag(kpi_values.kpi_value) over (
            partition by kpi_values.kpi_name
            order by kpi_values.period_start
        ) as previous_value

    from kpi_values
    left join targets
        on kpi_values.kpi_name = targets.kpi_name

),

final as (

    select
        compared.period_start,
        compared.kpi_name,
        compared.kpi_label,
        compared.kpi_value as value,
        {{ activation_wilson_interval(
            'case when compared.is_proportion then compared.numerator end', 'compared.denominator', 'value'
        ) }},
        compared.numerator,
        compared.denominator,
        compared.target_value,
        compared.direction,
        compared.previous_value,
        compared.kpi_value - compared.previous_value as change_from_previous,
        case
            when compared.kpi_value is null then null
            when compared.direction = 'higher_is_better' and compared.kpi_value >= compared.target_value
                then 'on_track'
            when compared.direction = 'lower_is_better' and compared.kpi_value <= compared.target_value
                then 'on_track'
            when compared.previous_value is null then null
            when compared.kpi_value = compared.previous_value then 'stable'
            when (compared.kpi_value > compared.previous_value) = (compared.direction = 'higher_is_better')
                then 'improving'
            else 'needs_attention'
        end as status,
        as_of.as_of_at as as_of

    from compared
    cross join as_of

)

select * from final
