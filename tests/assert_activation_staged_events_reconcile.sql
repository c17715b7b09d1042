{#- int_activation__events holds exactly the staged rows of
    int_activation__events_classified (no quarantine reason, first copy), the count
    activation_data_quality reports as staged (assert_activation_events_reconcile).
    The classified model is read upstream without a graph edge, so the test runs with
    int_activation__events alone. Returns a row when the counts differ. -#}

with

staged_events as (

    select count(*) as row_count
    from {{ ref('int_activation__events') }}

),

classified_events as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}
    where quarantine_reason is null and copy_number = 1

)

select
    staged_events.row_count as staged_rows,
    classified_events.row_count as classified_staged_rows

from staged_events
cross join classified_events
where staged_events.row_count != classified_events.row_count
