{#- Every raw event row with its final quarantine reason (null when usable) and, for
    usable rows, its copy number among duplicates. Reasons are checked in order:
    missing_user_id, missing_event_name, invalid_timestamp, future_timestamp,
    invalid_properties_json, unknown_user. With var `activation_start_date`, a row whose
    time parses to before that date (UTC) is set aside first, whatever else is wrong
    with it: stored narrow (source, time, load time and date only) with the marker
    `before_start_date` in `quarantine_reason`, so the row counts still reconcile, but
    it is neither quarantined nor deduplicated nor staged.
    Duplicates are same event_id when present,
    otherwise same (user_id, event_name, event_at, properties), within one source
    table (`source_relation`); copy 1 is kept.

    Incremental by event date (macros/activation_incremental.sql): a run re-reads the
    source rows dated from the window start on (plus every row whose time does not
    parse) and rewrites those dates. Rows whose time text shows them well before the
    window are skipped by that text (`activation_timestamp_text_before`), before the
    parse: the model inlines the staging of stg_activation__events as CTEs
    (`activation_staged_events_ctes`) with the filter inside, where the view would
    have parsed every row before any filter on its columns.
    The window is decided from the stored rows alone (`activation_event_window_start`):
    the lookback before the latest stored date, every date whose rows the current
    as_of, tolerance or users classify differently, and, with var `activation_event_loaded_at_column`, the dates of source rows loaded
    after the latest stored load time (late events of any age).
    A copy stored before the window keeps its number; copies in the window count after
    it. Every row written carries the run's `load_sequence`, which the models built on
    this one compare with the sequence they last read. -#}
{{ config(**activation_incremental_config('partition_date')) }}
{#- The settings that decide how a raw row is read. The event id, user id, name and
    properties column vars count only when set away from their defaults, so tables
    built before those vars existed keep their fingerprint. -#}
{%- set column_vars = [
    'activation_event_id_column',
    'activation_event_user_id_column',
    'activation_event_name_column',
    'activation_event_properties_column',
    'activation_events_layout',
    'activation_event_property_columns',
] -%}
{%- set column_settings = [] -%}
{%- for name in column_vars if activation_var(name) != activation_var_specs()[name]['default'] -%}
{%- do column_settings.append(name ~ '=' ~ activation_var(name)) -%}
{%- endfor -%}
{#- The start date counts only when set, so tables built before the var existed keep
    their fingerprint. -#}
{%- set start_date = activation_var('activation_start_date') -%}
{%- set start_setting = ['activation_start_date=' ~ start_date] if start_date else [] -%}
{#- The events relation: the source, or the tables of var activation_event_relations
    with their names. -#}
{%- set relations_text = source('activation', 'events') | string -%}
{%- if activation_reads_event_relations() -%}
{%- set relations_text = activation_event_sources() | map(attribute='name') | join('|') ~ '=' ~
    activation_event_sources() | map(attribute='relation') | map('string') | join('|') -%}
{%- endif -%}
{%- set config_fingerprint = activation_config_fingerprint(extra=([
    relations_text,
    activation_var('activation_event_timestamp_column'),
    activation_var('activation_event_timestamp_format'),
    activation_var('activation_event_loaded_at_column'),
] + column_settings + start_setting) | string) -%}
{%- set window_start = activation_event_window_start(config_fingerprint) -%}
{%- set load_sequence = activation_next_load_sequence() -%}
{%- set as_of_var = activation_var('activation_as_of') -%}
{%- if window_start -%}
{%- set window_start_date = "cast(" ~ activation_string_literal(window_start) ~ " as date)" -%}
{%- else -%}
{%- set window_start_date = "cast(null as date)" -%}
{%- endif -%}
{#- A full build reads the events in passes instead of storing a wide copy of all of
    them in memory: the duplicate hashes (a cheap pass, see stg_activation__events),
    the rows, and the rows whose hash is held twice (filtered by the hash before the
    parse). An incremental run reads only its window, which is small. -#}
{%- set cte_hint = '' if window_start else activation_cte_not_materialized() -%}
{#- Rows set aside by the start date keep only their source, time, load time and date. -#}
{%- if start_date -%}
{%- set quarantined = "coalesce(numbered.quarantine_reason, 'before_start_date') != 'before_start_date'" -%}
{%- set not_set_aside = "coalesce(numbered.quarantine_reason, '') != 'before_start_date'" -%}
{%- else -%}
{%- set quarantined = 'numbered.quarantine_reason is not null' -%}
{%- endif -%}
{#- An incremental run skips most of the history by its time text before the parse
    (`activation_timestamp_text_before`), in the staging CTEs themselves. The test reads
    the time column's text as received, not the trimmed text, where the source rows
    are read (`source_filter`): the text is trimmed and the rest of the row computed
    only for the rows kept, where a test on the trimmed text stayed above the trimming
    of every row. A text with surrounding whitespace fails the test and goes to the
    full parse. -#}
{%- set text_prefilter = none -%}
{%- if window_start and activation_event_timestamp_format() == 'auto' -%}
{%- set text_prefilter = 'not ' ~ activation_timestamp_text_before(
    activation_text_column(activation_var('activation_event_timestamp_column')), window_start
) -%}
{%- endif -%}
{%- set carried_columns = [
    'source_relation', 'event_id', 'user_id', 'event_name', 'event_name_raw', 'event_at', 'event_timestamp_raw',
    'properties', 'loaded_at', 'quarantine_reason', 'partition_date',
] %}

{#- The view it inlines stays its parent in the DAG (lineage, selection, and the
    view's own tests before this model). #}
-- depends_on: {{ ref('stg_activation__events') }}
-- depends_on: {{ ref('int_activation__milestones') }}
with

{{ activation_staged_events_ctes(
    prefix='staged_', source_filter=text_prefilter, passthrough=false, cte_hint=cte_hint
) }},

events as {% if cte_hint %}{{ cte_hint }} {% endif %}(

    select * from staged_final
    {%- if window_start %}
    where staged_final.event_at is null or staged_final.event_at >= cast({{ activation_string_literal(window_start) }} as {{ dbt.type_timestamp() }})
    {%- endif %}

),

users as (

    select * from {{ ref('int_activation__users') }}

),
{%- if as_of_var %}

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),
{%- endif %}

classified as {% if cte_hint %}{{ cte_hint }} {% endif %}(

    {{ activation_classify_events('events') }}

),

earlier_copies as (

    {#- Usable copies stored before the window that share an event_id with a usable
        row in the window (none on a full build). Rows deduplicated by content share
        their date, so only event_id duplicates can straddle the window start.
        The stored rows are filtered by the window's ids alone, and the date and
        quarantine conditions are counted in the aggregate: with them in the where
        clause DuckDB's estimates made it build its hash table on the stored rows
        (all of history) instead of the window's ids, which at 100M events took the
        window's statement from 19 s to 32 s and spilled 1.7 GB. #}
    {% if window_start -%}
    {%- set earlier_copy = 'stored.partition_date < ' ~ window_start_date ~ ' and stored.quarantine_reason is null' -%}
    select
        stored.source_relation,
        stored.event_id,
        count(case when {{ earlier_copy }} then 1 end) as earlier_copy_count

    from {{ this }} as stored
    where
        stored.event_id in (
            select classified.event_id
            from classified
            where classified.quarantine_reason is null and classified.event_id is not null
        )
    group by stored.source_relation, stored.event_id
    having count(case when {{ earlier_copy }} then 1 end) > 0
    {%- else -%}
    select
        source_relation,
        event_id,
        0 as earlier_copy_count

    from classified
    where false
    {%- endif %}

),

duplicated_hashes as (

    {#- Dedup-key hashes held by more than one row (quarantined rows included: a
        superset is harmless). Only usable rows with such a hash are numbered, with a
        window on their exact key; a hash collision only sends a few more rows to the
        exact numbering. #}
    select dedup_hash

    from events
    group by dedup_hash
    having count(*) > 1

),
{%- if not window_start %}

{{ activation_staged_events_ctes(
    prefix='candidate_', hash_in='duplicated_hashes', names_from='staged_event_names', passthrough=false
) }},
{%- endif %}

candidates as (

    {#- The usable rows whose hash is held more than once. A full build reads them from
        the source again, filtered by the hash before the parse, so only they are
        parsed twice; an incremental run takes them from its window. #}
    select *

    from (
        {%- if window_start %}
        select classified.*

        from classified
        inner join duplicated_hashes
            on classified.dedup_hash = duplicated_hashes.dedup_hash
        {%- else %}
        {{ activation_classify_events('candidate_final') | indent(4) }}
        {%- endif %}
    ) as candidate_rows
    where quarantine_reason is null

),

numbered as (

    {#- Quarantined rows and usable rows whose key is held once: no numbering. #}
    select
        {%- for column in carried_columns %}
        classified.{{ column }},
        {%- endfor %}
        case when classified.quarantine_reason is null then 1 end as copy_number_in_window

    from classified
    left join duplicated_hashes
        on classified.dedup_hash = duplicated_hashes.dedup_hash
    where classified.quarantine_reason is not null or duplicated_hashes.dedup_hash is null

    union all

    select
        {%- for column in carried_columns %}
        classified.{{ column }},
        {%- endfor %}
        row_number() over (
            partition by
                classified.source_relation,
                coalesce(classified.event_id, ''),
                case when classified.event_id is null then classified.user_id end,
                case when classified.event_id is null then classified.event_name end,
                case when classified.event_id is null then classified.event_at end,
                case when classified.event_id is null then coalesce(classified.properties, '') end,
                case when classified.event_id is null then classified.properties is null end
            order by classified.event_at, classified.user_id, classified.event_name, coalesce(classified.properties, '')
        ) as copy_number_in_window

    from candidates as classified

),

final as (

    select
        numbered.source_relation,
        {%- for column in ['event_id', 'user_id', 'event_name'] %}
        {%- if start_date %}
        case when {{ not_set_aside }} then numbered.{{ column }} end as {{ column }},
        {%- else %}
        numbered.{{ column }},
        {%- endif %}
        {%- endfor %}
        case when {{ quarantined }} then numbered.event_name_raw end as event_name_raw,
        numbered.event_at,
        case when {{ quarantined }} then numbered.event_timestamp_raw end as event_timestamp_raw,
        {%- if start_date %}
        case when {{ not_set_aside }} then numbered.properties end as properties,
        {%- else %}
        numbered.properties,
        {%- endif %}
        numbered.loaded_at,
        numbered.quarantine_reason,
        numbered.partition_date,
        cast(numbered.copy_number_in_window + coalesce(earlier_copies.earlier_copy_count, 0) as {{ dbt.type_bigint() }})
            as copy_number,
        {{ window_start_date }} as processed_from_date,
        cast({{ load_sequence }} as {{ dbt.type_bigint() }}) as load_sequence,
        {{ activation_string_literal(config_fingerprint) }} as config_fingerprint

    from numbered
    left join earlier_copies
        on
            numbered.source_relation = earlier_copies.source_relation
            and numbered.event_id = earlier_copies.event_id

)

select * from final
