{#- How well each score, taken `activation_calibration_days` before as_of, ranks the
    users who converted afterwards: one row per score with the scored users, their
    conversions and the ROC AUC. The AUC is the Mann-Whitney statistic: with scores
    ranked ascending and tied scores given their average rank,
    AUC = (sum of the converted users' ranks - n1 (n1 + 1) / 2) / (n1 n0).

    Its 95% interval is DeLong's (SPEC §11): with m converted and n other users, each
    converted user's component V10 = (others scored lower + half the others scored the
    same) / n, each other user's V01 = (converted scored higher + half those scored the
    same) / m, and var(AUC) = S10 / m + S01 / n with S10, S01 the sample variances of
    the components; AUC -+ z sqrt(var), clamped to [0, 1]. Users with the same score
    share their component, so the sums run over distinct scores. Below
    `activation_calibration_min_conversions` converted users the AUC and its interval
    are null (reason `too_few_conversions`); the interval is also null with fewer than
    two users on either side (a sample variance needs two). -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_pql_enabled')
) }}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set calibration_days = activation_var('activation_calibration_days') -%}
{%- set min_conversions = activation_var('activation_calibration_min_conversions') -%}
{%- set double = activation_type_double() -%}
{%- set z = 1.959963984540054 -%}

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

score_counts as (

    {#- Converted (positive) and other (negative) users per distinct score. #}
    select
        score_name,
        score,
        cast(count(case when is_converted then 1 end) as {{ double }}) as positives,
        cast(count(case when not is_converted then 1 end) as {{ double }}) as negatives

    from calibration_scores
    group by score_name, score

),

score_components as (

    {#- The DeLong components of the users with this score: the other users scored
        lower (and half those tied) per converted user, the converted users scored
        higher (and half those tied) per other user, before dividing by n and m. #}
    select
        score_name,
        positives,
        negatives,
        coalesce(sum(negatives) over (
            partition by score_name order by score
            rows between unbounded preceding and 1 preceding
        ), 0.0) + negatives / 2.0 as negatives_below,
        coalesce(sum(positives) over (
            partition by score_name order by score
            rows between 1 following and unbounded following
        ), 0.0) + positives / 2.0 as positives_above

    from score_counts

),

delong_totals as (

    select
        score_name,
        sum(positives) as n1,
        sum(negatives) as n0,
        sum(positives * negatives_below) / nullif(sum(positives) * sum(negatives), 0) as auc

    from score_components
    group by score_name

),

delong_intervals as (

    {#- S10 = sum (V10 - AUC)^2 / (m - 1) with V10 = negatives_below / n, S01 likewise
        with V01 = positives_above / m; centred sums keep the digits. #}
    select
        score_components.score_name,
        {{ z }} * sqrt(
            sum(
                score_components.positives
                * (score_components.negatives_below / delong_totals.n0 - delong_totals.auc)
                * (score_components.negatives_below / delong_totals.n0 - delong_totals.auc)
            ) / (max(delong_totals.n1) - 1.0) / max(delong_totals.n1)
            + sum(
                score_components.negatives
                * (score_components.positives_above / delong_totals.n1 - delong_totals.auc)
                * (score_components.positives_above / delong_totals.n1 - delong_totals.auc)
            ) / (max(delong_totals.n0) - 1.0) / max(delong_totals.n0)
        ) as auc_margin

    from score_components
    inner join delong_totals
        on score_components.score_name = delong_totals.score_name
    where delong_totals.n1 >= 2 and delong_totals.n0 >= 2
    group by score_components.score_name

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
            when score_totals.converted_users < {{ min_conversions }} then 'too_few_conversions'
        end as null_reason,
        delong_intervals.auc_margin

    from score_names
    cross join calibration_window
    left join score_totals
        on score_names.score_name = score_totals.score_name
    left join delong_intervals
        on score_names.score_name = delong_intervals.score_name

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
        {#- AUC -+ the DeLong margin, clamped to [0, 1]. #}
        cast(
            case
                when null_reason is null and auc_margin is not null
                    then greatest(0.0, (converted_rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0) - auc_margin)
            end as {{ double }}
        ) as roc_auc_ci_lower,
        cast(
            case
                when null_reason is null and auc_margin is not null
                    then least(1.0, (converted_rank_sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0) + auc_margin)
            end as {{ double }}
        ) as roc_auc_ci_upper,
        cast(null_reason as {{ dbt.type_string() }}) as null_reason

    from with_reasons

)

select * from final
