{#- activation_quarantined_events holds exactly the quarantined rows of
    int_activation__events_classified, the count activation_data_quality reports as
    quarantined (assert_activation_events_reconcile). The classified model is read
    upstream without a graph edge, so the test runs with activation_quarantined_events
    alone. Returns a row when the counts differ. -#}

with

quarantined_events as (

    select count(*) as row_count
    from {{ ref('activation_quarantined_events') }}

),

classified_events as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}
    where quarantine_reason is not null

)

select
    quarantined_events.row_count as quarantined_rows,
    classified_events.row_count as classified_quarantined_rows

from quarantined_events
cross join classified_events
where quarantined_events.row_count != classified_events.row_count
