{#- Per user and event date, the event facts the BI marts need, from usable,
    deduplicated events: first and last activity (events in `activation_activity_events`,
    or any event), invites sent (var `activation_invite_event`, counted by
    `activation_invite_count_property` when set) and the last conversion event (var
    `activation_conversion_event`; `int_activation__user_engagement` compares it with
    signup, so this model does not depend on the users' rows). One row per active
    user-day, so the per-user facts never re-read the events.

    Incremental by event date (`activation_derived_window`): the dates holding events
    rows written since this model last read them, with one marker row per rewritten
    date (user_id null, carrying the events' `source_sequence` read, the
    `config_fingerprint` and this run's own `write_sequence`, which
    `int_activation__user_engagement` compares with the one it last read) as in
    `int_activation__requirement_occurrences`; a change in the vars above rebuilds it
    in full. -#}
{{ config(**activation_incremental_config('partition_date')) }}
{%- set invite_event = activation_var('activation_invite_event') -%}
{%- set invite_count_property = activation_var('activation_invite_count_property') -%}
{%- set conversion_event = activation_var('activation_conversion_event') -%}
{%- set activity_events = activation_var('activation_activity_events') -%}
{%- set config_fingerprint = activation_config_fingerprint(
    extra=[invite_event, invite_count_property, conversion_event, activity_events] | string
) -%}
{%- set window = activation_derived_window(config_fingerprint) -%}
{%- set window_filter = activation_derived_window_filter(window) -%}
{%- set write_sequence = activation_next_sequence('write_sequence') -%}
{#- The columns, in order, of the activity rows and the marker rows unioned with them. -#}
{%- set columns = [
    ['user_id', dbt.type_string()],
    ['partition_date', 'date'],
    ['first_activity_at', dbt.type_timestamp()],
    ['last_activity_at', dbt.type_timestamp()],
    ['invites_sent', dbt.type_bigint()],
    ['last_conversion_at', dbt.type_timestamp()],
    ['source_sequence', dbt.type_bigint()],
    ['config_fingerprint', dbt.type_string()],
    ['write_sequence', dbt.type_bigint()],
] %}

with

events as (

    select * from {{ ref('int_activation__events_classified') }}
    where {{ window_filter }}

),

usable_events as (

    select
        events.user_id,
        events.event_name,
        events.event_at,
        events.properties,
        events.partition_date,
        {%- if activity_events | length > 0 %}
        events.event_name in (
            {%- for activity_event in activity_events %}
            {{ activation_event_name_literal(activity_event) }}{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as is_activity
        {%- else %}
        true as is_activity
        {%- endif %}

    from events
    where events.quarantine_reason is null and events.copy_number = 1

),

daily as (

    select
        user_id,
        partition_date,
        min(case when is_activity then event_at end) as first_activity_at,
        max(case when is_activity then event_at end) as last_activity_at,
        sum(
            case
                when event_name = {{ activation_event_name_literal(invite_event) }}
                {%- if invite_count_property %}
                    then coalesce(
                        {{ activation_try_cast_integer(activation_json_extract_text('properties', activation_string_literal(invite_count_property))) }},
                        1
                    )
                    {%- else %}
                    then 1
                {%- endif %}
                else 0
            end
        ) as invites_sent,
        {%- if conversion_event %}
        max(case when event_name = {{ activation_event_name_literal(conversion_event) }} then event_at end)
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }})
        {%- endif %} as last_conversion_at

    from usable_events
    group by user_id, partition_date

),

partition_markers as (

    {#- Every date this run rewrites, one row each. #}
    {{ activation_derived_window_dates(window_filter) }}

),

final as (

    select
        {{- activation_typed_row(columns, {
            'user_id': 'user_id', 'partition_date': 'partition_date',
            'first_activity_at': 'first_activity_at', 'last_activity_at': 'last_activity_at',
            'invites_sent': 'cast(invites_sent as ' ~ dbt.type_bigint() ~ ')',
            'last_conversion_at': 'last_conversion_at',
        }) }}

    from daily

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

)

select * from final
