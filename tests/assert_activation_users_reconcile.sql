{#- Nothing is dropped silently (SPEC §2): raw users rows = staged + quarantined
    (a repeated user_id is quarantined as duplicate_user_id, never removed). Checked
    against the raw source, the models holding the rows and activation_data_quality.
    Returns one row per mismatch. -#}

with

raw_users as (

    select count(*) as row_count
    from {{ source('activation', 'users') }}

),

staged_users as (

    select count(*) as row_count
    from {{ ref('int_activation__users') }}

),

quarantined_users as (

    select count(*) as row_count
    from {{ ref('activation_quarantined_users') }}

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
        'activation_data_quality quarantined = activation_quarantined_users' as check_name,
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
