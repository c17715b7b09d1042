{#- When each user reached each milestone, timeframe not applied (SPEC §3). A
    requirement is met at the time of its k-th qualifying event (k = min_count),
    counting only occurrences at or after signup, ordered by (event_at, event_id); a
    path is reached when all its requirements are (the latest of their times), a
    milestone at its earliest path, and a gated milestone only once its whole gate
    chain is, at the latest of those times. One row per user and milestone reached.

    Incremental by user (`activation_user_window`, macros/activation_incremental.sql):
    a run recomputes only the users `activation_touched_users` finds (new or changed
    occurrences, a reach on or after a rewritten date, a changed, new or gone user)
    and replaces their rows. Bookkeeping rows: one user marker per user
    (`milestone_id` null, `user_created_at` set) and one run marker (`user_id` '',
    carrying the occurrences' `write_sequence` read and the `config_fingerprint`).
    Every row carries the `write_sequence` of the run that wrote it.
    Readers take `milestone_id is not null`. A change in the milestone requirements or
    gates recomputes every user. -#}
{{ config(**activation_user_incremental_config('milestone_id is null and user_created_at is null')) }}
{%- set config_sql -%}
    select requirement_id, milestone_id, path_id, requirement_signature_id, min_count, path_requirement_count
    from {{ ref('int_activation__milestone_requirements') }}
    order by requirement_id, milestone_id, path_id
{%- endset -%}
{%- set gates_sql -%}
    select milestone_id, requires_milestone_id
    from {{ ref('stg_activation__milestones') }}
    order by milestone_id, requires_milestone_id
{%- endset -%}
{#- A unit test's inputs are rows: nothing to query at compile time. -#}
{%- set in_unit_test = activation_in_unit_test() -%}
{%- set config_fingerprint = activation_config_fingerprint(
    none if in_unit_test else config_sql,
    extra=activation_config_fingerprint(none if in_unit_test else gates_sql, depends_on=ref('stg_activation__milestones')),
    depends_on=ref('int_activation__milestone_requirements')
) -%}
{%- set window = {'mode': 'full', 'sequence': 0} if in_unit_test else activation_user_window(config_fingerprint) -%}
{#- This run's sequence, on every row it writes: `int_activation__pql_score_changes`
    recomputes the users whose marker is newer than the sequence it last read. -#}
{%- set write_sequence = 1 if in_unit_test else activation_next_sequence('write_sequence') -%}
{%- set filtered = window.mode != 'full' and is_incremental() -%}
{#- The columns, in order, of the reach rows and the bookkeeping rows unioned with them;
    every row carries this run's write_sequence. -#}
{%- set columns = [
    ['user_id', dbt.type_string()],
    ['milestone_id', dbt.type_string()],
    ['reached_path_id', dbt.type_int()],
    ['reached_at', dbt.type_timestamp()],
    ['user_created_at', dbt.type_timestamp()],
    ['source_sequence', dbt.type_bigint()],
    ['config_fingerprint', dbt.type_string()],
    ['write_sequence', dbt.type_bigint()],
] -%}
{%- set written = {'write_sequence': 'cast(' ~ write_sequence ~ ' as ' ~ dbt.type_bigint() ~ ')'} %}

with
{%- if filtered %}

touched_users as (

    {{ activation_touched_users(window, ref('int_activation__users'), 'reached_at') }}

),
{%- endif %}

users as (

    select * from {{ ref('int_activation__users') }}
    {%- if filtered %}
    where user_id in (select touched_users.user_id from touched_users)
    {%- endif %}

),

occurrences as (

    select * from {{ ref('int_activation__requirement_occurrences') }}
    {%- if filtered %}
    where requirement_signature_id is not null and user_id in (select touched_users.user_id from touched_users)
    {%- else %}
    where requirement_signature_id is not null
    {%- endif %}

),

requirements as (

    select * from {{ ref('int_activation__milestone_requirements') }}

),

gate_chains as (

    select * from {{ ref('int_activation__milestone_gate_chains') }}

),

ranked_occurrences as (

    {#- The narrow occurrences keep every event a rank up to the largest min_count
        can land on (see int_activation__requirement_occurrences). #}
    select
        occurrences.user_id,
        occurrences.requirement_signature_id,
        occurrences.event_at,
        row_number() over (
            partition by occurrences.user_id, occurrences.requirement_signature_id
            order by occurrences.event_at, occurrences.event_id
        ) as occurrence_number

    from occurrences
    inner join users
        on occurrences.user_id = users.user_id
    where occurrences.event_at >= users.created_at

),

requirement_reaches as (

    select
        ranked_occurrences.user_id,
        requirements.requirement_id,
        requirements.milestone_id,
        requirements.path_id,
        ranked_occurrences.event_at as reached_at

    from ranked_occurrences
    inner join requirements
        on
            ranked_occurrences.requirement_signature_id = requirements.requirement_signature_id
            and ranked_occurrences.occurrence_number = requirements.min_count

),

path_sizes as (

    select distinct
        milestone_id,
        path_id,
        path_requirement_count

    from requirements

),

path_reaches as (

    select
        requirement_reaches.user_id,
        requirement_reaches.milestone_id,
        requirement_reaches.path_id,
        max(requirement_reaches.reached_at) as reached_at

    from requirement_reaches
    inner join path_sizes
        on
            requirement_reaches.milestone_id = path_sizes.milestone_id
            and requirement_reaches.path_id = path_sizes.path_id
    group by
        requirement_reaches.user_id,
        requirement_reaches.milestone_id,
        requirement_reaches.path_id,
        path_sizes.path_requirement_count
    having count(*) = path_sizes.path_requirement_count

),

ranked_paths as (

    select
        *,
        row_number() over (
            partition by user_id, milestone_id
            order by reached_at, path_id
        ) as path_rank

    from path_reaches

),

own_reaches as (

    select
        user_id,
        milestone_id,
        path_id as reached_path_id,
        reached_at

    from ranked_paths
    where path_rank = 1

),

chain_sizes as (

    select
        milestone_id,
        count(*) as chain_length

    from gate_chains
    group by milestone_id

),

gated_reaches as (

    select
        gate_chains.milestone_id,
        own_reaches.user_id,
        max(own_reaches.reached_at) as reached_at,
        max(case when gate_chains.gate_depth = 0 then own_reaches.reached_path_id end) as reached_path_id,
        count(*) as chain_reached_count

    from gate_chains
    inner join own_reaches
        on gate_chains.chain_milestone_id = own_reaches.milestone_id
    group by gate_chains.milestone_id, own_reaches.user_id

),

milestone_reaches as (

    select
        gated_reaches.user_id,
        gated_reaches.milestone_id,
        gated_reaches.reached_path_id,
        gated_reaches.reached_at

    from gated_reaches
    inner join chain_sizes
        on gated_reaches.milestone_id = chain_sizes.milestone_id
    where gated_reaches.chain_reached_count = chain_sizes.chain_length

),

final as (

    select
        {{- activation_typed_row(columns, dict(written,
            user_id='user_id', milestone_id='milestone_id', reached_path_id='reached_path_id', reached_at='reached_at'
        )) }}

    from milestone_reaches

    union all

    {# One user marker per user, with the created_at the rows were built with. -#}
    select
        {{- activation_typed_row(columns, dict(written, user_id='user_id', user_created_at='created_at')) }}

    from users
    {%- if filtered %}

    union all

    {# A touched user who is gone: a row so the delete+insert removes their stored
        rows; the post-hook removes it (activation_remove_gone_users). -#}
    select
        {{- activation_typed_row(columns, dict(written, user_id='touched_users.user_id')) }}

    from touched_users
    where touched_users.user_id not in (select users.user_id from users)
    {%- endif %}

    union all

    {# The run marker: the occurrences' write_sequence read and the configuration. -#}
    select
        {{- activation_typed_row(columns, dict(written,
            user_id="''",
            source_sequence='cast(' ~ window.sequence ~ ' as ' ~ dbt.type_bigint() ~ ')',
            config_fingerprint=activation_string_literal(config_fingerprint)
        )) }}

)

select * from final
