{#- One row per upward PQL band crossing (SPEC §5), for reverse-ETL to a CRM: a change
    point whose band ranks above the previous change point's band. A user's first
    change point is compared with the lowest band, so starting in the lowest band is
    not a crossing. Jumping two bands on one day is one crossing. `handoff_id` is a hash
    of user, band and date, so the same crossing keeps its key on every run. -#}
{{ config(enabled=activation_var('activation_pql_enabled')) }}
{%- do activation_validate_pql_vars() -%}
{%- set bands = activation_var('activation_pql_bands') | sort(attribute='min_score') -%}
{%- set lowest_band = bands[0]['band'] -%}

with

score_history as (

    select * from {{ ref('activation_pql_score_history') }}

),

score_changes as (

    select * from {{ ref('int_activation__pql_score_changes') }}
    where user_id != ''  -- not the run marker

),

users as (

    select * from {{ ref('int_activation__users') }}

),

ranked_history as (

    select
        score_history.user_id,
        score_history.valid_from,
        score_history.pql_score,
        score_history.pql_band,
        score_history.pql_action,
        score_history.as_of,
        score_changes.pql_band_rank,
        score_changes.last_reached_at,
        lag(score_history.pql_band) over (
            partition by score_history.user_id order by score_history.valid_from
        ) as previous_band,
        lag(score_changes.pql_band_rank) over (
            partition by score_history.user_id order by score_history.valid_from
        ) as previous_band_rank,
        row_number() over (
            partition by score_history.user_id order by score_history.valid_from
        ) as change_number

    from score_history
    inner join score_changes
        on
            score_history.user_id = score_changes.user_id
            and score_history.valid_from = score_changes.change_date

),

crossings as (

    select
        user_id,
        valid_from as crossed_on,
        last_reached_at as crossed_at,
        case
            when change_number = 1 then {{ activation_string_literal(lowest_band) }}
            else previous_band
        end as from_band,
        pql_band as to_band,
        pql_action,
        pql_score,
        as_of

    from ranked_history
    {#- The first change point compares with the lowest band's rank, 1, and so does a
        score below every band (rank 0): entering the lowest band is never a crossing. #}
    where pql_band_rank > case when change_number = 1 then 1 else greatest(previous_band_rank, 1) end

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'crossings.user_id',
            "'|'",
            'crossings.to_band',
            "'|'",
            'cast(crossings.crossed_on as ' ~ dbt.type_string() ~ ')',
        ])) }} as handoff_id,
        crossings.user_id,
        crossings.crossed_on,
        crossings.crossed_at,
        crossings.from_band,
        crossings.to_band,
        crossings.pql_action,
        crossings.pql_score,
        {{ activation_seconds_between('users.created_at', 'crossings.crossed_at') }} / 86400.0
            as days_since_signup,
        crossings.as_of

    from crossings
    inner join users
        on crossings.user_id = users.user_id

)

select * from final
