{#- activation_user_milestones is the full grid: exactly one row per usable user and
    configured milestone. More rows means a join fanned out, fewer means users or
    milestones went missing. Users and milestones are counted in the models upstream
    of it (int_activation__users holds every usable user, one activation_users row
    each), read without a graph edge so the test runs with activation_user_milestones
    alone. Returns a row when the counts differ. -#}

with

grid_rows as (

    select count(*) as row_count
    from {{ ref('activation_user_milestones') }}

),

users as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('int_activation__users') }}

),

milestones as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('int_activation__milestones') }}

)

select
    grid_rows.row_count as grid_row_count,
    users.row_count as user_count,
    milestones.row_count as milestone_count,
    users.row_count * milestones.row_count as expected_row_count

from grid_rows
cross join users
cross join milestones
where grid_rows.row_count != users.row_count * milestones.row_count
