{#- Where every raw row went, per table and events source table (`source_relation`):
    staged, quarantined (by reason), removed as a duplicate, or (events only) dated
    before var `activation_start_date` (not processed), or not
    applied because it arrived after its date left the incremental lookback window
    (source rows not stored; see activation_late_events). Rows per table and source
    add up to the raw row count. -#}

-- depends_on: {{ ref('int_activation__milestones') }}
with

events as (

    select * from {{ ref('int_activation__events_classified') }}

),

users as (

    select * from {{ ref('stg_activation__users') }}

),

event_outcomes as (

    select
        'events' as table_name,
        source_relation,
        case
            when quarantine_reason = 'before_start_date' then 'before_start_date'
            when quarantine_reason is not null then 'quarantined'
            when copy_number = 1 then 'staged'
            else 'duplicate_removed'
        end as outcome,
        case when quarantine_reason != 'before_start_date' then quarantine_reason else '' end as reason,
        count(*) as row_count

    from events
    group by 1, 2, 3, 4

),

raw_event_rows as (

    {{ activation_raw_event_rows_by_source() }}

),

stored_event_rows as (

    {#- From the outcome counts, not a second read of the classified events. #}
    select
        source_relation,
        cast(sum(row_count) as {{ dbt.type_bigint() }}) as row_count

    from event_outcomes
    group by 1

),

late_outcomes as (

    select
        'events' as table_name,
        raw_event_rows.source_relation,
        'late_not_applied' as outcome,
        '' as reason,
        raw_event_rows.row_count - coalesce(stored_event_rows.row_count, 0) as row_count

    from raw_event_rows
    left join stored_event_rows
        on raw_event_rows.source_relation = stored_event_rows.source_relation
    where raw_event_rows.row_count > coalesce(stored_event_rows.row_count, 0)

),

user_outcomes as (

    select
        'users' as table_name,
        cast('' as {{ dbt.type_string() }}) as source_relation,
        case when quarantine_reason is not null then 'quarantined' else 'staged' end as outcome,
        coalesce(quarantine_reason, '') as reason,
        count(*) as row_count

    from users
    group by 1, 2, 3, 4

),

final as (

    select * from event_outcomes
    union all
    select * from late_outcomes
    union all
    select * from user_outcomes

)

select * from final
