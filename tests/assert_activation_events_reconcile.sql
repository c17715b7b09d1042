{#- Nothing is dropped silently (SPEC §2): raw events rows = staged + quarantined +
    duplicates removed + rows an incremental run could not apply (late_not_applied,
    0 after a full build). Counts come from three places on purpose: the raw source, the
    models that hold the rows (int_activation__events, activation_quarantined_events)
    and activation_data_quality, which must agree with both. Returns one row per
    mismatch. -#}

with

raw_events as (

    select count(*) as row_count
    from {{ source('activation', 'events') }}

),

staged_events as (

    select count(*) as row_count
    from {{ ref('int_activation__events') }}

),

quarantined_events as (

    select count(*) as row_count
    from {{ ref('activation_quarantined_events') }}

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
        staged_events.row_count + quarantined_events.row_count + data_quality.duplicate_rows
        + data_quality.late_rows as actual_rows
    from raw_events
    cross join staged_events
    cross join quarantined_events
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
        'activation_data_quality staged = int_activation__events' as check_name,
        staged_events.row_count as expected_rows,
        data_quality.staged_rows as actual_rows
    from staged_events
    cross join data_quality

    union all

    select
        'activation_data_quality quarantined = activation_quarantined_events' as check_name,
        quarantined_events.row_count as expected_rows,
        data_quality.quarantined_rows as actual_rows
    from quarantined_events
    cross join data_quality

)

select *
from checks
where expected_rows != actual_rows
