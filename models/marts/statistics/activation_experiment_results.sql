{#- Per experiment, variant and metric: users, conversions and, against the control
    variant (var `activation_experiment_control_variant`), the absolute uplift with a
    Wald (unpooled) interval, the relative uplift with a log-ratio interval and the
    pooled two-proportion z-test. Users exposed to more than one variant of an
    experiment are left out. Metric `activation`: activated at or after the first
    exposure. Metric `paid`: with var `activation_conversion_event`, a first conversion
    on or after the first exposure date; otherwise `is_converted_to_paid` (plan tier),
    which carries no time. -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_experiments_enabled')
) }}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set control_variant = activation_var('activation_experiment_control_variant') | trim -%}
{%- if conversion_event -%}
{%- set paid_expression -%}
coalesce(engagement.first_conversion_date >= exposures.first_exposed_date, false)
{%- endset -%}
{%- else -%}
{%- set paid_expression = 'coalesce(engagement.is_converted_to_paid, false)' -%}
{%- endif -%}
{%- set double = activation_type_double() -%}
{%- set z_95 = 1.959963984540054 -%}

with

exposures as (

    select
        *,
        cast(first_exposed_at as date) as first_exposed_date

    from {{ ref('int_activation__experiment_exposures') }}
    where not has_multiple_variants

),

user_summaries as (

    select * from {{ ref('int_activation__user_summaries') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

user_outcomes as (

    select
        exposures.experiment_id,
        exposures.variant,
        coalesce(
            user_summaries.is_activated and user_summaries.activated_at >= exposures.first_exposed_at,
            false
        ) as is_activation_converted,
        {{ paid_expression }} as is_paid_converted

    from exposures
    inner join user_summaries
        on exposures.user_id = user_summaries.user_id
    left join engagement
        on exposures.user_id = engagement.user_id

),

variant_counts as (

    select
        experiment_id,
        variant,
        'activation' as metric,
        count(*) as users,
        count(case when is_activation_converted then 1 end) as converted_users

    from user_outcomes
    group by experiment_id, variant

    union all

    select
        experiment_id,
        variant,
        'paid' as metric,
        count(*) as users,
        count(case when is_paid_converted then 1 end) as converted_users

    from user_outcomes
    group by experiment_id, variant

),

controls as (

    select
        experiment_id,
        metric,
        users as control_users,
        converted_users as control_converted_users

    from variant_counts
    where variant = {{ activation_string_literal(control_variant) }}

),

compared as (

    select
        variant_counts.experiment_id,
        variant_counts.variant,
        variant_counts.metric,
        variant_counts.variant = {{ activation_string_literal(control_variant) }} as is_control,
        variant_counts.users,
        variant_counts.converted_users,
        controls.control_users,
        controls.control_converted_users,
        cast(variant_counts.users as {{ double }}) as n1,
        cast(variant_counts.converted_users as {{ double }}) as c1,
        cast(controls.control_users as {{ double }}) as n0,
        cast(controls.control_converted_users as {{ double }}) as c0

    from variant_counts
    left join controls
        on
            variant_counts.experiment_id = controls.experiment_id
            and variant_counts.metric = controls.metric

),

rates as (

    select
        *,
        c1 / nullif(n1, 0) as rate,
        c0 / nullif(n0, 0) as control_rate,
        (c1 + c0) / nullif(n1 + n0, 0) as pooled_rate,
        not is_control and control_users is not null as is_compared

    from compared

),

with_reasons as (

    select
        *,
        case
            when is_control then 'control'
            when control_users is null then 'no_control'
            when pooled_rate <= 0 or pooled_rate >= 1 then 'no_variation'
            when converted_users = 0 or control_converted_users = 0 then 'zero_conversions'
        end as null_reason,
        is_compared and c1 > 0 and c0 > 0 as has_ratio,
        is_compared and pooled_rate > 0 and pooled_rate < 1 as has_test

    from rates

),

comparisons as (

    select
        *,
        case when is_compared then rate - control_rate end as uplift_abs,
        case
            when is_compared
                then sqrt(rate * (1.0 - rate) / n1 + control_rate * (1.0 - control_rate) / n0)
        end as uplift_abs_se,
        case when is_compared then rate / nullif(control_rate, 0) - 1.0 end as uplift_rel,
        case when has_ratio then ln(rate / control_rate) end as log_ratio,
        case when has_ratio then sqrt(1.0 / c1 - 1.0 / n1 + 1.0 / c0 - 1.0 / n0) end as log_ratio_se,
        case
            when has_test
                then
                    (rate - control_rate)
                    / nullif(sqrt(pooled_rate * (1.0 - pooled_rate) * (1.0 / n1 + 1.0 / n0)), 0)
        end as z_statistic

    from with_reasons

),

with_p_values as (

    select
        experiment_id,
        variant,
        metric,
        is_control,
        cast(users as {{ dbt.type_bigint() }}) as users,
        cast(converted_users as {{ dbt.type_bigint() }}) as converted_users,
        cast(rate as {{ double }}) as conversion_rate,
        {{ activation_wilson_interval('converted_users', 'users', 'conversion_rate', double) }},
        cast(control_users as {{ dbt.type_bigint() }}) as control_users,
        cast(control_converted_users as {{ dbt.type_bigint() }}) as control_converted_users,
        cast(control_rate as {{ double }}) as control_conversion_rate,
        {{ activation_wilson_interval('control_converted_users', 'control_users', 'control_conversion_rate', double) }},
        cast(uplift_abs as {{ double }}) as uplift_abs,
        cast(uplift_abs - {{ z_95 }} * uplift_abs_se as {{ double }}) as uplift_abs_ci_lower,
        cast(uplift_abs + {{ z_95 }} * uplift_abs_se as {{ double }}) as uplift_abs_ci_upper,
        cast(uplift_rel as {{ double }}) as uplift_rel,
        cast(exp(log_ratio - {{ z_95 }} * log_ratio_se) - 1.0 as {{ double }}) as uplift_rel_ci_lower,
        cast(exp(log_ratio + {{ z_95 }} * log_ratio_se) - 1.0 as {{ double }}) as uplift_rel_ci_upper,
        cast(z_statistic as {{ double }}) as z_statistic,
        {#- least() in the p-value skips nulls, so a null statistic is kept null here. #}
        cast(
            case when z_statistic is not null then {{ activation_normal_p_value('z_statistic') }} end as {{ double }}
        ) as p_value,
        cast(null_reason as {{ dbt.type_string() }}) as null_reason

    from comparisons

),

{#- Benjamini-Hochberg q-values across the p-values of this mart (SPEC §11). #}
{{ activation_bh_q_values('with_p_values', ['experiment_id', 'variant', 'metric'], ['p_value'], ['q_value']) }}

select * from with_p_values__with_q_values
