{#- The staging of the raw events rows, as CTEs (no leading `with`): the body of
    `stg_activation__events`, which is `with` these `select * from final`.
    `int_activation__events_classified` inlines them (names prefixed `prefix`) instead
    of reading the view, so its filters run before the row-wise work rather than
    after it: an engine computes a view's columns in one projection, the parsed time
    included, for every row it reads, before a filter or join on its result.

    - `source_filter`: a condition on the source columns alone (as the vars name them),
      applied where they are read, before any row-wise expression (an engine can push
      it into its scan).
    - `row_filter`: a condition on the source columns (as the vars name them) and on
      `event_timestamp_text` (the time text, trimmed), applied before the parse.
    - `hash_in`: the name of a relation or CTE with a column `dedup_hash`; only the rows
      whose dedup hash it holds are parsed and returned.
    - `names_from`: the `event_names` CTE of an earlier call, read instead of a CTE
      of its own.
    - `passthrough`: false leaves out the `property_<key>` columns.
    - `cte_hint`: written after `as` in every CTE but `event_names`
      (`activation_cte_not_materialized()` where the caller reads the rows more than
      once and the engine must not store them).

    The row-level rules are those of `stg_activation__events` (its YAML documents
    them). -#}
{% macro activation_staged_events_ctes(prefix='', source_filter=none, row_filter=none, hash_in=none, names_from=none, passthrough=true, cte_hint='') -%}
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
{%- endif -%}
{%- set dedup_hash_expr -%}
        case
            when {{ event_id_text }} is not null
                then {{ activation_row_hash(["'id'", event_id_text] + source_key) }}
            else {{ activation_row_hash(["'content'"] + source_key + [
                activation_clean_text(user_id_column),
                activation_normalize_name(name_column),
                activation_parse_event_timestamp('event_timestamp_text'),
                properties_text,
            ]) }}
        end
{%- endset -%}
{{ prefix }}source as {% if cte_hint %}{{ cte_hint }} {% endif %}(

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

{{ prefix }}timestamp_texts as {% if cte_hint %}{{ cte_hint }} {% endif %}(

    {#- The time as trimmed text, once: the parser refers to its input several times. #}
    select
        *,
        {{ activation_clean_text(timestamp_column) }} as event_timestamp_text

    from {{ prefix }}source
    {%- if source_filter %}
    where
        {{ source_filter }}
    {%- endif %}

),
{%- if not names_from %}

{{ prefix }}event_names as (

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
{%- endif %}

{{ prefix }}parsed as {% if cte_hint %}{{ cte_hint }} {% endif %}(

    {#- Row-wise expressions run on the source columns before any join, so engines
        that keep repetitive columns dictionary-encoded (DuckDB) evaluate them once
        per distinct value. #}
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
        {{ dedup_hash_expr | trim }} as dedup_hash

    from {{ prefix }}timestamp_texts
    {%- if row_filter or hash_in %}
    where
        {%- if row_filter %}
        {{ row_filter }}
        {%- endif %}
        {%- if row_filter and hash_in %}
        and
        {%- endif %}
        {%- if hash_in %}
        {{ dedup_hash_expr | trim }} in (select {{ hash_in }}.dedup_hash from {{ hash_in }})
        {%- endif %}
    {%- endif %}

),

{{ prefix }}final as {% if cte_hint %}{{ cte_hint }} {% endif %}(

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
        {%- for key, column_name in (activation_passthrough_properties() if passthrough else []) %}
        case
            when parsed.is_properties_valid
                then {{ activation_json_extract_text('parsed.properties', activation_string_literal(key)) }}
        end as {{ column_name }},
        {%- endfor %}
        parsed.dedup_hash

    from {{ prefix }}parsed{{ ' as parsed' if prefix }}
    left join {{ names_from or prefix ~ 'event_names' }}{{ ' as event_names' if prefix or names_from }}
        on parsed.event_name_raw = event_names.event_name_raw

)
{%- endmacro %}


{#- The select of `int_activation__events_classified` that gives each staged row its
    final quarantine reason (the reasons in order; see the model's YAML) and its
    partition date, from `events_cte` (the CTEs of `activation_staged_events_ctes`).
    It reads the caller's CTEs `users` and, with var `activation_as_of`, `as_of`. The
    model classifies the rows of its window and, on a full build, the duplicate
    candidates read apart with the same select. -#}
{% macro activation_classify_events(events_cte) -%}
{%- set start_date = activation_var('activation_start_date') -%}
{%- set as_of_var = activation_var('activation_as_of') -%}
    select
        events.source_relation,
        events.event_id,
        events.user_id,
        events.event_name,
        events.event_name_raw,
        events.event_at,
        events.event_timestamp_raw,
        events.properties,
        events.loaded_at,
        case
            {% if start_date -%}
            when
                events.event_at < cast({{ activation_string_literal(start_date) }} as {{ dbt.type_timestamp() }})
                then 'before_start_date'
            {% endif -%}
            when events.row_problem is not null then events.row_problem
            {%- if as_of_var %}
            when
                events.event_at
                > {{ activation_dateadd('hour', activation_var('activation_future_tolerance_hours'), 'as_of.as_of_at') }}
                then 'future_timestamp'
            {%- endif %}
            when not events.is_properties_valid then 'invalid_properties_json'
            when users.user_id is null then 'unknown_user'
        end as quarantine_reason,
        coalesce(cast(events.event_at as date), {{ activation_unparsed_partition_date() }}) as partition_date,
        events.dedup_hash

    from {{ events_cte }}{{ ' as events' if events_cte != 'events' }}
    {% if as_of_var -%}
    cross join as_of
    {% endif -%}
    left join users
        on events.user_id = users.user_id
{%- endmacro %}
