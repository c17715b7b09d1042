{#- int_activation__events holds exactly the staged rows of
    int_activation__events_classified (no quarantine reason, first copy), the count
    activation_data_quality reports as staged (assert_activation_events_reconcile).
    The classified model is read upstream without a graph edge, so the test runs with
    int_activation__events alone. Returns a row per events table (`source_relation`) whose counts differ. -#}

with

staged_events as (

    select
        source_relation,
        count(*) as row_count

    from {{ ref('int_activation__events') }}
    group by source_relation

),

classified_events as (

    select
        source_relation,
        count(*) as row_count

    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}
    where quarantine_reason is null and copy_number = 1
    group by source_relation

)

select
    coalesce(staged_events.source_relation, classified_events.source_relation) as source_relation,
    staged_events.row_count as staged_rows,
    classified_events.row_count as classified_staged_rows

from staged_events
full outer join classified_events
    on staged_events.source_relation = classified_events.source_relation
where coalesce(staged_events.row_count, 0) != coalesce(classified_events.row_count, 0)
