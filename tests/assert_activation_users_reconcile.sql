{#- Nothing is dropped silently (SPEC §2): raw users rows = staged + quarantined
    (a repeated user_id is quarantined as duplicate_user_id, never removed); with
    users derived from the events, distinct valid user ids = staged + quarantined.
    activation_data_quality is checked against the raw source, int_activation__users
    (the staged users) and stg_activation__users (every row with its quarantine
    reason); activation_quarantined_users is tied to the same staging rows by
    assert_activation_quarantined_users_reconcile. These are read upstream without a
    graph edge, so the test runs with activation_data_quality alone. Returns one row
    per mismatch. -#}

with

raw_users as (

    {#- Users derived from the events (var activation_users_from: events): there is no
        users table; the rows to account for are the user ids of the events rows whose
        user id, name and time are valid. -#}
    {% if milestone_activation.activation_var('activation_users_from') == 'events' -%}
    select count(distinct user_id) as row_count
    from {{ milestone_activation.activation_upstream_relation('stg_activation__events') }}
    where row_problem is null
    {%- else -%}
    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('users', source_name='activation') }}
    {%- endif %}

),

staged_users as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('int_activation__users') }}

),

quarantined_users as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('stg_activation__users') }}
    where quarantine_reason is not null

),

data_quality as (

    select
        coalesce(sum(row_count), 0) as total_rows,
        coalesce(sum(case when outcome = 'staged' then row_count end), 0) as staged_rows,
        coalesce(sum(case when outcome = 'quarantined' then row_count end), 0) as quarantined_rows,
        coalesce(sum(case when outcome not in ('staged', 'quarantined') then row_count end), 0)
            as other_rows

    from {{ ref('activation_data_quality') }}
    where table_name = 'users'

),

checks as (

    select
        'raw = staged + quarantined' as check_name,
        raw_users.row_count as expected_rows,
        staged_users.row_count + quarantined_users.row_count as actual_rows
    from raw_users
    cross join staged_users
    cross join quarantined_users

    union all

    select
        'activation_data_quality total = raw' as check_name,
        raw_users.row_count as expected_rows,
        data_quality.total_rows as actual_rows
    from raw_users
    cross join data_quality

    union all

    select
        'activation_data_quality staged = int_activation__users' as check_name,
        staged_users.row_count as expected_rows,
        data_quality.staged_rows as actual_rows
    from staged_users
    cross join data_quality

    union all

    select
        'activation_data_quality quarantined = stg_activation__users quarantined' as check_name,
        quarantined_users.row_count as expected_rows,
        data_quality.quarantined_rows as actual_rows
    from quarantined_users
    cross join data_quality

    union all

    select
        'no users outcome other than staged or quarantined' as check_name,
        0 as expected_rows,
        data_quality.other_rows as actual_rows
    from data_quality

)

select *
from checks
where expected_rows != actual_rows
