{#- The users scored for the PQL calibration, once per score: each staged user who had
    signed up by the scoring date (date(as_of) - `activation_calibration_days`), with
    the score they had on that date and whether they converted afterwards.

    - activation_score: weights of the milestones reached within their timeframes by
      the scoring date, on the basis of var `activation_status_score_basis` (`pct`:
      percent of the total weight of all milestones, 0 when that total is 0; `score`:
      the sum).
    - pql_score: the rolling score of the user's latest change on or before the
      scoring date; 0 when none.
    - Converted, with var `activation_conversion_event`: first conversion date in
      (scoring date, date(as_of)], and users who had converted by the scoring date are
      not scored. Otherwise `is_converted_to_paid` (plan tier), which has no date, so
      the window cannot be applied. -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_pql_enabled')
) }}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set calibration_days = activation_var('activation_calibration_days') -%}
{%- set score_basis = activation_var('activation_status_score_basis') -%}
{%- if conversion_event -%}
{#- Users converted by the scoring date are not scored, so a first conversion up to
    the end of the window is one inside it. -#}
{%- set converted_expression -%}
coalesce(engagement.first_conversion_date <= calibration_window.outcome_end_date, false)
{%- endset -%}
{%- set scored_condition -%}
coalesce(engagement.first_conversion_date > calibration_window.scoring_date, true)
{%- endset -%}
{%- else -%}
{%- set converted_expression = 'coalesce(engagement.is_converted_to_paid, false)' -%}
{%- set scored_condition = 'true' -%}
{%- endif -%}
{%- set double = activation_type_double() -%}

with

users as (

    select * from {{ ref('int_activation__users') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

pql_score_changes as (

    select * from {{ ref('int_activation__pql_score_changes') }}
    where user_id != ''  -- not the run marker

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

calibration_window as (

    select
        cast({{ dbt.dateadd('day', -1 * calibration_days, 'cast(as_of_at as date)') }} as date)
            as scoring_date,
        cast(as_of_at as date) as outcome_end_date

    from as_of

),

milestone_summary as (

    select sum(milestone_weight) as total_weight
    from milestones

),

reached_weights as (

    select
        user_milestones.user_id,
        sum(user_milestones.milestone_weight) as reached_weight

    from user_milestones
    cross join calibration_window
    where
        user_milestones.is_within_timeframe
        and cast(user_milestones.reached_at as date) <= calibration_window.scoring_date
    group by user_milestones.user_id

),

ranked_pql_scores as (

    select
        pql_score_changes.user_id,
        pql_score_changes.pql_score,
        row_number() over (
            partition by pql_score_changes.user_id
            order by pql_score_changes.change_date desc
        ) as change_rank

    from pql_score_changes
    cross join calibration_window
    where pql_score_changes.change_date <= calibration_window.scoring_date

),

scored_users as (

    select
        users.user_id,
        {{ converted_expression }} as is_converted

    from users
    cross join calibration_window
    left join engagement
        on users.user_id = engagement.user_id
    where
        cast(users.created_at as date) <= calibration_window.scoring_date
        and {{ scored_condition }}

),

activation_scores as (

    select
        'activation_score' as score_name,
        scored_users.user_id,
        {%- if score_basis == 'pct' %}
        coalesce(
            100.0 * coalesce(reached_weights.reached_weight, 0) / nullif(milestone_summary.total_weight, 0),
            0
        ) as score,
        {%- else %}
        coalesce(reached_weights.reached_weight, 0) as score,
        {%- endif %}
        scored_users.is_converted

    from scored_users
    cross join milestone_summary
    left join reached_weights
        on scored_users.user_id = reached_weights.user_id

),

pql_scores as (

    select
        'pql_score' as score_name,
        scored_users.user_id,
        coalesce(ranked_pql_scores.pql_score, 0) as score,
        scored_users.is_converted

    from scored_users
    left join ranked_pql_scores
        on
            scored_users.user_id = ranked_pql_scores.user_id
            and ranked_pql_scores.change_rank = 1

),

final as (

    select
        score_name,
        user_id,
        cast(score as {{ double }}) as score,
        is_converted

    from activation_scores

    union all

    select
        score_name,
        user_id,
        cast(score as {{ double }}) as score,
        is_converted

    from pql_scores

)

select * from final
