{#- Where every raw row went, per table: staged, quarantined (by reason), removed
    as a duplicate, or (events only) not applied because it arrived after its date
    left the incremental lookback window (see activation_late_events). Rows per table
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
        case
            when quarantine_reason is not null then 'quarantined'
            when copy_number = 1 then 'staged'
            else 'duplicate_removed'
        end as outcome,
        coalesce(quarantine_reason, '') as reason,
        count(*) as row_count

    from events
    group by 1, 2, 3

),

late_outcomes as (

    select
        'events' as table_name,
        'late_not_applied' as outcome,
        '' as reason,
        late_event_rows as row_count

    from {{ ref('activation_late_events') }}
    where late_event_rows > 0

),

user_outcomes as (

    select
        'users' as table_name,
        case when quarantine_reason is not null then 'quarantined' else 'staged' end as outcome,
        coalesce(quarantine_reason, '') as reason,
        count(*) as row_count

    from users
    group by 1, 2, 3

),

final as (

    select * from event_outcomes
    union all
    select * from late_outcomes
    union all
    select * from user_outcomes

)

select * from final
