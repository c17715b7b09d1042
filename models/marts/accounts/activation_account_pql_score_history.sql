{#- The account's rolling PQL score as change points (SPEC §10): on each day, the sum
    (or, with var `activation_account_pql_aggregate: max`, the largest) of its users'
    rolling scores that day (`activation_pql_score_history`; 0 before a user's first
    change point), with the band of var `activation_pql_bands`. Candidate days are the
    days on which one of its users' scores changes; a candidate is kept when the score
    (to 1e-9) or the band differs from the previous kept one, so the history grows with
    the users' change points, not with accounts x days. The sum is carried as a running
    total of the users' changes; the largest score needs each user's score on each
    candidate day, which grows with an account's change days x its users. -#}
{{ config(enabled=activation_var('activation_accounts_enabled') and activation_var('activation_pql_enabled')) }}
{%- do activation_validate_pql_vars() -%}
{%- set bands = activation_var('activation_pql_bands') -%}
{%- set aggregate = activation_var('activation_account_pql_aggregate') -%}

with

score_history as (

    select * from {{ ref('activation_pql_score_history') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

member_points as (

    {#- The change points of the account's users (created on or before as_of). #}
    select
        users.account_id,
        score_history.user_id,
        score_history.valid_from,
        score_history.valid_to,
        score_history.pql_score,
        score_history.pql_score - coalesce(lag(score_history.pql_score) over (
            partition by score_history.user_id order by score_history.valid_from
        ), 0.0) as score_change

    from score_history
    inner join users
        on score_history.user_id = users.user_id
    cross join as_of
    where users.account_id is not null and users.created_at <= as_of.as_of_at

),

{%- if aggregate == 'sum' %}

daily_changes as (

    select
        account_id,
        valid_from as score_date,
        sum(score_change) as score_change

    from member_points
    group by account_id, valid_from

),

account_scores as (

    select
        account_id,
        score_date,
        sum(score_change) over (
            partition by account_id
            order by score_date
            rows between unbounded preceding and current row
        ) as pql_score

    from daily_changes

),
{%- else %}

candidate_days as (

    select distinct
        account_id,
        valid_from as score_date

    from member_points

),

account_scores as (

    {#- Each user's score valid on the day: valid_from <= day < valid_to. #}
    select
        candidate_days.account_id,
        candidate_days.score_date,
        max(member_points.pql_score) as pql_score

    from candidate_days
    inner join member_points
        on
            candidate_days.account_id = member_points.account_id
            and member_points.valid_from <= candidate_days.score_date
            and (member_points.valid_to is null or candidate_days.score_date < member_points.valid_to)
    group by candidate_days.account_id, candidate_days.score_date

),
{%- endif %}

ranked as (

    select
        account_id,
        score_date,
        pql_score,
        {{ activation_band_rank('pql_score', bands) }} as pql_band_rank,
        lag(pql_score) over (partition by account_id order by score_date) as previous_score,
        lag({{ activation_band_rank('pql_score', bands) }}) over (
            partition by account_id order by score_date
        ) as previous_band_rank

    from account_scores

),

kept as (

    select *

    from ranked
    where
        previous_score is null
        or abs(pql_score - previous_score) > 1e-9
        or pql_band_rank != previous_band_rank

),

final as (

    select
        kept.account_id,
        kept.score_date as valid_from,
        lead(kept.score_date) over (partition by kept.account_id order by kept.score_date) as valid_to,
        cast(kept.pql_score as {{ activation_type_double() }}) as pql_score,
        {{ activation_band_label('kept.pql_score', bands, 'band') }} as pql_band,
        {{ activation_band_label('kept.pql_score', bands, 'action') }} as pql_action,
        cast(kept.pql_band_rank as {{ dbt.type_int() }}) as pql_band_rank,
        lead(kept.score_date) over (partition by kept.account_id order by kept.score_date) is null as is_current,
        as_of.as_of_at as as_of

    from kept
    cross join as_of

)

select * from final
