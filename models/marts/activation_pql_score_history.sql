{#- The rolling PQL score as change points (SPEC §5): one row per user and date from
    which the score or band differs from the day before, valid until the next row
    (exclusive). Candidate dates come from `int_activation__pql_score_changes`; a
    candidate whose score and band equal the previous candidate's is dropped. -#}
{{ config(enabled=activation_var('activation_pql_enabled')) }}

with

score_changes as (

    select * from {{ ref('int_activation__pql_score_changes') }}
    where user_id != ''  -- not the run marker

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

compared as (

    select
        *,
        lag(pql_score) over (partition by user_id order by change_date) as previous_score,
        lag(pql_band_rank) over (partition by user_id order by change_date) as previous_band_rank

    from score_changes

),

kept as (

    {#- Scores are sums of doubles added in no fixed order, so equal scores are those
        within 1e-9 of each other rather than bit-for-bit equal. The band is compared by
        rank (0 below every band), which is never null. #}
    select *

    from compared
    where
        previous_score is null
        or abs(pql_score - previous_score) > 1e-9
        or pql_band_rank != previous_band_rank

),

periods as (

    select
        user_id,
        change_date as valid_from,
        lead(change_date) over (partition by user_id order by change_date) as valid_to,
        pql_score,
        pql_band,
        pql_action,
        top_milestones

    from kept

),

final as (

    select
        periods.user_id,
        periods.valid_from,
        periods.valid_to,
        periods.pql_score,
        periods.pql_band,
        periods.pql_action,
        periods.top_milestones,
        periods.valid_to is null as is_current,
        as_of.as_of_at as as_of

    from periods
    cross join as_of

)

select * from final
