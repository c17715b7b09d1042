{#- The events that can count toward a requirement, narrow and partitioned by event
    date: usable, deduplicated events whose name (and property filter) matches a
    requirement signature. Per user, signature and day only the first `max_min_count`
    events are kept, and on the user's signup day also the first `max_min_count` at or
    after signup (one row a day from an aggregate, with a null event_id, where every
    requirement of the signature needs a single event). That always contains each
    user's first `max_min_count` events at or after signup, which is all
    `int_activation__milestone_reaches` ranks (it applies the signup filter).

    Incremental by event date (`activation_derived_window`): the dates holding events
    rows written since this model last read them, and the signup dates of users whose
    `created_at` changed, appeared or went (found from the user marker rows). Marker
    rows (`requirement_signature_id` null): one per rewritten date (`user_id` null,
    carrying the events' `source_sequence` read, the `config_fingerprint` and this
    run's own `write_sequence`, which the per-user models compare with the one they
    last read), so a date whose rows all drop out still gets replaced; one per user (`user_created_at`)
    in the partition of the signup date. A change in the milestone requirements
    rebuilds the model in full. -#}
{{ config(**activation_incremental_config('partition_date')) }}
{%- set signature_sql -%}
    select requirement_signature_id, event_name, property_key, property_value, max(min_count)
    from {{ ref('int_activation__milestone_requirements') }}
    group by 1, 2, 3, 4
    order by 1
{%- endset -%}
{%- set config_fingerprint = activation_config_fingerprint(
    signature_sql, depends_on=ref('int_activation__milestone_requirements')
) -%}
{%- set user_change_sql -%}
    {#- Earliest signup date (stored or current) of a user whose created_at changed,
        who is new, or who is gone. -#}
    select min(
        case
            when stored.user_id is null then cast(users.created_at as date)
            when users.user_id is null then cast(stored.user_created_at as date)
            when cast(users.created_at as date) < cast(stored.user_created_at as date) then cast(users.created_at as date)
            else cast(stored.user_created_at as date)
        end
    ) as first_changed_date
    from (
        select user_id, user_created_at
        from {{ this }}
        where user_id is not null and requirement_signature_id is null
    ) as stored
    full outer join {{ ref('int_activation__users') }} as users
        on stored.user_id = users.user_id
    where stored.user_id is null or users.user_id is null or stored.user_created_at != users.created_at
{%- endset -%}
{%- set window = activation_derived_window(config_fingerprint, user_change_sql if is_incremental() else none) -%}
{%- set window_filter = activation_derived_window_filter(window) -%}
{%- set write_sequence = activation_next_sequence('write_sequence') -%}
{#- The columns, in order, of the occurrence rows and the marker rows unioned with them. -#}
{%- set columns = [
    ['user_id', dbt.type_string()],
    ['requirement_signature_id', dbt.type_bigint()],
    ['event_id', dbt.type_string()],
    ['event_at', dbt.type_timestamp()],
    ['partition_date', 'date'],
    ['user_created_at', dbt.type_timestamp()],
    ['source_sequence', dbt.type_bigint()],
    ['config_fingerprint', dbt.type_string()],
    ['write_sequence', dbt.type_bigint()],
] %}

with

events as (

    select * from {{ ref('int_activation__events_classified') }}
    where {{ window_filter }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

requirements as (

    select * from {{ ref('int_activation__milestone_requirements') }}

),

signatures as (

    select
        requirement_signature_id,
        event_name,
        property_key,
        property_value,
        max(min_count) as max_min_count

    from requirements
    group by requirement_signature_id, event_name, property_key, property_value

),

needed_events as (

    select
        events.user_id,
        events.event_id,
        events.event_name,
        events.event_at,
        events.properties,
        events.partition_date

    from events
    where
        events.quarantine_reason is null
        and events.copy_number = 1
        and events.event_name in (select signatures.event_name from signatures)

),

matched_events as (

    select
        needed_events.user_id,
        signatures.requirement_signature_id,
        signatures.max_min_count,
        needed_events.event_id,
        needed_events.event_at,
        needed_events.partition_date,
        {#- The signup time on the user's signup date, else null: only that day can
            hold events both before and after signup. -#}
        users.created_at as signup_at

    from needed_events
    inner join signatures
        on
            needed_events.event_name = signatures.event_name
            and (
                signatures.property_key is null
                or {{ activation_json_extract_text('needed_events.properties', 'signatures.property_key') }}
                = signatures.property_value
            )
    left join users
        on
            needed_events.user_id = users.user_id
            and needed_events.partition_date = cast(users.created_at as date)

),

single_event_days as (

    {#- Signatures that need one event: the day's first event, and on the signup day
        the first at or after signup, by an aggregate (the event_id plays no part
        downstream when one event is enough). #}
    select
        user_id,
        requirement_signature_id,
        partition_date,
        min(event_at) as first_event_at,
        min(case when event_at >= signup_at then event_at end) as first_event_after_signup_at

    from matched_events
    where max_min_count = 1
    group by user_id, requirement_signature_id, partition_date

),

qualifying_events as (

    select
        user_id,
        requirement_signature_id,
        cast(null as {{ dbt.type_string() }}) as event_id,
        first_event_at as event_at,
        partition_date

    from single_event_days

    union all

    select
        user_id,
        requirement_signature_id,
        cast(null as {{ dbt.type_string() }}) as event_id,
        first_event_after_signup_at as event_at,
        partition_date

    from single_event_days
    where first_event_after_signup_at > first_event_at

    union all

    {# Others: the day's first `max_min_count` events, and on the signup day the
        first `max_min_count` at or after signup, by a window. #}
    select
        user_id,
        requirement_signature_id,
        event_id,
        event_at,
        partition_date

    from (
        select
            *,
            row_number() over (
                partition by user_id, requirement_signature_id, partition_date
                order by event_at, event_id
            ) as day_occurrence_number,
            row_number() over (
                partition by user_id, requirement_signature_id, partition_date, event_at >= signup_at
                order by event_at, event_id
            ) as side_of_signup_occurrence_number

        from matched_events
        where max_min_count > 1
    ) as numbered
    where
        day_occurrence_number <= max_min_count
        or (event_at >= signup_at and side_of_signup_occurrence_number <= max_min_count)

),

partition_markers as (

    {#- Every date this run rewrites, one row each. #}
    {{ activation_derived_window_dates(window_filter) }}

),

user_markers as (

    select
        user_id,
        created_at,
        cast(created_at as date) as partition_date

    from users
    where {{ activation_derived_window_filter(window, 'cast(created_at as date)') }}

),

final as (

    select
        {{- activation_typed_row(columns, {
            'user_id': 'user_id', 'requirement_signature_id': 'requirement_signature_id',
            'event_id': 'event_id', 'event_at': 'event_at', 'partition_date': 'partition_date',
        }) }}

    from qualifying_events

    union all

    {# A marker per date rewritten: the events' load_sequence read, the configuration
        and this run's write_sequence. -#}
    select
        {{- activation_typed_row(columns, {
            'partition_date': 'partition_date',
            'source_sequence': 'cast(' ~ window.sequence ~ ' as ' ~ dbt.type_bigint() ~ ')',
            'config_fingerprint': activation_string_literal(config_fingerprint),
            'write_sequence': 'cast(' ~ write_sequence ~ ' as ' ~ dbt.type_bigint() ~ ')',
        }) }}

    from partition_markers

    union all

    {# A user marker on the signup date, with the created_at the rows were built with. -#}
    select
        {{- activation_typed_row(columns, {
            'user_id': 'user_id', 'partition_date': 'partition_date', 'user_created_at': 'created_at',
        }) }}

    from user_markers

)

select * from final
