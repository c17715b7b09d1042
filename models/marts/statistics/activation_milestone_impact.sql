{#- Milestone impact (SPEC §7): per milestone, among users eligible for it (its timeframe
    closed by as_of), conversion to paid and signup-relative D30 retention of those who
    reached it within the timeframe against those who did not, with absolute and relative
    lift and a 2x2 chi-square test without continuity correction (scipy
    `chi2_contingency(table, correction=False)`).

    Retention D30: an activity event (var `activation_activity_events`, default any) in
    (created_at + 30 days, created_at + 60 days], counted among eligible users with
    created_at + 60 days <= as_of (`int_activation__user_engagement.has_activity_signup_d30`).

    Effect sizes beside each test (SPEC §11): Cramér's V of the 2x2 table (sqrt(chi_square
    / n), scipy `contingency.association(method='cramer', correction=False)`), the
    smallest expected cell count with a flag when it is below 5, and the risk ratio
    reached rate / not-reached rate with its 95% log (Katz) interval
    RR exp(-+ z sqrt(1/y1 - 1/n1 + 1/y0 - 1/n0)) as scipy `relative_risk`. -#}
{%- set double = activation_type_double() -%}
{%- set z = 1.959963984540054 -%}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}

with

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

user_outcomes as (

    select
        users.user_id,
        coalesce(engagement.is_converted_to_paid, false) as is_converted,
        coalesce({{ activation_dateadd('day', 60, 'users.created_at') }} <= as_of.as_of_at, false)
            as is_retention_closed,
        coalesce(engagement.has_activity_signup_d30, false) as is_retained

    from users
    cross join as_of
    left join engagement
        on users.user_id = engagement.user_id

),

eligible as (

    select
        user_milestones.milestone_id,
        user_milestones.is_within_timeframe as is_reached,
        user_outcomes.is_converted,
        user_outcomes.is_retention_closed,
        user_outcomes.is_retained

    from user_milestones
    inner join user_outcomes
        on user_milestones.user_id = user_outcomes.user_id
    where user_milestones.deadline_at <= user_milestones.as_of

),

outcome_counts as (

    {#- One 2x2 table per milestone and outcome: users (n) and users with the outcome (y)
        among those who reached the milestone (1) and those who did not (0). #}
    select
        milestone_id,
        'conversion' as outcome,
        count(case when is_reached then 1 end) as n1,
        count(case when is_reached and is_converted then 1 end) as y1,
        count(case when not is_reached then 1 end) as n0,
        count(case when not is_reached and is_converted then 1 end) as y0

    from eligible
    group by milestone_id

    union all

    select
        milestone_id,
        'retention' as outcome,
        count(case when is_reached then 1 end) as n1,
        count(case when is_reached and is_retained then 1 end) as y1,
        count(case when not is_reached then 1 end) as n0,
        count(case when not is_reached and is_retained then 1 end) as y0

    from eligible
    where is_retention_closed
    group by milestone_id

),

outcomes as (

    select 'conversion' as outcome
    union all
    select 'retention' as outcome

),

outcome_tables as (

    select
        milestones.milestone_id,
        milestones.milestone_level,
        outcomes.outcome,
        coalesce(outcome_counts.n1, 0) as n1,
        coalesce(outcome_counts.y1, 0) as y1,
        coalesce(outcome_counts.n0, 0) as n0,
        coalesce(outcome_counts.y0, 0) as y0

    from milestones
    cross join outcomes
    left join outcome_counts
        on
            milestones.milestone_id = outcome_counts.milestone_id
            and outcomes.outcome = outcome_counts.outcome

),

with_reasons as (

    select
        *,
        n1 + n0 as n,
        y1 + y0 as y,
        case
            when n1 = 0 or n0 = 0 then 'no_comparison_group'
            when y1 + y0 = 0 or y1 + y0 = n1 + n0 then 'no_variation'
        end as null_reason

    from outcome_tables

),

expected as (

    {#- Expected cell counts under independence: row total * column total / n. #}
    select
        *,
        cast(y1 as {{ activation_type_double() }}) / nullif(n1, 0) as rate1,
        cast(y0 as {{ activation_type_double() }}) / nullif(n0, 0) as rate0,
        case when null_reason is null then cast(n1 as {{ activation_type_double() }}) * y / n end as expected_y1,
        case when null_reason is null then cast(n1 as {{ activation_type_double() }}) * (n - y) / n end
            as expected_not_y1,
        case when null_reason is null then cast(n0 as {{ activation_type_double() }}) * y / n end as expected_y0,
        case when null_reason is null then cast(n0 as {{ activation_type_double() }}) * (n - y) / n end
            as expected_not_y0

    from with_reasons

),

test_statistics as (

    {#- Chi-square: the sum over the four cells of (observed - expected)^2 / expected. #}
    select
        *,
        rate1 - rate0 as lift_abs,
        (rate1 - rate0) / nullif(rate0, 0) as lift_rel,
        (y1 - expected_y1) * (y1 - expected_y1) / expected_y1
        + ((n1 - y1) - expected_not_y1) * ((n1 - y1) - expected_not_y1) / expected_not_y1
        + (y0 - expected_y0) * (y0 - expected_y0) / expected_y0
        + ((n0 - y0) - expected_not_y0) * ((n0 - y0) - expected_not_y0) / expected_not_y0 as chi_square,
        least(expected_y1, expected_not_y1, expected_y0, expected_not_y0) as min_expected_count,
        {#- Null where the not-reached rate is null or 0 (the ratio is undefined or infinite). #}
        case when y0 > 0 then rate1 / rate0 end as risk_ratio,
        {#- The log interval needs an outcome in both groups. #}
        case
            when y1 > 0 and y0 > 0
                then {{ z }} * sqrt(
                    1.0 / cast(y1 as {{ double }}) - 1.0 / cast(n1 as {{ double }})
                    + 1.0 / cast(y0 as {{ double }}) - 1.0 / cast(n0 as {{ double }})
                )
        end as risk_ratio_margin

    from expected

),

tested as (

    select
        *,
        {{ activation_chi_square_p_value('chi_square', '1', max_df=2) }} as p_value,
        sqrt(chi_square / n) as cramers_v,
        risk_ratio * exp(-1.0 * risk_ratio_margin) as risk_ratio_ci_lower,
        risk_ratio * exp(risk_ratio_margin) as risk_ratio_ci_upper

    from test_statistics

),

conversion as (

    select * from tested
    where outcome = 'conversion'

),

retention as (

    select * from tested
    where outcome = 'retention'

),

ranked as (

    select
        conversion.milestone_id,
        conversion.milestone_level,
        conversion.n1 + conversion.n0 as eligible_users,
        conversion.n1 as reached_users,
        conversion.n0 as not_reached_users,
        conversion.y1 as reached_converted_users,
        conversion.y0 as not_reached_converted_users,
        conversion.rate1 as reached_conversion_rate,
        {{ activation_wilson_interval('conversion.y1', 'conversion.n1', 'reached_conversion_rate') }},
        conversion.rate0 as not_reached_conversion_rate,
        {{ activation_wilson_interval('conversion.y0', 'conversion.n0', 'not_reached_conversion_rate') }},
        conversion.lift_abs as conversion_lift_abs,
        conversion.lift_rel as conversion_lift_rel,
        conversion.chi_square as conversion_chi_square,
        conversion.p_value as conversion_p_value,
        conversion.cramers_v as conversion_cramers_v,
        conversion.min_expected_count as conversion_min_expected_count,
        conversion.min_expected_count < 5 as is_conversion_expected_below_5,
        conversion.risk_ratio as conversion_risk_ratio,
        conversion.risk_ratio_ci_lower as conversion_risk_ratio_ci_lower,
        conversion.risk_ratio_ci_upper as conversion_risk_ratio_ci_upper,
        conversion.null_reason as conversion_null_reason,
        retention.n1 + retention.n0 as retention_users,
        retention.n1 as reached_retention_users,
        retention.y1 as reached_retained_users,
        retention.n0 as not_reached_retention_users,
        retention.y0 as not_reached_retained_users,
        retention.rate1 as reached_retention_rate,
        {{ activation_wilson_interval('retention.y1', 'retention.n1', 'reached_retention_rate') }},
        retention.rate0 as not_reached_retention_rate,
        {{ activation_wilson_interval('retention.y0', 'retention.n0', 'not_reached_retention_rate') }},
        retention.lift_abs as retention_lift_abs,
        retention.lift_rel as retention_lift_rel,
        retention.chi_square as retention_chi_square,
        retention.p_value as retention_p_value,
        retention.cramers_v as retention_cramers_v,
        retention.min_expected_count as retention_min_expected_count,
        retention.min_expected_count < 5 as is_retention_expected_below_5,
        retention.risk_ratio as retention_risk_ratio,
        retention.risk_ratio_ci_lower as retention_risk_ratio_ci_lower,
        retention.risk_ratio_ci_upper as retention_risk_ratio_ci_upper,
        retention.null_reason as retention_null_reason,
        row_number() over (
            order by
                case when conversion.lift_abs is null then 1 else 0 end asc,
                conversion.lift_abs desc,
                conversion.milestone_id asc
        ) as impact_rank,
        {#- A milestone without a lift takes no share (its weight is null). #}
        sum(case when conversion.lift_abs > 0 then conversion.lift_abs else 0 end) over () as positive_lift_total

    from conversion
    inner join retention
        on conversion.milestone_id = retention.milestone_id

),

with_p_values as (

    select
        milestone_id,
        milestone_level,
        {%- for column in [
            'eligible_users', 'reached_users', 'not_reached_users', 'reached_converted_users',
            'not_reached_converted_users'
        ] %}
        cast({{ column }} as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        {%- for column in [
            'reached_conversion_rate', 'reached_conversion_rate_ci_lower', 'reached_conversion_rate_ci_upper',
            'not_reached_conversion_rate', 'not_reached_conversion_rate_ci_lower',
            'not_reached_conversion_rate_ci_upper', 'conversion_lift_abs',
            'conversion_lift_rel', 'conversion_chi_square', 'conversion_p_value', 'conversion_cramers_v',
            'conversion_min_expected_count'
        ] %}
        cast({{ column }} as {{ double }}) as {{ column }},
        {%- endfor %}
        is_conversion_expected_below_5,
        {%- for column in [
            'conversion_risk_ratio', 'conversion_risk_ratio_ci_lower', 'conversion_risk_ratio_ci_upper'
        ] %}
        cast({{ column }} as {{ double }}) as {{ column }},
        {%- endfor %}
        conversion_null_reason,
        {%- for column in [
            'retention_users', 'reached_retention_users', 'reached_retained_users',
            'not_reached_retention_users', 'not_reached_retained_users'
        ] %}
        cast({{ column }} as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        {%- for column in [
            'reached_retention_rate', 'reached_retention_rate_ci_lower', 'reached_retention_rate_ci_upper',
            'not_reached_retention_rate', 'not_reached_retention_rate_ci_lower',
            'not_reached_retention_rate_ci_upper', 'retention_lift_abs',
            'retention_lift_rel', 'retention_chi_square', 'retention_p_value', 'retention_cramers_v',
            'retention_min_expected_count'
        ] %}
        cast({{ column }} as {{ double }}) as {{ column }},
        {%- endfor %}
        is_retention_expected_below_5,
        {%- for column in [
            'retention_risk_ratio', 'retention_risk_ratio_ci_lower', 'retention_risk_ratio_ci_upper'
        ] %}
        cast({{ column }} as {{ double }}) as {{ column }},
        {%- endfor %}
        retention_null_reason,
        cast(impact_rank as {{ dbt.type_bigint() }}) as impact_rank,
        cast(
            case
                when conversion_lift_abs is not null and positive_lift_total > 0
                    {#- The share first, so a lone positive lift gets exactly 100. #}
                    then 100.0 * (
                        (case when conversion_lift_abs > 0 then conversion_lift_abs else 0 end) / positive_lift_total
                    )
            end as {{ activation_type_double() }}
        ) as suggested_weight

    from ranked

),

{#- Benjamini-Hochberg q-values across the p-values of this mart (SPEC §11). #}
{{ activation_bh_q_values(
    'with_p_values', ['milestone_id'],
    ['conversion_p_value', 'retention_p_value'], ['conversion_q_value', 'retention_q_value']
) }}

select * from with_p_values__with_q_values
