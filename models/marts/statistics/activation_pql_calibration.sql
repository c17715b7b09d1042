{#- How well each score, taken `activation_calibration_days` before as_of, ranks the
    users who converted afterwards: one row per score with the scored users, their
    conversions and the ROC AUC. The AUC is the Mann-Whitney statistic: with scores
    ranked ascending and tied scores given their average rank,
    AUC = (sum of the converted users' ranks - n1 (n1 + 1) / 2) / (n1 n0). -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_pql_enabled')
) }}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set calibration_days = activation_var('activation_calibration_days') -%}
{%- set double = activation_type_double() -%}

with

calibration_scores as (

    select * from {{ ref('int_activation__calibration_scores') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

score_names as (

    select 'activation_score' as score_name

    union all

    select 'pql_score' as score_name

),

calibration_window as (

    select
        cast({{ dbt.dateadd('day', -1 * calibration_days, 'cast(as_of_at as date)') }} as date)
            as scoring_date,
        cast(as_of_at as date) as outcome_end_date

    from as_of

),

ranked as (

    select
        score_name,
        is_converted,
        {#- The average rank of a group of tied scores: its first rank plus half the
            number of further ties. #}
        cast(rank() over (partition by score_name order by score) as {{ double }})
        + cast(count(*) over (partition by score_name, score) - 1 as {{ double }}) / 2.0 as average_rank

    from calibration_scores

),

score_totals as (

    select
        score_name,
        count(*) as scored_users,
        count(case when is_converted then 1 end) as converted_users,
        sum(case when is_converted then average_rank else 0.0 end) as converted_rank_sum

    from ranked
    group by score_name

),

with_reasons as (

    select
        score_names.score_name,
        calibration_window.scoring_date,
        calibration_window.outcome_end_date,
        coalesce(score_totals.scored_users, 0) as scored_users,
        coalesce(score_totals.converted_users, 0) as converted_users,
        cast(score_totals.converted_users as {{ double }}) as n1,
        cast(score_totals.scored_users - score_totals.converted_users as {{ double }}) as n0,
        score_totals.converted_rank_sum,
        case
            when coalesce(score_totals.scored_users, 0) = 0 then 'no_scored_users'
            when score_totals.converted_users = 0 then 'no_conversions'
            when score_totals.converted_users = score_totals.scored_users then 'all_converted'
        end as null_reason

    from score_names
    cross join calibration_window
    left join score_totals
        on score_names.score_name = score_totals.score_name

),

final as (

    select
        cast(score_name as {{ dbt.type_string() }}) as score_name,
        cast(
            {{ activation_string_literal("conversion_event" if conversion_event else "plan_tier") }}
            as {{ dbt.type_string() }}
        ) as conversion_basis,
        scoring_date,
        outcome_end_date,
        cast(scored_users as {{ dbt.type_bigint() }}) as scored_users,
        cast(converted_users as {{ dbt.type_bigint() }}) as converted_users,
        cast(cast(converted_users as {{ double }}) / nullif(scored_users, 0) as {{ double }}) as conversion_rate,
        {{ activation_wilson_interval('converted_users', 'scored_users', 'conversion_rate', double) }},
        cast(
            case
                when null_reason is null
                    then (converted_rank_sum - n1 * (n1 + 1.0) / 2.0) / nullif(n1 * n0, 0)
            end as {{ double }}
        ) as roc_auc,
        cast(null_reason as {{ dbt.type_string() }}) as null_reason

    from with_reasons

)

select * from final
