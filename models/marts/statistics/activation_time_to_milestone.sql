{#- Kaplan-Meier curve of the time to each milestone, overall (dimension `all`) and per
    segment value, one row per whole day on which a user of the group reached the
    milestone or was censored. The survival product is taken in logs, as lifelines does
    (ln(at_risk - events) - ln(at_risk) per day); a day on which every user at risk
    reaches the milestone makes the factor 0, carried as a flag because ln(0) is an
    error on PostgreSQL. Confidence bounds are lifelines' exponential Greenwood interval. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set dimensions = ['install_source', 'plan_tier', 'signup_type']
    + activation_var('activation_user_passthrough_columns') -%}
{%- set double = activation_type_double() -%}
{%- set z = 1.959963984540054 -%}

with

durations as (

    select * from {{ ref('int_activation__milestone_durations') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

user_groups as (

    select
        user_id,
        'all' as segment_dimension,
        'all' as segment_value
    from users
    {%- for dimension in dimensions %}
    union all
    select
        user_id,
        {{ activation_string_literal(dimension) }} as segment_dimension,
        coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(none)') as segment_value
    from users
    {%- endfor %}

),

day_counts as (

    select
        durations.milestone_id,
        user_groups.segment_dimension,
        user_groups.segment_value,
        durations.duration_days as day,
        count(case when durations.is_event then 1 end) as events,
        count(case when not durations.is_event then 1 end) as censored

    from durations
    inner join user_groups
        on durations.user_id = user_groups.user_id
    group by
        durations.milestone_id,
        user_groups.segment_dimension,
        user_groups.segment_value,
        durations.duration_days

),

at_risk as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        day,
        events,
        censored,
        sum(events + censored) over (
            partition by milestone_id, segment_dimension, segment_value
            order by day desc
            rows between unbounded preceding and current row
        ) as at_risk

    from day_counts

),

day_factors as (

    select
        *,
        case
            when events < at_risk
                then ln(cast(at_risk - events as {{ double }})) - ln(cast(at_risk as {{ double }}))
            else 0.0
        end as log_factor,
        case when events = at_risk then 1 else 0 end as is_zero_factor,
        {#- lifelines counts 0 for the day whose factor is 0 (its term would divide by 0). #}
        case
            when events < at_risk
                then cast(events as {{ double }}) / (cast(at_risk as {{ double }}) * (at_risk - events))
            else 0.0
        end as greenwood_term

    from at_risk

),

cumulative as (

    select
        *,
        sum(log_factor) over (
            partition by milestone_id, segment_dimension, segment_value
            order by day
            rows between unbounded preceding and current row
        ) as log_survival,
        max(is_zero_factor) over (
            partition by milestone_id, segment_dimension, segment_value
            order by day
            rows between unbounded preceding and current row
        ) as has_zero_factor,
        sum(greenwood_term) over (
            partition by milestone_id, segment_dimension, segment_value
            order by day
            rows between unbounded preceding and current row
        ) as greenwood_variance

    from day_factors

),

bound_arguments as (

    {#- Exponential Greenwood: ln(-ln S) -+ z sqrt(V) / ln S, mapped back by
        exp(-exp(.)). An argument above ln(700) = 6.551080335043404 maps to below
        exp(-700), taken as 0 (PostgreSQL raises an error where exp underflows). #}
    select
        *,
        case
            when has_zero_factor = 0 and log_survival < 0
                then ln(-1.0 * log_survival) - {{ z }} * sqrt(greenwood_variance) / log_survival
        end as lower_argument,
        case
            when has_zero_factor = 0 and log_survival < 0
                then ln(-1.0 * log_survival) + {{ z }} * sqrt(greenwood_variance) / log_survival
        end as upper_argument

    from cumulative

),

final as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        day,
        cast(at_risk as {{ dbt.type_bigint() }}) as at_risk,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(censored as {{ dbt.type_bigint() }}) as censored,
        cast(
            case
                when has_zero_factor = 1 then 0.0
                else exp(greatest(log_survival, -700.0))
            end as {{ double }}
        ) as survival,
        cast(
            case
                when has_zero_factor = 1 then 0.0
                when log_survival >= 0 then 1.0
                when lower_argument > 6.551080335043404 then 0.0
                else exp(-1.0 * exp(greatest(lower_argument, -700.0)))
            end as {{ double }}
        ) as survival_ci_lower,
        cast(
            case
                when has_zero_factor = 1 then 0.0
                when log_survival >= 0 then 1.0
                when upper_argument > 6.551080335043404 then 0.0
                else exp(-1.0 * exp(greatest(upper_argument, -700.0)))
            end as {{ double }}
        ) as survival_ci_upper

    from bound_arguments

)

select * from final
