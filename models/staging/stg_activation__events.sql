{#- One row per raw events row: names normalised, time parsed to UTC, and the
    row-level problems a single row can show by itself. Problems that need other
    tables (unknown user, future time, duplicates) are decided downstream.

    The raw column names come from the `activation_event_*_column` vars, whose defaults
    are the columns of the events layout (`activation_events_layout`; canonical:
    event_id, user_id, event_name, event_timestamp, properties); with
    `activation_event_id_column` or `activation_event_properties_column` null the
    column reads as null (duplicates are then found by content). With
    `activation_event_property_columns` the properties are a JSON object of those
    columns. In the mixpanel layout the event id is insert_id, distinct_id, name and
    time together (Mixpanel's own duplicate rule). The properties of
    `activation_event_passthrough_properties` come out as columns `property_<key>`.

    Event names are normalised once per distinct raw name and joined back: a product
    has tens of event names and billions of events, and the regex replace per row
    was the costliest expression of the model. -#}
{%- set id_column = activation_var('activation_event_id_column') -%}
{%- set user_id_column = activation_var('activation_event_user_id_column') -%}
{%- set name_column = activation_var('activation_event_name_column') -%}
{%- set timestamp_column = activation_var('activation_event_timestamp_column') -%}
{%- set properties_column = activation_var('activation_event_properties_column') -%}
{%- set loaded_at_column = activation_var('activation_event_loaded_at_column') -%}
{%- set property_columns = activation_var('activation_event_property_columns') -%}
{%- set layout = activation_var('activation_events_layout') -%}
{%- set users_from_events = activation_var('activation_users_from') == 'events' -%}
{%- set traits_column = activation_var('activation_user_traits_column') if users_from_events else none -%}
{%- if property_columns and properties_column and execute -%}
    {%- do exceptions.raise_compiler_error(
        "milestone_activation: var activation_event_property_columns = " ~ property_columns ~ " and var activation_event_properties_column = '"
        ~ properties_column ~ "' both give the properties (layout " ~ layout ~ "). Fix: set activation_event_properties_column to null"
        ~ " to build the properties from the listed columns, or set activation_event_property_columns to [] to read the JSON column."
    ) -%}
{%- endif -%}
{#- Mixpanel counts two rows as one event when name, distinct_id, time and $insert_id
    are all equal: the id is made of the four. -#}
{%- set event_id_text = activation_clean_text(id_column) -%}
{%- if layout == 'mixpanel' and id_column -%}
{%- set event_id_text = "case when " ~ event_id_text ~ " is not null then " ~ dbt.concat([
    event_id_text, "'|'", activation_clean_text(user_id_column), "'|'", activation_text_column(name_column), "'|'",
    "cast(" ~ activation_parse_event_timestamp('event_timestamp_text') ~ " as " ~ dbt.type_string() ~ ")",
]) ~ " end" -%}
{%- endif -%}
{%- if property_columns -%}
{%- set properties_text = activation_json_object(property_columns) -%}
{%- else -%}
{%- set properties_text = activation_text_column(properties_column) -%}
{%- endif -%}
{%- set layout_note = '' -%}
{%- if layout != 'canonical' -%}
{%- set layout_note = ' (a default of layout ' ~ layout ~ '), or set activation_events_layout to the layout of your table' -%}
{%- endif -%}
{%- set event_sources = activation_event_sources() -%}
{%- set several_sources = activation_reads_event_relations() -%}
{#- With several tables, the columns read as text are cast in each table's select
    (the tables may type a column differently); property columns keep their types
    (they become JSON values) and read as null in a table that lacks them. -#}
{%- set source_key = ['source_relation'] if several_sources else [] -%}
{%- set text_columns = [id_column, user_id_column, name_column, timestamp_column, properties_column, traits_column]
    | reject('none') | unique | list -%}
{%- for event_source in event_sources -%}
{%- set present_columns = activation_check_source_columns(event_source['relation'], 'events', [
    {'column': loaded_at_column, 'var': 'activation_event_loaded_at_column'},
    {'column': id_column, 'var': 'activation_event_id_column', 'fix_note': layout_note ~ ", or to null to find duplicates by content"},
    {'column': user_id_column, 'var': 'activation_event_user_id_column', 'fix_note': layout_note},
    {'column': name_column, 'var': 'activation_event_name_column', 'fix_note': layout_note},
    {'column': timestamp_column, 'var': 'activation_event_timestamp_column', 'fix_note': layout_note},
    {'column': properties_column, 'var': 'activation_event_properties_column', 'fix_note': layout_note ~ ", or to null if there is none"},
    {'column': property_columns if not several_sources else none, 'var': 'activation_event_property_columns', 'fix_note': " (or remove it from the list)"},
    {'column': traits_column, 'var': 'activation_user_traits_column', 'fix_note': layout_note ~ ", or to null to read the traits from the properties"},
]) -%}
{%- do event_source.update({'present_columns': present_columns}) -%}
{%- endfor -%}
{%- if several_sources and execute -%}
{%- set listed_columns = event_sources | map(attribute='present_columns') | reject('none') | list -%}
{%- for column in property_columns -%}
{%- set holders = [] -%}
{%- for columns in listed_columns if column | lower in columns -%}{%- do holders.append(1) -%}{%- endfor -%}
{%- if listed_columns | length > 0 and holders | length == 0 -%}
    {%- do exceptions.raise_compiler_error(
        "milestone_activation: var activation_event_property_columns names '" ~ column ~ "', a column none of the tables of var "
        ~ "activation_event_relations has. Fix: remove it from activation_event_property_columns, or name the column as the tables do."
    ) -%}
{%- endif -%}
{%- endfor -%}
{%- endif %}

with

source as (

    {#- Only the columns read, so the tables' other columns (a `source_relation` of
        their own, say) do not matter. -#}
    {%- for event_source in event_sources %}
    {%- set present = event_source['present_columns'] -%}
    {%- set selected = [] -%}
    {%- for column in text_columns -%}
    {%- do selected.append(
        "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ") as " ~ column if several_sources else column
    ) -%}
    {%- endfor -%}
    {%- for column in property_columns if column | lower not in text_columns | map('lower') | list -%}
    {%- do selected.append(column if present is none or column | lower in present else "null as " ~ column) -%}
    {%- endfor -%}
    {%- set taken = (text_columns + property_columns) | map('lower') | list -%}
    {%- if loaded_at_column and loaded_at_column | lower not in taken -%}
    {%- do selected.append(
        "cast(" ~ loaded_at_column ~ " as " ~ dbt.type_timestamp() ~ ") as " ~ loaded_at_column
        if several_sources else loaded_at_column
    ) -%}
    {%- endif %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        cast({{ activation_string_literal(event_source['name']) }} as {{ dbt.type_string() }}) as source_relation,
        {{ selected | join(',\n        ') }}
    from {{ event_source['relation'] }}
    {%- endfor %}

),

timestamp_texts as (

    {#- The time as trimmed text, once: the parser refers to its input several times. -#}
    select
        *,
        {{ activation_clean_text(timestamp_column) }} as event_timestamp_text

    from source

),

event_names as (

    select
        event_name_raw,
        {{ activation_normalize_name('event_name_raw') }} as event_name

    from (
        {#- Reads the relations, not the `source` CTE: a CTE read twice may be stored
            in memory whole by the engine. -#}
        {%- if several_sources %}
        select distinct event_name_raw
        from (
            {%- for event_source in event_sources %}
            {%- if not loop.first %}
            union all
            {%- endif %}
            select distinct {{ activation_text_column(name_column) }} as event_name_raw
            from {{ event_source['relation'] }}
            {%- endfor %}
        ) as names_by_table
        {%- else %}
        select distinct {{ activation_text_column(name_column) }} as event_name_raw
        from {{ source('activation', 'events') }}
        {%- endif %}
    ) as distinct_names

),

parsed as (

    {#- Row-wise expressions run on the source columns before any join, so engines
        that keep repetitive columns dictionary-encoded (DuckDB) evaluate them once
        per distinct value. -#}
    select
        source_relation,
        {{ event_id_text }} as event_id,
        {{ activation_clean_text(user_id_column) }} as user_id,
        {{ activation_text_column(name_column) }} as event_name_raw,
        {{ activation_parse_event_timestamp('event_timestamp_text') }} as event_at,
        {{ activation_text_column(timestamp_column) }} as event_timestamp_raw,
        {{ properties_text }} as properties,
        {{ activation_text_column(traits_column) }} as user_traits,
        {%- if loaded_at_column %}
        cast({{ loaded_at_column }} as {{ dbt.type_timestamp() }}) as loaded_at,
        {%- else %}
        cast(null as {{ dbt.type_timestamp() }}) as loaded_at,
        {%- endif %}
        {{ properties_text }} is null or coalesce({{ activation_json_is_valid(properties_text) }}, false)
            as is_properties_valid,
        {#- Hash of the dedup key (event_id, else the content). Written on the source
            columns so a query that needs only the hash parses the time and normalises
            the name only for rows without an event_id. -#}
        case
            when {{ event_id_text }} is not null
                then {{ activation_row_hash(["'id'", event_id_text] + source_key) }}
            else {{ activation_row_hash(["'content'"] + source_key + [
                activation_clean_text(user_id_column),
                activation_normalize_name(name_column),
                activation_parse_event_timestamp('event_timestamp_text'),
                properties_text,
            ]) }}
        end as dedup_hash

    from timestamp_texts

),

final as (

    select
        parsed.source_relation,
        parsed.event_id,
        parsed.user_id,
        event_names.event_name,
        parsed.event_name_raw,
        parsed.event_at,
        parsed.event_timestamp_raw,
        parsed.properties,
        parsed.user_traits,
        parsed.loaded_at,
        case
            when parsed.user_id is null then 'missing_user_id'
            when event_names.event_name is null then 'missing_event_name'
            when parsed.event_at is null then 'invalid_timestamp'
        end as row_problem,
        parsed.is_properties_valid,
        {%- for key, column_name in activation_passthrough_properties() %}
        case
            when parsed.is_properties_valid
                then {{ activation_json_extract_text('parsed.properties', activation_string_literal(key)) }}
        end as {{ column_name }},
        {%- endfor %}
        parsed.dedup_hash

    from parsed
    left join event_names
        on parsed.event_name_raw = event_names.event_name_raw

)

select * from final
