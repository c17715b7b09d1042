{#- Nothing is dropped silently (SPEC §2), per events table (`source_relation`): raw
    rows = staged + quarantined + duplicates removed + rows dated before var
    `activation_start_date` (before_start_date) + rows an incremental run could
    not apply (late_not_applied, 0 after a full build). activation_data_quality is
    checked against the raw tables and against int_activation__events_classified
    (every applied row, counted here by its own columns); the models holding the rows
    are tied to the same classification by assert_activation_staged_events_reconcile
    and assert_activation_quarantined_events_reconcile. The raw tables and the
    classified model are read upstream without a graph edge, so the test runs with
    activation_data_quality alone. Returns one row per mismatch. -#}

with

raw_events as (

    {{ milestone_activation.activation_raw_event_rows_by_source(graph_edge=false) }}

),

classified_events as (

    select
        source_relation,
        count(*) as total_rows,
        coalesce(sum(case when quarantine_reason is null and copy_number = 1 then 1 end), 0)
            as staged_rows,
        coalesce(sum(case when quarantine_reason != 'before_start_date' then 1 end), 0) as quarantined_rows,
        coalesce(sum(case when quarantine_reason = 'before_start_date' then 1 end), 0) as before_start_rows,
        coalesce(sum(case when quarantine_reason is null and copy_number > 1 then 1 end), 0)
            as duplicate_rows

    from {{ milestone_activation.activation_upstream_relation('int_activation__events_classified') }}
    group by source_relation

),

data_quality as (

    select
        source_relation,
        coalesce(sum(row_count), 0) as total_rows,
        coalesce(sum(case when outcome = 'staged' then row_count end), 0) as staged_rows,
        coalesce(sum(case when outcome = 'quarantined' then row_count end), 0) as quarantined_rows,
        coalesce(sum(case when outcome = 'duplicate_removed' then row_count end), 0) as duplicate_rows,
        coalesce(sum(case when outcome = 'before_start_date' then row_count end), 0) as before_start_rows,
        coalesce(sum(case when outcome = 'late_not_applied' then row_count end), 0) as late_rows

    from {{ ref('activation_data_quality') }}
    where table_name = 'events'
    group by source_relation

),

counts as (

    {#- One row per events table in any of the three. #}
    select
        coalesce(raw_events.source_relation, classified_events.source_relation, data_quality.source_relation)
            as source_relation,
        coalesce(raw_events.row_count, 0) as raw_rows,
        coalesce(classified_events.total_rows, 0) as classified_total_rows,
        coalesce(classified_events.staged_rows, 0) as classified_staged_rows,
        coalesce(classified_events.quarantined_rows, 0) as classified_quarantined_rows,
        coalesce(classified_events.duplicate_rows, 0) as classified_duplicate_rows,
        coalesce(classified_events.before_start_rows, 0) as classified_before_start_rows,
        coalesce(data_quality.total_rows, 0) as quality_total_rows,
        coalesce(data_quality.staged_rows, 0) as quality_staged_rows,
        coalesce(data_quality.quarantined_rows, 0) as quality_quarantined_rows,
        coalesce(data_quality.duplicate_rows, 0) as quality_duplicate_rows,
        coalesce(data_quality.before_start_rows, 0) as quality_before_start_rows,
        coalesce(data_quality.late_rows, 0) as quality_late_rows

    from raw_events
    full outer join classified_events
        on raw_events.source_relation = classified_events.source_relation
    full outer join data_quality
        on coalesce(raw_events.source_relation, classified_events.source_relation) = data_quality.source_relation

),

checks as (

    select
        source_relation,
        'raw = staged + quarantined + duplicates removed + before start date + late not applied' as check_name,
        raw_rows as expected_rows,
        classified_total_rows + quality_late_rows as actual_rows
    from counts

    union all

    select
        source_relation,
        'activation_data_quality total = raw' as check_name,
        raw_rows as expected_rows,
        quality_total_rows as actual_rows
    from counts

    union all

    select
        source_relation,
        'activation_data_quality staged = classified staged' as check_name,
        classified_staged_rows as expected_rows,
        quality_staged_rows as actual_rows
    from counts

    union all

    select
        source_relation,
        'activation_data_quality quarantined = classified quarantined' as check_name,
        classified_quarantined_rows as expected_rows,
        quality_quarantined_rows as actual_rows
    from counts

    union all

    select
        source_relation,
        'activation_data_quality duplicates removed = classified duplicates' as check_name,
        classified_duplicate_rows as expected_rows,
        quality_duplicate_rows as actual_rows
    from counts

    union all

    select
        source_relation,
        'activation_data_quality before start date = classified before start date' as check_name,
        classified_before_start_rows as expected_rows,
        quality_before_start_rows as actual_rows
    from counts

)

select *
from checks
where expected_rows != actual_rows
