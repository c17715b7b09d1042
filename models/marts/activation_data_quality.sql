{#- Where every raw row went, per table: staged, quarantined (by reason) or removed
    as a duplicate. Rows per table add up to the raw row count. -#}

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
    select * from user_outcomes

)

select * from final
