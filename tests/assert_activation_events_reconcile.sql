{#- Nothing is dropped silently (SPEC §2): raw events rows = staged + quarantined +
    duplicates removed + rows an incremental run could not apply (late_not_applied,
    0 after a full build). activation_data_quality is checked against the raw source
    and against int_activation__events_classified (every applied row, counted here by
    its own columns); the models holding the rows are tied to the same classification
    by assert_activation_staged_events_reconcile and
    assert_activation_quarantined_events_reconcile. The source and the classified
    model are read upstream without a graph edge, so the test runs with
    activation_data_quality alone. Returns one row per mismatch. -#}

with

raw_events as (

    select count(*) as row_count
    from {{ milestone_activation.activation_upstream_relation('events', source_name='activation') }}

),

classified_events as (

    select
        count(*) as total_rows,
        coalesce(sum(case when quarantine_reason is null and copy_number = 1 then 1 end), 0)
            as staged_rows,
        coalesce(sum(case when quarantine_reason is not null then 1 end), 0) as quarantined_rows,
        coalesce(sum(case when quarantine_reason is null and copy_number > 1 then 1 end), 0)
            as duplicate_rows

    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}

),

data_quality as (

    select
        coalesce(sum(row_count), 0) as total_rows,
        coalesce(sum(case when outcome = 'staged' then row_count end), 0) as staged_rows,
        coalesce(sum(case when outcome = 'quarantined' then row_count end), 0) as quarantined_rows,
        coalesce(sum(case when outcome = 'duplicate_removed' then row_count end), 0) as duplicate_rows,
        coalesce(sum(case when outcome = 'late_not_applied' then row_count end), 0) as late_rows

    from {{ ref('activation_data_quality') }}
    where table_name = 'events'

),

checks as (

    select
        'raw = staged + quarantined + duplicates removed + late not applied' as check_name,
        raw_events.row_count as expected_rows,
        classified_events.total_rows + data_quality.late_rows as actual_rows
    from raw_events
    cross join classified_events
    cross join data_quality

    union all

    select
        'activation_data_quality total = raw' as check_name,
        raw_events.row_count as expected_rows,
        data_quality.total_rows as actual_rows
    from raw_events
    cross join data_quality

    union all

    select
        'activation_data_quality staged = classified staged' as check_name,
        classified_events.staged_rows as expected_rows,
        data_quality.staged_rows as actual_rows
    from classified_events
    cross join data_quality

    union all

    select
        'activation_data_quality quarantined = classified quarantined' as check_name,
        classified_events.quarantined_rows as expected_rows,
        data_quality.quarantined_rows as actual_rows
    from classified_events
    cross join data_quality

    union all

    select
        'activation_data_quality duplicates removed = classified duplicates' as check_name,
        classified_events.duplicate_rows as expected_rows,
        data_quality.duplicate_rows as actual_rows
    from classified_events
    cross join data_quality

)

select *
from checks
where expected_rows != actual_rows
