{#- The incremental run's account of events it could not apply: source rows that
    arrived after their date left the lookback window (`late_event_rows`), and rows
    stored as unknown_user whose user exists now (`stale_unknown_user_rows`). Both
    are applied by `dbt build --full-refresh`; both are 0 after one. One row, for all
    the events tables together (activation_data_quality has the late rows per table). -#}

with

raw_events as (

    select {{ activation_raw_event_rows() }} as row_count

),

classified as (

    select * from {{ ref('int_activation__events_classified') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

stored as (

    select
        count(*) as row_count,
        max(
            case
                when
                    classified.event_at is not null
                    and coalesce(classified.quarantine_reason, '') != 'future_timestamp'
                    then classified.partition_date
            end
        ) as latest_event_date,
        max(classified.processed_from_date) as window_start_date

    from classified

),

stale_unknown_users as (

    select count(*) as row_count

    from classified
    inner join users
        on classified.user_id = users.user_id
    where classified.quarantine_reason = 'unknown_user'

),

final as (

    select
        raw_events.row_count as raw_event_rows,
        stored.row_count as processed_event_rows,
        raw_events.row_count - stored.row_count as late_event_rows,
        stale_unknown_users.row_count as stale_unknown_user_rows,
        stored.latest_event_date,
        stored.window_start_date,
        cast({{ activation_var("activation_lookback_days") }} as {{ dbt.type_int() }}) as lookback_days,
        raw_events.row_count != stored.row_count or stale_unknown_users.row_count > 0 as needs_full_refresh

    from raw_events
    cross join stored
    cross join stale_unknown_users

)

select * from final
