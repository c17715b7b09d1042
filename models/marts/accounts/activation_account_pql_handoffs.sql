{#- One row per upward PQL band crossing of an account (product-qualified accounts,
    SPEC §10), for reverse-ETL to a CRM: a change point of
    `activation_account_pql_score_history` whose band ranks above the previous change
    point's. As for users, an account's first change point is compared with the lowest
    band, so starting in the lowest band is not a crossing, and jumping two bands on one
    day is one crossing. `handoff_id` is a hash of account, band and date, so the same
    crossing keeps its key on every run. -#}
{{ config(enabled=activation_var('activation_accounts_enabled') and activation_var('activation_pql_enabled')) }}
{%- set bands = activation_var('activation_pql_bands') | sort(attribute='min_score') -%}

with

score_history as (

    select * from {{ ref('activation_account_pql_score_history') }}

),

ranked_history as (

    select
        *,
        lag(pql_band) over (partition by account_id order by valid_from) as previous_band,
        lag(pql_band_rank) over (partition by account_id order by valid_from) as previous_band_rank,
        row_number() over (partition by account_id order by valid_from) as change_number

    from score_history

),

crossings as (

    select
        account_id,
        valid_from as crossed_on,
        case
            when change_number = 1 then {{ activation_string_literal(bands[0]['band']) }}
            else previous_band
        end as from_band,
        pql_band as to_band,
        pql_action,
        pql_score,
        as_of

    from ranked_history
    {#- The lowest band's rank is 1; a score below every band (rank 0) counts as 1. #}
    where pql_band_rank > case when change_number = 1 then 1 else greatest(previous_band_rank, 1) end

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'account_id',
            "'|'",
            'to_band',
            "'|'",
            'cast(crossed_on as ' ~ dbt.type_string() ~ ')',
        ])) }} as handoff_id,
        account_id,
        crossed_on,
        from_band,
        to_band,
        pql_action,
        pql_score,
        as_of

    from crossings

)

select * from final
