{#- The rolling PQL score (SPEC §5) on every date it can change, one row per user and
    candidate date. A milestone counts once, at its first reach (timeframe not
    applied), with its full weight from its reach date through reach date +
    `activation_pql_recency_days`, and weight x `activation_pql_decay` after that. So a
    user's score can only change on a reach date or on a reach date + recency + 1: those
    are the candidates, kept up to date(as_of). Grows with milestones reached (at most
    two candidates per reach), never with users x days. -#}
{{ config(enabled=activation_var('activation_pql_enabled')) }}
{%- do activation_validate_pql_vars() -%}
{%- set recency_days = activation_var('activation_pql_recency_days') -%}
{%- set decay = activation_var('activation_pql_decay') -%}
{%- set bands = activation_var('activation_pql_bands') -%}

with

reaches as (

    {#- The reach rows, not the bookkeeping rows. -#}
    select * from {{ ref('int_activation__milestone_reaches') }}
    where milestone_id is not null

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

weighted_reaches as (

    select
        reaches.user_id,
        reaches.milestone_id,
        milestones.milestone_weight,
        reaches.reached_at,
        cast(reaches.reached_at as date) as reached_date,
        {#- The first day the milestone counts at its decayed weight. #}
        cast(
            {{ dbt.dateadd('day', recency_days + 1, 'cast(reaches.reached_at as date)') }} as date
        ) as decay_date

    from reaches
    inner join milestones
        on reaches.milestone_id = milestones.milestone_id

),

candidate_dates as (

    select
        user_id,
        reached_date as change_date

    from weighted_reaches

    union distinct

    select
        user_id,
        decay_date as change_date

    from weighted_reaches

),

dates_to_as_of as (

    select
        candidate_dates.user_id,
        candidate_dates.change_date

    from candidate_dates
    cross join as_of
    where candidate_dates.change_date <= cast(as_of.as_of_at as date)

),

contributions as (

    select
        dates_to_as_of.user_id,
        dates_to_as_of.change_date,
        weighted_reaches.milestone_id,
        weighted_reaches.reached_at,
        weighted_reaches.reached_date,
        weighted_reaches.milestone_weight * case
            when dates_to_as_of.change_date < weighted_reaches.decay_date then 1
            else cast({{ decay }} as {{ activation_type_double() }})
        end as contribution

    from dates_to_as_of
    inner join weighted_reaches
        on
            dates_to_as_of.user_id = weighted_reaches.user_id
            and dates_to_as_of.change_date >= weighted_reaches.reached_date

),

ranked_contributions as (

    select
        *,
        row_number() over (
            partition by user_id, change_date
            order by contribution desc, milestone_id asc
        ) as contribution_rank

    from contributions

),

scores as (

    select
        user_id,
        change_date,
        cast(count(*) as {{ dbt.type_int() }}) as milestones_counted,
        sum(contribution) as pql_score,
        {{ activation_listagg(
            'case when contribution_rank <= 3 then milestone_id end',
            "', '",
            'contribution_rank'
        ) }} as top_milestones,
        max(case when reached_date = change_date then reached_at end) as last_reached_at

    from ranked_contributions
    group by user_id, change_date

),

final as (

    select
        user_id,
        change_date,
        milestones_counted,
        pql_score,
        {{ activation_band_label('pql_score', bands, 'band') }} as pql_band,
        {{ activation_band_label('pql_score', bands, 'action') }} as pql_action,
        {{ activation_band_rank('pql_score', bands) }} as pql_band_rank,
        top_milestones,
        last_reached_at

    from scores

)

select * from final
