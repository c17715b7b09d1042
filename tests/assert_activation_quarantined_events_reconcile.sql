{#- activation_quarantined_events holds exactly the quarantined rows of
    int_activation__events_classified, the count activation_data_quality reports as
    quarantined (assert_activation_events_reconcile). The classified model is read
    upstream without a graph edge, so the test runs with activation_quarantined_events
    alone. Returns a row per events table (`source_relation`) whose counts differ. -#}

with

quarantined_events as (

    select
        source_relation,
        count(*) as row_count

    from {{ ref('activation_quarantined_events') }}
    group by source_relation

),

classified_events as (

    select
        source_relation,
        count(*) as row_count

    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}
    where quarantine_reason is not null and quarantine_reason != 'before_start_date'
    group by source_relation

)

select
    coalesce(quarantined_events.source_relation, classified_events.source_relation) as source_relation,
    quarantined_events.row_count as quarantined_rows,
    classified_events.row_count as classified_quarantined_rows

from quarantined_events
full outer join classified_events
    on quarantined_events.source_relation = classified_events.source_relation
where coalesce(quarantined_events.row_count, 0) != coalesce(classified_events.row_count, 0)
