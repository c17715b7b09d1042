{#- Incremental processing by event date.

    The event-grain models (`int_activation__events_classified` and the narrow tables
    built from it) are partitioned by `partition_date`, the event's UTC date. Each run
    rewrites whole partitions from the first date of the reprocessing window onwards,
    so late events inside the window and duplicates arriving in a later batch are
    handled exactly as a full refresh would. The window starts `activation_lookback_days`
    before the latest date already stored. -#}


{#- Model config for an event-date partitioned incremental model. DuckDB and
    PostgreSQL replace the rewritten dates with delete+insert keyed on the partition
    column; Spark (no Delta, so no merge) overwrites the same dates as Parquet
    partitions with insert_overwrite. Both replace exactly the dates present in the
    model's output. -#}
{% macro activation_incremental_config(partition_column='partition_date') -%}
    {{ return(adapter.dispatch('activation_incremental_config', 'milestone_activation')(partition_column)) }}
{%- endmacro %}

{% macro default__activation_incremental_config(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': partition_column,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{% macro spark__activation_incremental_config(partition_column) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [partition_column],
        'file_format': 'parquet',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}


{#- Partition date for rows whose event time could not be parsed: later than any real
    date, so the rows (all quarantined) are re-read from the source on every run. -#}
{% macro activation_unparsed_partition_date() -%}
    date '9999-12-31'
{%- endmacro %}


{#- Sequence number of this run of `int_activation__events_classified`, stored on
    every row it writes (`load_sequence`): one more than the largest stored, also on a
    full refresh, so a model built from the events can tell which rows changed since
    it last read them (`activation_derived_window`). 1 when the table does not exist. -#}
{% macro activation_next_load_sequence() -%}
    {{ return(activation_next_sequence('load_sequence')) }}
{%- endmacro %}


{#- One more than the largest `column` stored in this model's table (also on a full
    refresh), 1 when the table or the column does not exist yet. An incremental run of
    a table without the column stops asking for --full-refresh. -#}
{% macro activation_next_sequence(column) -%}
    {%- if not execute -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set existing = load_relation(this) -%}
    {%- if existing is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set column_names = adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list -%}
    {%- if column not in column_names -%}
        {%- if is_incremental() -%}
            {%- do activation_require_bookkeeping_columns(existing, [column]) -%}
        {%- endif -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set sequence_query -%}
        select max({{ column }}) as latest_sequence
        from {{ this }}
    {%- endset -%}
    {%- set latest = run_query(sequence_query).columns[0].values()[0] -%}
    {{ return((latest | int) + 1 if latest is not none else 1) }}
{%- endmacro %}


{#- Stops an incremental run when a stored table was built by an earlier version of
    the package, without the columns its bookkeeping reads. -#}
{% macro activation_require_bookkeeping_columns(relation, columns) -%}
    {%- set column_names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- for column in columns if column not in column_names -%}
        {%- do exceptions.raise_compiler_error(
            relation.identifier ~ " was built by an earlier version of milestone_activation (it has no column "
            ~ column ~ "). Fix: rebuild it once with `dbt run --full-refresh`."
        ) -%}
    {%- endfor -%}
{%- endmacro %}


{#- First date of this run's reprocessing window for `int_activation__events_classified`,
    as 'YYYY-MM-DD', or none when the model is built in full (first run, full refresh,
    or nothing with a usable date stored yet). Decided from the model's own stored rows
    only, so an interrupted run or a run of any subset of models changes nothing:

    - `activation_lookback_days` days before the latest stored event date (rows
      quarantined as future_timestamp, and any row after the cutoff, left out: a row
      quarantined for another reason but dated in the future must not move the
      window past the dates new events arrive in);
    - the first date of a stored row whose classification the current inputs change:
      a future_timestamp row now at or before the cutoff (`as_of` plus
      `activation_future_tolerance_hours`, moved forwards or unset), a row not
      quarantined for its own content that is now after the cutoff (moved backwards),
      an unknown_user row whose user exists now, a usable row whose user is gone;
    - with var `activation_event_loaded_at_column`, the first event date of a source
      row loaded after the latest stored load time of its source table.

    A stored row whose source table is not read any more, or a table read now whose
    rows were never stored, changes the fingerprint below (it holds the tables).

    A change of the settings that decide how a row is read (`config_fingerprint`: the
    events relation, the `activation_event_*_column` vars, `activation_events_layout`,
    `activation_event_property_columns`, `activation_event_timestamp_format`,
    `activation_start_date`) stops the run: every stored row would have to be read again. -#}
{% macro activation_event_window_start(config_fingerprint) -%}
    {%- if not execute or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do activation_require_bookkeeping_columns(this, ['load_sequence', 'config_fingerprint', 'loaded_at', 'source_relation']) -%}
    {%- set as_of_var = activation_var('activation_as_of') -%}
    {%- set lookback_days = activation_var('activation_lookback_days') -%}
    {%- set state_query -%}
        with

        cutoff as (
            {%- if as_of_var %}
            select {{ activation_dateadd('hour', activation_var('activation_future_tolerance_hours'), 'as_of_at') }} as cutoff_at
            from {{ ref('int_activation__as_of') }}
            {%- else %}
            select cast(null as {{ dbt.type_timestamp() }}) as cutoff_at
            {%- endif %}
        ),

        users as (
            select user_id from {{ ref('int_activation__users') }}
        ),

        stored as (
            select
                max(
                    case
                        when
                            stored.event_at is not null
                            and coalesce(stored.quarantine_reason, '') != 'future_timestamp'
                            and (cutoff.cutoff_at is null or stored.event_at <= cutoff.cutoff_at)
                            then stored.partition_date
                    end
                ) as latest_date,
                min(
                    case
                        when
                            stored.quarantine_reason = 'future_timestamp'
                            and (cutoff.cutoff_at is null or stored.event_at <= cutoff.cutoff_at)
                            then stored.partition_date
                        when
                            (stored.quarantine_reason is null or stored.quarantine_reason in ('invalid_properties_json', 'unknown_user'))
                            and stored.event_at > cutoff.cutoff_at
                            then stored.partition_date
                    end
                ) as cutoff_change_date,
                count(case when stored.config_fingerprint != {{ activation_string_literal(config_fingerprint) }} then 1 end)
                    as other_settings_rows

            from {{ this }} as stored
            cross join cutoff
        ),

        user_changes as (
            select min(stored.partition_date) as user_change_date
            from {{ this }} as stored
            where
                (
                    stored.quarantine_reason = 'unknown_user'
                    and stored.user_id in (select users.user_id from users)
                )
                or (
                    stored.quarantine_reason is null
                    and stored.user_id not in (select users.user_id from users)
                )
        )

        select
            stored.latest_date,
            stored.cutoff_change_date,
            user_changes.user_change_date,
            stored.other_settings_rows

        from stored
        cross join user_changes
    {%- endset -%}
    {%- set state = run_query(state_query).rows[0] -%}
    {%- if state[3] | int > 0 -%}
        {%- do exceptions.raise_compiler_error(
            "int_activation__events_classified: the events source or how its rows are read changed since the stored rows were built "
            ~ "(the events relation or the tables of var activation_event_relations, its column vars activation_event_*_column, var activation_events_layout, "
            ~ "var activation_event_property_columns, var activation_event_timestamp_format or var activation_start_date). "
            ~ "An incremental run would leave the stored rows as they were read before. Fix: `dbt run --full-refresh`."
        ) -%}
    {%- endif -%}
    {%- set candidates = [] -%}
    {%- if state[0] is not none -%}
        {%- do candidates.append(activation_as_date(state[0]) - modules.datetime.timedelta(days=lookback_days)) -%}
    {%- endif -%}
    {%- for value in [state[1], state[2]] if value is not none -%}
        {%- do candidates.append(activation_as_date(value)) -%}
    {%- endfor -%}
    {%- if activation_var('activation_event_loaded_at_column') -%}
        {#- Source rows loaded after the latest stored load time of their source table
            (each table of var activation_event_relations loads on its own clock):
            their dates, however old, are re-read. Only the rows past the watermark
            have their time parsed. -#}
        {%- set loaded_filter -%}
            cast({{ activation_var('activation_event_loaded_at_column') }} as {{ dbt.type_timestamp() }}) > (
                select max(stored.loaded_at)
                from {{ this }} as stored
                where stored.source_relation = new_timestamp_texts.source_relation
            )
        {%- endset -%}
        {%- set loaded_query -%}
            with

            {{ activation_staged_events_ctes(prefix='new_', row_filter=loaded_filter, passthrough=false) }}

            select min(cast(new_final.event_at as date)) as first_new_date
            from new_final
        {%- endset -%}
        {%- set first_new_date = run_query(loaded_query).columns[0].values()[0] -%}
        {%- if first_new_date is not none -%}
            {%- do candidates.append(activation_as_date(first_new_date)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if candidates | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return((candidates | min).isoformat()) }}
{%- endmacro %}


{#- A date value from run_query (a date, a datetime or ISO text) as a datetime.date. -#}
{% macro activation_as_date(value) -%}
    {%- if value is string -%}
        {{ return(modules.datetime.date.fromisoformat(value[:10])) }}
    {%- elif value.hour is defined -%}
        {{ return(value.date()) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- The sequence of its source a model's marker rows (those `marker_condition`, a
    package-constant filter, picks) say it last read, or none when the model must
    rebuild: no marker (an interrupted first build, or a table from before the markers)
    or a marker written under another configuration fingerprint. -#}
{% macro activation_marker_state(config_fingerprint, marker_condition) -%}
    {%- set state_query -%}
        select
            max(source_sequence) as read_sequence,
            count(case when config_fingerprint != {{ activation_string_literal(config_fingerprint) }} then 1 end)
                as other_config_markers

        from {{ this }}
        where {{ marker_condition }}
    {%- endset -%}
    {%- set state = run_query(state_query).rows[0] -%}
    {%- if state[0] is none or state[1] | int > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(state[0] | int) }}
{%- endmacro %}


{#- What a model built from `int_activation__events_classified` reprocesses in this
    run, decided from its own marker rows (`user_id` null), which record the events'
    `load_sequence` it last read and its `config_fingerprint`. Returns a dict:

    - `mode`: 'full' (first run, full refresh, configuration changed, or the events
      rebuilt since: every date is rewritten and every stored date not in the events
      any more is cleared), 'window' (the dates from `start` on) or 'none' (no event
      row changed since the last run);
    - `start`: the first date to rewrite in 'window' mode: the earliest date holding an
      events row written after the sequence the model last read, or `extra_start` when
      earlier (a date the model's own state says is stale, e.g. a user's signup moved);
    - `sequence`: the events' latest `load_sequence`, recorded on the new markers.

    An interrupted run, or a run of the events model alone, leaves the stored markers
    at the old sequence, so the next run rewrites everything that changed meanwhile.

    Also stops the run when the events source has more or fewer rows than the events
    model stored: rows dated before the lookback window arrived late (or rows were
    deleted); marts built on would silently differ from a full refresh. -#}
{% macro activation_derived_window(config_fingerprint, extra_start_sql=none) -%}
    {%- set result = {'mode': 'full', 'start': none, 'sequence': 0} -%}
    {%- if not execute -%}
        {{ return(result) }}
    {%- endif -%}
    {%- set events = ref('int_activation__events_classified') -%}
    {%- if load_relation(events) is none -%}
        {#- Nothing built yet (a bare `dbt compile` or lint on an empty database). -#}
        {{ return(result) }}
    {%- endif -%}
    {%- set events_query -%}
        select
            min(load_sequence) as first_sequence,
            max(load_sequence) as latest_sequence,
            count(*) as stored_rows,
            {{ activation_raw_event_rows() }} as source_rows

        from {{ events }}
    {%- endset -%}
    {%- set events_state = run_query(events_query).rows[0] -%}
    {%- set source_rows = events_state[3] | int -%}
    {%- set stored_rows = events_state[2] | int -%}
    {%- if source_rows != stored_rows -%}
        {%- do exceptions.raise_compiler_error(
            this.identifier ~ ": the events source has " ~ source_rows ~ " rows but int_activation__events_classified holds "
            ~ stored_rows ~ ". "
            ~ ("Rows dated before the incremental window (activation_lookback_days = " ~ activation_var('activation_lookback_days')
               ~ ") arrived late, or the events model has not run since rows were loaded. "
               if source_rows > stored_rows else "Rows were deleted from the events source. ")
            ~ "Building on would give marts that differ from a full refresh. Fix: run `dbt run` (all models) again; "
            ~ "if this message repeats, `dbt run --full-refresh` (and consider a larger activation_lookback_days)."
        ) -%}
    {%- endif -%}
    {%- do result.update({'sequence': (events_state[1] | int) if events_state[1] is not none else 0}) -%}
    {%- if not is_incremental() -%}
        {{ return(result) }}
    {%- endif -%}
    {%- do activation_require_bookkeeping_columns(this, ['source_sequence', 'config_fingerprint']) -%}
    {%- set read_sequence = activation_marker_state(config_fingerprint, 'user_id is null') -%}
    {%- if read_sequence is none -%}
        {{ return(result) }}
    {%- endif -%}
    {%- if events_state[0] is none or events_state[0] | int > read_sequence or events_state[1] | int < read_sequence -%}
        {#- Every events row is newer than what this model read (the events were
            rebuilt), or the events hold no rows / older ones than it read (rebuilt
            from empty): rebuild in full. -#}
        {{ return(result) }}
    {%- endif -%}
    {%- set changed_query -%}
        select min(partition_date) as first_changed_date
        from {{ events }}
        where load_sequence > {{ read_sequence }}
    {%- endset -%}
    {%- set starts = [] -%}
    {%- set changed = run_query(changed_query).columns[0].values()[0] -%}
    {%- if changed is not none -%}
        {%- do starts.append(activation_as_date(changed)) -%}
    {%- endif -%}
    {%- if extra_start_sql -%}
        {%- set extra = run_query(extra_start_sql).columns[0].values()[0] -%}
        {%- if extra is not none -%}
            {%- do starts.append(activation_as_date(extra)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if starts | length == 0 -%}
        {%- do result.update({'mode': 'none'}) -%}
    {%- else -%}
        {%- do result.update({'mode': 'window', 'start': (starts | min).isoformat()}) -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}


{#- The filter on `partition_date` for the rows a derived model reads and writes in
    this run (see activation_derived_window). -#}
{% macro activation_derived_window_filter(window, column='partition_date') -%}
    {%- if window.mode == 'none' -%}
        false
    {%- elif window.mode == 'window' -%}
        {{ column }} >= cast({{ activation_string_literal(window.start) }} as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The dates a derived model rewrites in this run, one row each: the events' dates in
    the window and, in an incremental run, the stored dates in it (a full rebuild in
    an incremental run clears dates the events no longer hold). The events are read
    for their dates alone: a second reader of the model's wide `events` CTE would make
    the engine store those rows between its two readers. -#}
{% macro activation_derived_window_dates(window_filter) -%}
    select distinct partition_date
    from {{ ref('int_activation__events_classified') }}
    where {{ window_filter }}

    {% if is_incremental() -%}
    union

    select partition_date
    from {{ this }}
    where {{ window_filter }}
    {%- endif %}
{%- endmacro %}


{#- Incremental processing by user.

    A per-user model (`int_activation__milestone_reaches`) stores one row per user and
    fact, one user marker row per user (`milestone_id` null, `user_created_at` set) and
    one run marker row (`user_id` = '', never a user's id: staging reads a blank id as
    missing), which records the `write_sequence` of
    `int_activation__requirement_occurrences` it last read (`source_sequence`) and its
    `config_fingerprint`. A run recomputes the touched users only and replaces their
    rows (delete+insert keyed on `user_id`). -#}
{% macro activation_user_incremental_config(placeholder_condition) -%}
    {{ return(adapter.dispatch('activation_user_incremental_config', 'milestone_activation')(placeholder_condition)) }}
{%- endmacro %}

{% macro default__activation_user_incremental_config(placeholder_condition) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'user_id',
        'on_schema_change': 'fail',
        'post_hook': ["{{ activation_remove_gone_users('" ~ placeholder_condition ~ "') }}"],
    }) }}
{%- endmacro %}

{% macro spark__activation_user_incremental_config(placeholder_condition) -%}
    {#- No merge or delete without Delta, and a partition per user is no option: the
        model is rebuilt whole by every run (as before it was incremental). -#}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}


{#- What a per-user model recomputes in this run, decided from its own run marker and
    the date markers (`user_id` null) of its event-date partitioned `source`
    (`int_activation__requirement_occurrences` by default, or
    `int_activation__user_daily_activity`), which carry that model's `write_sequence`.
    `own_columns`: the bookkeeping columns the model's stored table must have.
    Returns a dict:

    - `mode`: 'full' (first run or full refresh: every user, no filter), 'rebuild'
      (an incremental run that recomputes every stored and current user: the
      configuration changed, or the occurrences were rebuilt since) or 'users' (the
      users `activation_touched_users` finds);
    - `read_sequence`: the occurrences' `write_sequence` the model last read;
    - `changed_from`: in 'users' mode, the first date the occurrences rewrote since
      (none when they rewrote nothing);
    - `sequence`: the occurrences' latest `write_sequence`, recorded on the run marker.

    An interrupted run, or a run of the occurrences alone, leaves the stored run marker
    at the old sequence, so the next run recomputes every user they changed meanwhile. -#}
{% macro activation_user_window(config_fingerprint, source=none, own_columns=['source_sequence', 'config_fingerprint', 'user_created_at']) -%}
    {%- set occurrences = source if source is not none else ref('int_activation__requirement_occurrences') -%}
    {%- set result = activation_sequence_window(occurrences, 'user_id is null', 'true', config_fingerprint, own_columns) -%}
    {%- do result.update({'changed_from': none}) -%}
    {%- if result.mode != 'users' -%}
        {{ return(result) }}
    {%- endif -%}
    {%- set changed_query -%}
        select min(partition_date) as first_changed_date
        from {{ occurrences }}
        where user_id is null and write_sequence > {{ result.read_sequence }}
    {%- endset -%}
    {%- set changed = run_query(changed_query).columns[0].values()[0] -%}
    {%- do result.update({'changed_from': activation_as_date(changed).isoformat() if changed is not none else none}) -%}
    {{ return(result) }}
{%- endmacro %}


{#- The part of a per-user model's window both engines share (activation_user_window,
    activation_reach_window): the source's run numbers (`write_sequence`) on its
    marker rows (`markers`, a package-constant filter) and the one the model's own
    run marker says it last read. Returns a dict:

    - `mode`: 'full' (first run, full refresh, or the source not built yet),
      'rebuild' (no run marker, one written under another `config_fingerprint`, or
      the source rebuilt since: every marker picked by `first_markers` is newer than
      what the model read, or the source holds none, or only older ones) or 'users';
    - `read_sequence`: in 'users' mode, the source's sequence the model last read;
    - `sequence`: the source's latest sequence, recorded on the new run marker.

    Stops the run when a stored table lacks the bookkeeping columns (`own_columns` of
    the model's). -#}
{% macro activation_sequence_window(source, markers, first_markers, config_fingerprint, own_columns) -%}
    {%- set result = {'mode': 'full', 'read_sequence': none, 'sequence': 0} -%}
    {%- if not execute or load_relation(source) is none -%}
        {{ return(result) }}
    {%- endif -%}
    {%- do activation_require_bookkeeping_columns(source, ['write_sequence']) -%}
    {%- set source_query -%}
        select
            min(case when {{ first_markers }} then write_sequence end) as first_sequence,
            max(write_sequence) as latest_sequence

        from {{ source }}
        where {{ markers }}
    {%- endset -%}
    {%- set source_state = run_query(source_query).rows[0] -%}
    {%- do result.update({'sequence': (source_state[1] | int) if source_state[1] is not none else 0}) -%}
    {%- if not is_incremental() -%}
        {{ return(result) }}
    {%- endif -%}
    {%- do activation_require_bookkeeping_columns(this, own_columns) -%}
    {%- set read_sequence = activation_marker_state(config_fingerprint, "user_id = ''") -%}
    {%- do result.update({'mode': 'rebuild'}) -%}
    {%- if read_sequence is none -%}
        {{ return(result) }}
    {%- endif -%}
    {%- if source_state[0] is none or source_state[0] | int > read_sequence or source_state[1] | int < read_sequence -%}
        {{ return(result) }}
    {%- endif -%}
    {%- do result.update({'mode': 'users', 'read_sequence': read_sequence}) -%}
    {{ return(result) }}
{%- endmacro %}


{#- A query: the users a per-user model recomputes in this run (see
    activation_user_window; only in an incremental run), from `users_relation`'s
    `user_id` and `created_at`:

    - users with occurrence rows, or their user marker, on a date the occurrences
      rewrote since the model last read them (new, late or reclassified events, a
      signup date moved);
    - users with a stored fact dated on or after the first such date (`fact_at_column`):
      a fact can only move when an occurrence at or before its time changed, and an
      occurrence that went leaves no row to find the user by;
    - users whose `created_at` differs from the one stored on their user marker, who
      are new, or who are gone.

    `source` (default `int_activation__requirement_occurrences`): the event-date
    partitioned model read, whose date markers (`user_id` null) carry its
    `write_sequence`; `fact_at_type`: the type of `fact_at_column`; `compared`: pairs
    [stored column, `users_relation` column] whose difference touches a user (the
    stored columns are on rows with `user_created_at` set; null equals null). -#}
{% macro activation_touched_users(
    window, users_relation, fact_at_column, source=none, fact_at_type=none,
    compared=[['user_created_at', 'created_at']]
) -%}
    {%- set source_relation = source if source is not none else ref('int_activation__requirement_occurrences') -%}
    {%- if window.mode == 'rebuild' -%}
    select user_id
    from {{ this }}
    where user_id != ''

    union

    select user_id
    from {{ users_relation }}
    {%- else -%}
    select source_rows.user_id
    from {{ source_relation }} as source_rows
    where
        source_rows.user_id is not null
        and source_rows.partition_date in (
            select changed.partition_date
            from {{ source_relation }} as changed
            where changed.user_id is null and changed.write_sequence > {{ window.read_sequence }}
        )
    {%- if window.changed_from %}

    union

    select stored.user_id
    from {{ this }} as stored
    where
        stored.user_id != ''
        and stored.{{ fact_at_column }} >= cast({{ activation_string_literal(window.changed_from) }} as {{ fact_at_type or dbt.type_timestamp() }})
    {%- endif %}

    union

    select coalesce(stored_users.user_id, current_users.user_id) as user_id
    from (
        select user_id{% for pair in compared %}, {{ pair[0] }}{% endfor %}
        from {{ this }}
        where user_id != '' and user_created_at is not null
    ) as stored_users
    full outer join {{ users_relation }} as current_users
        on stored_users.user_id = current_users.user_id
    where
        stored_users.user_id is null
        or current_users.user_id is null
        {%- for pair in compared %}
        or {{ activation_differs('stored_users.' ~ pair[0], 'current_users.' ~ pair[1]) }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}


{#- True when two values differ, a null equal to a null and unequal to any value
    (`is distinct from`, which not every engine has). -#}
{% macro activation_differs(left, right) -%}
    coalesce({{ left }} != {{ right }}, ({{ left }} is null) != ({{ right }} is null))
{%- endmacro %}


{#- Post-hook of a per-user model: an incremental run writes a placeholder row for
    each touched user who may have no row left (gone users; in
    `int_activation__pql_score_changes` every touched user), so the delete+insert by
    user removes their stored rows; this removes the placeholders, which
    `placeholder_condition` (a package constant) picks, in the same transaction.
    Nothing on a full build. -#}
{% macro activation_remove_gone_users(placeholder_condition) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where user_id != '' and {{ placeholder_condition }}
    {%- endif -%}
{%- endmacro %}


{#- What a model built per user from `int_activation__milestone_reaches` recomputes in
    this run (`int_activation__pql_score_changes`), decided from its own run marker
    (`user_id` ''), which records the reaches' `write_sequence` it last read and its
    `config_fingerprint`. Returns a dict like activation_user_window's:

    - `mode`: 'full' (first run, full refresh), 'rebuild' (an incremental run that
      recomputes every stored and current user: the configuration changed, no marker,
      or the reaches were rebuilt since) or 'users' (the users whose reaches marker
      is newer than `read_sequence`, and those the model's own rows say);
    - `read_sequence`: the reaches' `write_sequence` the model last read;
    - `sequence`: the reaches' latest `write_sequence`, recorded on the run marker.

    An interrupted run, or runs of the reaches alone, leave the stored run marker at
    the old sequence, so the next run recomputes every user they rewrote meanwhile. -#}
{% macro activation_reach_window(config_fingerprint) -%}
    {{ return(activation_sequence_window(
        ref('int_activation__milestone_reaches'), 'milestone_id is null', "user_id != ''",
        config_fingerprint, ['source_sequence', 'config_fingerprint']
    )) }}
{%- endmacro %}


{#- An md5 of the rows `fingerprint_sql` returns (ordered), or of `extra` alone when
    not executing. Stored on the partition marker rows of a derived incremental model
    so a configuration change rebuilds it in full. -#}
{% macro activation_config_fingerprint(fingerprint_sql=none, extra='', depends_on=none) -%}
    {#- `depends_on`: a relation the query reads; when it is not built yet (a bare
        `dbt compile` or lint on an empty database) the query is skipped. -#}
    {%- set parts = [extra | string] -%}
    {%- set can_query = execute and fingerprint_sql
        and (depends_on is none or load_relation(depends_on) is not none) -%}
    {%- if can_query -%}
        {%- for row in run_query(fingerprint_sql).rows -%}
            {%- do parts.append(row.values() | join('|')) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}


{#- A cheap test, on the time text (as received, or trimmed: the text the parser
    reads), that a source row is dated before `window_start` ('YYYY-MM-DD'): the text
    is a timestamp every engine's parser reads
    (`activation_parse_timestamp`), with no surrounding whitespace and a date valid in
    any year (day 29 and 30 in every month but February, 31 in the months that have it;
    February 29 is left to the parser), and its local date is at
    least two days before the window start. Its UTC offset moves it by less than a day,
    so its parsed date is before the window. Rows the test cannot vouch for (other
    layouts, February 29, unparsable text) are left to the full parse. An incremental
    run of `int_activation__events_classified` uses it to skip most of the history
    before parsing: a text comparison and one regular expression instead of the
    parser's several. False (never null) for a null text. (Leaving days 29-31 to the
    parser made a month's last days, a tenth of the history, go through the full
    parse on every run.) -#}
{% macro activation_timestamp_text_before(text_expr, window_start) -%}
    {%- set day_before = (modules.datetime.date.fromisoformat(window_start) - modules.datetime.timedelta(days=1)).isoformat() -%}
    coalesce(
        left({{ text_expr }}, 10) < {{ activation_string_literal(day_before) }}
        and {{ activation_full_match(
            text_expr,
            '[1-9][0-9]{3}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?'
        ) }},
        false
    )
{%- endmacro %}


{#- True when the whole text matches `pattern` (a package constant, no quotes or
    backslashes: it is written into the SQL as it is). -#}
{% macro activation_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('activation_full_match', 'milestone_activation')(expr, pattern)) }}
{%- endmacro %}

{% macro default__activation_full_match(expr, pattern) -%}
    {{ exceptions.raise_compiler_error(
        "milestone_activation: full regular expression match is not implemented for adapter '" ~ adapter.type() ~ "'. "
        ~ "Add a " ~ adapter.type() ~ "__activation_full_match macro."
    ) }}
{%- endmacro %}

{% macro duckdb__activation_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__activation_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^({{ pattern }})$')
{%- endmacro %}

{% macro spark__activation_full_match(expr, pattern) -%}
    {#- `$` would also match before a final line break. -#}
    ({{ expr }} rlike '^({{ pattern }})\\z')
{%- endmacro %}
