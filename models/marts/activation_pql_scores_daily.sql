{#- The rolling PQL score of every scored user on each of the last
    `activation_pql_daily_days` days up to date(as_of), for BI tools that want one row
    per day. The only users x days model: it reads the change points and spreads each
    over the days it is valid. A user appears from the first day they had a score. -#}
{{ config(enabled=activation_var('activation_pql_enabled')) }}
{%- do activation_validate_pql_vars() -%}
{%- set daily_days = activation_var('activation_pql_daily_days') -%}

with

score_history as (

    select * from {{ ref('activation_pql_score_history') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

day_offsets as (

    {#- generated_number runs from 1 to daily_days. #}
    {{ dbt.generate_series(daily_days) }}

),

score_dates as (

    select
        cast(
            {{ dbt.dateadd('day', '1 - day_offsets.generated_number', 'cast(as_of.as_of_at as date)') }} as date
        ) as score_date

    from day_offsets
    cross join as_of
    where as_of.as_of_at is not null

),

final as (

    select
        score_history.user_id,
        score_dates.score_date,
        score_history.pql_score,
        score_history.pql_band,
        score_history.pql_action

    from score_history
    inner join score_dates
        on
            score_history.valid_from <= score_dates.score_date
            and (score_history.valid_to is null or score_history.valid_to > score_dates.score_date)

)

select * from final
