{#- The rolling PQL score (SPEC §5) on every date it can change, one row per user and
    candidate date. A milestone counts once, at its first reach (timeframe not
    applied), with its full weight from its reach date through reach date +
    `activation_pql_recency_days`, and weight x `activation_pql_decay` after that. So a
    user's score can only change on a reach date or on a reach date + recency + 1: those
    are the candidates, kept up to date(as_of). Grows with milestones reached (at most
    two candidates per reach), never with users x days.

    Incremental by user (`activation_reach_window`, macros/activation_incremental.sql):
    a run recomputes only the touched users and replaces their rows (delete+insert
    keyed on `user_id`): users whose `int_activation__milestone_reaches` marker was
    written since this model last read the reaches, users gone from the reaches,
    users with a stored row after date(as_of) (as_of moved back) and users with a
    reach or decay date between the date(as_of) stored on the run marker and the
    current one (as_of moved on: candidates that now count). Each touched user gets a
    placeholder row (`change_date` null), so a user left with no candidate loses their
    stored rows; the post-hook removes the placeholders. The run marker (`user_id`
    '') records the reaches' `write_sequence` read, the date(as_of) the rows were cut
    at (`change_date`) and the `config_fingerprint` (milestone weights and the PQL
    vars): a change of those recomputes every user. Readers take `user_id != ''`. -#}
{{ config(
    enabled=activation_var('activation_pql_enabled'),
    **activation_user_incremental_config('change_date is null')
) }}
{%- do activation_validate_pql_vars() -%}
{%- set recency_days = activation_var('activation_pql_recency_days') -%}
{%- set decay = activation_var('activation_pql_decay') -%}
{%- set bands = activation_var('activation_pql_bands') -%}
{#- The columns, in order, for the bookkeeping rows unioned with the scores. -#}
{%- set columns = [
    ['user_id', dbt.type_string()],
    ['change_date', 'date'],
    ['milestones_counted', dbt.type_int()],
    ['pql_score', activation_type_double()],
    ['pql_band', dbt.type_string()],
    ['pql_action', dbt.type_string()],
    ['pql_band_rank', dbt.type_int()],
    ['top_milestones', dbt.type_string()],
    ['last_reached_at', dbt.type_timestamp()],
    ['source_sequence', dbt.type_bigint()],
    ['config_fingerprint', dbt.type_string()],
] -%}
{#- The first day a milestone counts at its decayed weight, of a reach date written as
    `__reach_date__` (replaced by the caller's expression). -#}
{%- set decay_date = 'cast(' ~ dbt.dateadd('day', recency_days + 1, '__reach_date__') | trim ~ ' as date)' -%}
{%- set weights_sql -%}
    select milestone_id, milestone_weight
    from {{ ref('int_activation__milestones') }}
    order by milestone_id
{%- endset -%}
{#- A unit test's inputs are rows: nothing to query at compile time. -#}
{%- set in_unit_test = activation_in_unit_test() -%}
{%- set config_fingerprint = activation_config_fingerprint(
    none if in_unit_test else weights_sql,
    extra=[recency_days, decay, bands] | string,
    depends_on=ref('int_activation__milestones')
) -%}
{%- set window = {'mode': 'full', 'sequence': 0} if in_unit_test else activation_reach_window(config_fingerprint) -%}
{%- set filtered = window.mode != 'full' and is_incremental() %}

with

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),
{%- if filtered %}

stored_marker as (

    select change_date as stored_as_of_date
    from {{ this }}
    where user_id = ''

),

touched_users as (

    {% if window.mode == 'rebuild' -%}
    select user_id
    from {{ this }}
    where user_id != ''

    union

    select user_id
    from {{ ref('int_activation__milestone_reaches') }}
    where milestone_id is null and user_id != ''
    {%- else -%}
    -- recomputed by the reaches since this model last read them
    select user_id
    from {{ ref('int_activation__milestone_reaches') }}
    where milestone_id is null and user_id != '' and write_sequence > {{ window.read_sequence }}

    union

    -- gone from the reaches (a removed user)
    select stored.user_id
    from {{ this }} as stored
    where
        stored.user_id != ''
        and stored.user_id not in (
            select reach_users.user_id
            from {{ ref('int_activation__milestone_reaches') }} as reach_users
            where reach_users.milestone_id is null
        )

    union

    -- a stored candidate after date(as_of): as_of moved back
    select stored.user_id
    from {{ this }} as stored
    cross join as_of
    where
        stored.user_id != ''
        and (as_of.as_of_at is null or stored.change_date > cast(as_of.as_of_at as date))

    union

    -- a reach or decay date that counts now and did not when the rows were cut:
    -- as_of moved on
    select moved.user_id
    from {{ ref('int_activation__milestone_reaches') }} as moved
    cross join as_of
    cross join stored_marker
    where
        moved.milestone_id is not null
        and (
            (
                cast(moved.reached_at as date) <= cast(as_of.as_of_at as date)
                and (stored_marker.stored_as_of_date is null or cast(moved.reached_at as date) > stored_marker.stored_as_of_date)
            )
            or (
                {{ decay_date | replace('__reach_date__', 'cast(moved.reached_at as date)') }} <= cast(as_of.as_of_at as date)
                and (
                    stored_marker.stored_as_of_date is null
                    or {{ decay_date | replace('__reach_date__', 'cast(moved.reached_at as date)') }} > stored_marker.stored_as_of_date
                )
            )
        )
    {%- endif %}

),
{%- endif %}

reaches as (

    {#- The reach rows, not the bookkeeping rows. #}
    select * from {{ ref('int_activation__milestone_reaches') }}
    where milestone_id is not null
    {%- if filtered %}
        and user_id in (select touched_users.user_id from touched_users)
    {%- endif %}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

weighted_reaches as (

    select
        reaches.user_id,
        reaches.milestone_id,
        milestones.milestone_weight,
        reaches.reached_at,
        cast(reaches.reached_at as date) as reached_date,
        {{ decay_date | replace('__reach_date__', 'cast(reaches.reached_at as date)') }} as decay_date

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
        last_reached_at,
        cast(null as {{ dbt.type_bigint() }}) as source_sequence,
        cast(null as {{ dbt.type_string() }}) as config_fingerprint

    from scores
    {%- if filtered %}

    union all

    {# A placeholder per touched user, so the delete+insert removes their stored rows
        even when they have no candidate left; the post-hook removes it. -#}
    select
        {{- activation_typed_row(columns, {'user_id': 'user_id'}) }}

    from touched_users
    {%- endif %}

    union all

    {# The run marker: the reaches' write_sequence read, the date(as_of) the rows were
        cut at and the configuration. -#}
    select
        {{- activation_typed_row(columns, {
            'user_id': "''",
            'change_date': 'cast(as_of.as_of_at as date)',
            'source_sequence': 'cast(' ~ window.sequence ~ ' as ' ~ dbt.type_bigint() ~ ')',
            'config_fingerprint': activation_string_literal(config_fingerprint),
        }) }}

    from as_of

)

select * from final
