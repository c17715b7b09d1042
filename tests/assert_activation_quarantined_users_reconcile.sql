{#- activation_quarantined_users holds exactly the quarantined rows of
    stg_activation__users, the count activation_data_quality reports as quarantined
    (assert_activation_users_reconcile). The staging model is read upstream without a
    graph edge, so the test runs with activation_quarantined_users alone. Returns a
    row when the counts differ. -#}

with

quarantined_users as (

    select count(*) as row_count
    from {{ ref('activation_quarantined_users') }}

),

staged_users as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('stg_activation__users') }}
    where quarantine_reason is not null

)

select
    quarantined_users.row_count as quarantined_rows,
    staged_users.row_count as staging_quarantined_rows

from quarantined_users
cross join staged_users
where quarantined_users.row_count != staged_users.row_count
