{#- The package's vars: one registry, one check, one way to read them (SPEC §9).

    `activation_var(name)` reads a var with the package default, checks it against its
    spec below and returns the typed value; a bad value stops the compilation of the
    model reading it with a message naming the var, the value and the fix.
    `activation_validate_vars()` checks every var at once (called while
    `int_activation__milestones` compiles, so a bad var stops the build early). While
    dbt parses the project (`execute` false) nothing is raised and a bad var reads as
    its default, so a bad value never breaks the parsing of a user's whole project.

    A null var takes the package default, except for the vars whose default is null
    (null has a meaning there). Text values reach SQL only through
    `activation_string_literal`; numbers are checked finite whole numbers or fractions;
    identifiers match `^[A-Za-z_][A-Za-z0-9_]*$`. -#}


{#- Spec of every var: kind, default, bounds and the fix shown in a message.
    Kinds: whole (integer in [min, max]; a text of digits is read as a number),
    fraction (number in [0, 1]), choice (one of `options`), timestamp (the text forms
    of `activation_parse_timestamp`), date (YYYY-MM-DD), text (string; a number is read as text),
    event_name (text with a letter or digit), event_names (list of event_name),
    text_list (list of text), identifier, identifier_list, relation_name (non-empty
    text), relation (a table, see activation_var_relation), relations (list of
    them), bands (list of
    {<label>, min_score, action}), memory_size, boolean (true or
    false; the texts 'true' and 'false' are read as such). -#}
{% macro activation_var_specs() %}
    {%- set days_max = 36500 -%}
    {{ return({
        'activation_source_database': {'kind': 'relation_name', 'default': none, 'nullable': true,
            'fix': "name the database of the users and events tables, or leave it null for the target database"},
        'activation_source_schema': {'kind': 'relation_name', 'default': 'raw',
            'fix': "name the schema of the users and events tables, e.g. raw"},
        'activation_users_identifier': {'kind': 'relation_name', 'default': 'users',
            'fix': "name the users table, e.g. users"},
        'activation_events_identifier': {'kind': 'relation_name', 'default': 'events',
            'fix': "name the events table, e.g. events"},
        'activation_milestones_identifier': {'kind': 'relation_name', 'default': none, 'nullable': true,
            'fix': "name your milestones table, or leave it null for the package seed"},
        'activation_milestone_requirements_identifier': {'kind': 'relation_name', 'default': none, 'nullable': true,
            'fix': "name your requirements table, or leave it null for the package seed"},
        'activation_event_relations': {'kind': 'relations', 'default': [],
            'fix': "list the events tables to read together, each 'schema.table', 'database.schema.table' or {schema: ..., identifier: ..., database: ..., name: <source_relation label>}, or [] for the events source"},
        'activation_events_layout': {'kind': 'choice', 'default': 'canonical',
            'options': ['canonical', 'segment', 'rudderstack', 'amplitude', 'mixpanel', 'snowplow', 'posthog'],
            'fix': "name the layout your events table is in: canonical (set the column vars), segment, rudderstack, amplitude, mixpanel, snowplow or posthog"},
        'activation_event_property_columns': {'kind': 'identifier_list', 'default': [],
            'fix': "list events columns whose values make up the properties, e.g. ['plan', 'step'] (layouts that spread properties over columns), or []"},
        'activation_event_passthrough_properties': {'kind': 'text_list', 'default': [],
            'fix': "list event property keys to pull out as columns property_<key in snake_case>, e.g. ['plan', 'utm_source'], or []"},
        'activation_users_from': {'kind': 'choice', 'default': 'table', 'options': ['table', 'events'],
            'fix': "use table (a users table, column vars activation_user_id_column, ...) or events (users derived from the events)"},
        'activation_signup_event': {'kind': 'event_name', 'default': none, 'nullable': true,
            'fix': "name the event marking signup (users derived from events get created_at from its first time), or null for the first event seen"},
        'activation_user_traits_column': {'kind': 'identifier', 'default': none, 'nullable': true,
            'fix': "name the events column holding user traits as JSON (e.g. Amplitude user_properties), or null to read them from the event properties"},
        'activation_user_traits_relation': {'kind': 'relation', 'default': none, 'nullable': true,
            'fix': "name the table of user traits (Segment or RudderStack identifies, Mixpanel people) as 'schema.table', 'database.schema.table' or {schema: ..., identifier: ...}, or null to read the traits from the events"},
        'activation_user_traits_user_id_column': {'kind': 'identifier', 'default': 'user_id',
            'fix': "name the column of the user traits table holding the user id, e.g. user_id (Mixpanel people: distinct_id)"},
        'activation_user_traits_timestamp_column': {'kind': 'identifier', 'default': 'timestamp', 'nullable': true,
            'fix': "name the column of the user traits table holding when the traits were sent, e.g. timestamp, or null if there is none (one row per user)"},
        'activation_account_trait': {'kind': 'text', 'default': none, 'nullable': true,
            'fix': "name the trait holding the account id (users derived from events), e.g. company_id, or null"},
        'activation_plan_tier_trait': {'kind': 'text', 'default': none, 'nullable': true,
            'fix': "name the trait holding the plan (users derived from events), e.g. plan, or null"},
        'activation_install_source_trait': {'kind': 'text', 'default': none, 'nullable': true,
            'fix': "name the trait holding the acquisition channel (users derived from events), e.g. utm_source, or null"},
        'activation_event_id_column': {'kind': 'identifier', 'default': 'event_id', 'nullable': true,
            'fix': "name the events column holding the tracker's event id (e.g. message_id, _insert_id), or set it to null to find duplicates by content"},
        'activation_event_user_id_column': {'kind': 'identifier', 'default': 'user_id',
            'fix': "name the events column holding the user id, e.g. user_id"},
        'activation_event_name_column': {'kind': 'identifier', 'default': 'event_name',
            'fix': "name the events column holding the event name, e.g. event_name"},
        'activation_event_properties_column': {'kind': 'identifier', 'default': 'properties', 'nullable': true,
            'fix': "name the events column holding the properties as JSON (text or a JSON type), or set it to null if there is none"},
        'activation_event_timestamp_column': {'kind': 'identifier', 'default': 'event_timestamp',
            'fix': "name the events column holding the event time, e.g. event_timestamp"},
        'activation_event_timestamp_format': {'kind': 'choice', 'default': 'auto',
            'options': ['auto', 'epoch_seconds', 'epoch_milliseconds'],
            'fix': "use auto for text or timestamp columns, epoch_seconds or epoch_milliseconds for numbers since 1970-01-01 UTC"},
        'activation_event_loaded_at_column': {'kind': 'identifier', 'default': none, 'nullable': true,
            'fix': "name the events column holding the time each row was loaded (e.g. _loaded_at, _fivetran_synced, received_at), or set it to null"},
        'activation_user_id_column': {'kind': 'identifier', 'default': 'user_id',
            'fix': "name the users column holding the user id, e.g. user_id"},
        'activation_account_id_column': {'kind': 'identifier', 'default': 'account_id', 'nullable': true,
            'fix': "name the users column holding the account or workspace id, or set it to null if there is none"},
        'activation_created_at_column': {'kind': 'identifier', 'default': 'created_at',
            'fix': "name the users column holding the signup time, e.g. created_at"},
        'activation_plan_tier_column': {'kind': 'identifier', 'default': 'plan_tier', 'nullable': true,
            'fix': "name the users column holding the plan, or set it to null if there is none"},
        'activation_install_source_column': {'kind': 'identifier', 'default': 'install_source', 'nullable': true,
            'fix': "name the users column holding the acquisition channel, or set it to null if there is none"},
        'activation_inviter_column': {'kind': 'identifier', 'default': 'inviter_user_id', 'nullable': true,
            'fix': "name the users column holding the inviter, or set it to null"},
        'activation_user_passthrough_columns': {'kind': 'identifier_list', 'default': [],
            'fix': "list users column names, e.g. ['company_size']"},
        'activation_as_of': {'kind': 'timestamp', 'default': none, 'nullable': true,
            'fix': "use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS[.ffffff] (space or T) with an optional offset Z, +HH, +HHMM or +HH:MM, e.g. 2025-10-01 or 2025-10-01T00:00:00Z; or null for the latest valid event time"},
        'activation_start_date': {'kind': 'date', 'default': none, 'nullable': true,
            'fix': "use a date YYYY-MM-DD (UTC), e.g. 2025-01-01, from which on events are processed; or null for all of them"},
        'activation_future_tolerance_hours': {'kind': 'whole', 'default': 24, 'min': 0, 'max': days_max * 24,
            'fix': "set the hours an event may lie after as_of, e.g. 24"},
        'activation_lookback_days': {'kind': 'whole', 'default': 3, 'min': 0, 'max': days_max,
            'fix': "set the number of days an incremental run re-reads before the latest stored event date, e.g. 3"},
        'activation_first_value_milestone': {'kind': 'text', 'default': none, 'nullable': true,
            'fix': "name an existing milestone_id or unset the var (lowest level is used)"},
        'activation_cohort_grain': {'kind': 'choice', 'default': 'week', 'options': ['day', 'week', 'month'],
            'fix': "set it to day, week or month"},
        'activation_status_score_basis': {'kind': 'choice', 'default': 'pct', 'options': ['pct', 'score'],
            'fix': "set it to 'pct' (bands on activation_score_pct) or 'score' (bands on the raw score)"},
        'activation_status_bands': {'kind': 'bands', 'label': 'status',
            'default': [
                {'status': 'inactive', 'min_score': 0, 'action': 're-engagement nudges'},
                {'status': 'engaged', 'min_score': 31, 'action': 'monitor and nurture'},
                {'status': 'pql', 'min_score': 70, 'action': 'sales handoff'},
            ],
            'fix': "give a list such as [{status: inactive, min_score: 0, action: re-engagement nudges}, ...]"},
        'activation_kpi_period': {'kind': 'choice', 'default': 'week', 'options': ['day', 'week', 'month'],
            'fix': "set it to day, week or month"},
        'activation_invite_event': {'kind': 'event_name', 'default': 'invite_sent',
            'fix': "name the event counted as an invite, e.g. invite_sent"},
        'activation_invite_count_property': {'kind': 'text', 'default': none, 'nullable': true,
            'fix': "name the JSON property holding the number of invites, or set it to null"},
        'activation_activity_events': {'kind': 'event_names', 'default': [],
            'fix': "list event names, e.g. ['login', 'document_created'], or [] for any event"},
        'activation_conversion_event': {'kind': 'event_name', 'default': none, 'nullable': true,
            'fix': "name the event marking conversion to paid, or set it to null (plan_tier decides)"},
        'activation_free_plan_tiers': {'kind': 'text_list', 'default': ['free'],
            'fix': "list the plan tiers that are not paid, e.g. ['free']"},
        'activation_pql_recency_days': {'kind': 'whole', 'default': 7, 'min': 0, 'max': days_max,
            'fix': "set it to the number of days a milestone counts in full, e.g. 7"},
        'activation_pql_decay': {'kind': 'fraction', 'default': 0.5,
            'fix': "set the share of its weight an older milestone keeps, e.g. 0.5"},
        'activation_pql_bands': {'kind': 'bands', 'label': 'band',
            'default': [
                {'band': 'nurture', 'min_score': 0, 'action': 'automated nurture'},
                {'band': 'sdr_outreach', 'min_score': 21, 'action': 'sdr outreach'},
                {'band': 'ae_handoff', 'min_score': 51, 'action': 'ae handoff'},
            ],
            'fix': "give a list such as [{band: nurture, min_score: 0, action: automated nurture}, ...]"},
        'activation_pql_daily_days': {'kind': 'whole', 'default': 90, 'min': 1, 'max': days_max,
            'fix': "set the number of days activation_pql_scores_daily covers, e.g. 90"},
        'activation_stats_min_group_size': {'kind': 'whole', 'default': 50, 'min': 1, 'max': 2147483647,
            'fix': "set the fewest users a segment group needs to enter the tests, e.g. 50"},
        'activation_stats_max_groups': {'kind': 'whole', 'default': 10, 'min': 2, 'max': 20,
            'fix': "set the most groups a test compares, e.g. 10 (a test needs two groups; the log-rank test unrolls a system of max_groups - 1 equations into SQL, so at most 20)"},
        'activation_calibration_days': {'kind': 'whole', 'default': 30, 'min': 1, 'max': days_max,
            'fix': "set the days after the scoring date in which conversions count, e.g. 30"},
        'activation_calibration_min_conversions': {'kind': 'whole', 'default': 10, 'min': 1, 'max': 2147483647,
            'fix': "set the fewest conversions a ROC AUC is reported on, e.g. 10 (below it the AUC is null with reason too_few_conversions)"},
        'activation_experiment_exposure_event': {'kind': 'event_name', 'default': 'experiment_exposure',
            'fix': "name the event of experiment exposures, e.g. experiment_exposure"},
        'activation_experiment_id_property': {'kind': 'text', 'default': 'experiment',
            'fix': "name the JSON property of exposures holding the experiment id, e.g. experiment"},
        'activation_experiment_variant_property': {'kind': 'text', 'default': 'variant',
            'fix': "name the JSON property of exposures holding the variant, e.g. variant"},
        'activation_experiment_control_variant': {'kind': 'text', 'default': 'control',
            'fix': "name the variant the others are compared with, e.g. control"},
        'activation_statistics_enabled': {'kind': 'boolean', 'default': true,
            'fix': "set it to true or false (false leaves out the statistics marts)"},
        'activation_pql_enabled': {'kind': 'boolean', 'default': true,
            'fix': "set it to true or false (false leaves out the PQL score, hand-off and calibration models)"},
        'activation_experiments_enabled': {'kind': 'boolean', 'default': true,
            'fix': "set it to true or false (false leaves out the experiment models)"},
        'activation_accounts_enabled': {'kind': 'boolean', 'default': false,
            'fix': "set it to true or false (true builds the account marts from the users' account_id)"},
        'activation_account_activation_rule': {'kind': 'choice', 'default': 'any',
            'options': ['any', 'all', 'min_users', 'min_share'],
            'fix': "choose any, all, min_users (with activation_account_min_users) or min_share (with activation_account_min_share)"},
        'activation_account_min_users': {'kind': 'whole', 'default': 2, 'min': 1, 'max': 2147483647,
            'fix': "set how many users must have reached a goal for the account to, e.g. 2 (rule min_users)"},
        'activation_account_min_share': {'kind': 'fraction', 'default': 0.5,
            'fix': "set the share of an account's users that must have reached a goal, e.g. 0.5 (rule min_share)"},
        'activation_account_pql_aggregate': {'kind': 'choice', 'default': 'sum', 'options': ['sum', 'max'],
            'fix': "choose sum (the account score adds its users' scores) or max (its best user's score)"},
        'activation_semantic_layer_enabled': {'kind': 'boolean', 'default': false,
            'fix': "set it to true or false (true adds the semantic models, metrics and saved queries for MetricFlow)"},
        'activation_time_spine_enabled': {'kind': 'boolean', 'default': true,
            'fix': "set it to true or false (false leaves out activation_time_spine when your project has its own day time spine)"},
        'activation_duckdb_memory_limit': {'kind': 'memory_size', 'default': none, 'nullable': true,
            'fix': "give a number and a unit, such as '8GB' or '512MiB'"},
        'activation_duckdb_threads': {'kind': 'whole', 'default': none, 'nullable': true, 'min': 1, 'max': 2147483647,
            'fix': "give the number of threads, such as 2"},
    }) }}
{% endmacro %}


{#- The value of a var as shown in a message: text in single quotes, others as text. -#}
{% macro activation_var_shown(value) -%}
    {{ return("'" ~ value ~ "'" if value is string else (value | string)) }}
{%- endmacro %}


{#- True for an int or float that is finite (not NaN or infinite); booleans are not numbers. -#}
{% macro activation_var_is_finite_number(value) -%}
    {{ return(value is number and value is not boolean and value == value and (value == 0 or value * 2 != value)) }}
{%- endmacro %}


{#- Text from a string or a number (YAML reads `404` as a number); none otherwise. -#}
{% macro activation_var_text(value) -%}
    {%- if value is string -%}
        {{ return(value) }}
    {%- elif activation_var_is_finite_number(value) -%}
        {{ return(value | string) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#- A true list (not a string or mapping). -#}
{% macro activation_var_is_list(value) -%}
    {{ return(value is iterable and value is not string and value is not mapping) }}
{%- endmacro %}


{#- Problem with one event name given in a var, or none. Names with no letter or digit
    would normalise to nothing and match no event. -#}
{% macro activation_var_event_name_problem(text) -%}
    {%- if text is none or not modules.re.search('[^\\W_]', text) -%}
        {{ return("is not an event name (it needs a letter or a digit)") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{#- True when `text` is one of the timestamp forms `activation_parse_timestamp` accepts
    and a real date and time (month length and leap years checked). -#}
{% macro activation_var_is_timestamp_text(text) -%}
    {%- set match = modules.re.fullmatch(
        '([0-9]{4})-([0-9]{2})-([0-9]{2})([ T]([0-9]{2}):([0-9]{2}):([0-9]{2})([.][0-9]{1,6})?([+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?|Z)?)?',
        text
    ) -%}
    {%- if not match -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set year = match.group(1) | int -%}
    {%- set month = match.group(2) | int -%}
    {%- set day = match.group(3) | int -%}
    {%- set leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 or day > month_days[month - 1] -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if match.group(4) and ((match.group(5) | int) > 23 or (match.group(6) | int) > 59 or (match.group(7) | int) > 59) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}


{#- Checks `value` against the spec of var `name`. Returns {'value': typed value,
    'problems': [message, ...]}. -#}
{% macro activation_var_check(name, value) %}
    {%- set spec = activation_var_specs()[name] -%}
    {%- set kind = spec['kind'] -%}
    {%- set problems = [] -%}
    {%- set head = "var " ~ name ~ " = " ~ activation_var_shown(value) -%}
    {%- set fix = " Fix: " ~ spec['fix'] ~ "." -%}
    {%- set result = namespace(value=value) -%}

    {%- if value is none -%}
        {%- if not spec.get('nullable') -%}
            {%- set result.value = activation_var_default(name) -%}
        {%- endif -%}
        {{ return({'value': result.value, 'problems': problems}) }}
    {%- endif -%}

    {%- if kind == 'whole' -%}
        {%- if value is string and modules.re.fullmatch('[0-9]+', value | trim) -%}
            {%- set result.value = value | trim | int -%}
        {%- endif -%}
        {%- set number = result.value -%}
        {%- if number is boolean or number is not integer or number < spec['min'] or number > spec['max'] -%}
            {%- do problems.append(head ~ " is not a whole number from " ~ spec['min'] ~ " to " ~ spec['max'] ~ "." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'boolean' -%}
        {%- if value is string and value | trim | lower in ['true', 'false'] -%}
            {%- set result.value = (value | trim | lower) == 'true' -%}
        {%- endif -%}
        {%- if result.value is not boolean -%}
            {%- do problems.append(head ~ " is not true or false." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'fraction' -%}
        {%- if value is string and modules.re.fullmatch('[0-9]+([.][0-9]+)?', value | trim) -%}
            {%- set result.value = value | trim | float -%}
        {%- endif -%}
        {%- set number = result.value -%}
        {%- if not activation_var_is_finite_number(number) or number < 0 or number > 1 -%}
            {%- do problems.append(head ~ " is not a number between 0 and 1." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'choice' -%}
        {%- if value is not string or value not in spec['options'] -%}
            {%- do problems.append(head ~ " is not one of " ~ spec['options'] | join(', ') ~ "." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'timestamp' -%}
        {#- YAML reads an unquoted 2025-10-01 as a date and a date-time as a datetime. -#}
        {%- if value is not string and value.isoformat is defined -%}
            {%- set result.value = value | string -%}
        {%- elif value is string -%}
            {%- set result.value = value | trim -%}
        {%- endif -%}
        {%- if result.value is not string or not activation_var_is_timestamp_text(result.value) -%}
            {%- do problems.append(head ~ " is not a timestamp in an accepted form." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'date' -%}
        {#- YAML reads an unquoted 2025-10-01 as a date. -#}
        {%- if value is not string and value.isoformat is defined and value.hour is not defined -%}
            {%- set result.value = value.isoformat() -%}
        {%- elif value is string -%}
            {%- set result.value = value | trim -%}
        {%- endif -%}
        {%- if result.value is not string or not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', result.value)
            or not activation_var_is_timestamp_text(result.value) -%}
            {%- do problems.append(head ~ " is not a date YYYY-MM-DD." ~ fix) -%}
        {%- endif -%}

    {%- elif kind in ['text', 'event_name', 'relation_name', 'memory_size'] -%}
        {%- set text = activation_var_text(value) -%}
        {%- set result.value = text -%}
        {%- if text is none or text | trim == '' -%}
            {%- do problems.append(head ~ " is not a non-empty text." ~ fix) -%}
        {%- elif kind == 'event_name' and activation_var_event_name_problem(text) -%}
            {%- do problems.append(head ~ " " ~ activation_var_event_name_problem(text) ~ "." ~ fix) -%}
        {%- elif kind == 'memory_size' and not modules.re.fullmatch('[0-9]+([.][0-9]+)? ?[KMGT]i?B', text) -%}
            {%- do problems.append(head ~ " is not a size." ~ fix) -%}
        {%- endif -%}

    {%- elif kind == 'identifier' -%}
        {%- if value is not string or not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', value) -%}
            {%- do problems.append(head ~ " is not a plain column name (letters, digits and _, not starting with a digit)." ~ fix) -%}
        {%- endif -%}

    {%- elif kind in ['event_names', 'text_list', 'identifier_list'] -%}
        {%- if not activation_var_is_list(value) -%}
            {%- do problems.append(head ~ " is not a list." ~ fix) -%}
        {%- else -%}
            {%- set items = [] -%}
            {%- for item in value -%}
                {%- set item_head = "var " ~ name ~ " item " ~ loop.index ~ " (" ~ activation_var_shown(item) ~ ")" -%}
                {%- set text = activation_var_text(item) if kind != 'identifier_list' else (item if item is string else none) -%}
                {%- if text is none or text | trim == '' -%}
                    {%- do problems.append(item_head ~ " is not a non-empty text." ~ fix) -%}
                {%- elif kind == 'event_names' and activation_var_event_name_problem(text) -%}
                    {%- do problems.append(item_head ~ " " ~ activation_var_event_name_problem(text) ~ "." ~ fix) -%}
                {%- elif kind == 'identifier_list' and not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', text) -%}
                    {%- do problems.append(item_head ~ " is not a plain column name (letters, digits and _, not starting with a digit)." ~ fix) -%}
                {%- elif kind == 'identifier_list' and text | lower in items | map('lower') | list -%}
                    {%- do problems.append(item_head ~ " appears twice." ~ fix) -%}
                {%- endif -%}
                {%- do items.append(text) -%}
            {%- endfor -%}
            {%- if name == 'activation_user_passthrough_columns' -%}
                {%- set taken = activation_user_model_columns() -%}
                {%- for item in items -%}
                    {%- if item is string and item | lower in taken -%}
                    {%- do problems.append("var " ~ name ~ " item " ~ loop.index ~ " ('" ~ item ~ "') is a column "
                        ~ taken[item | lower] ~ " already has. Fix: leave it out of the list, or select the users "
                        ~ "column under another name in a view and pass that name.") -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
            {%- set result.value = items -%}
        {%- endif -%}

    {%- elif kind == 'relation' -%}
        {%- set checked = activation_var_relation(value) -%}
        {%- if checked is string -%}
            {%- do problems.append(head ~ " " ~ checked ~ "." ~ fix) -%}
        {%- else -%}
            {%- set result.value = checked -%}
        {%- endif -%}

    {%- elif kind == 'relations' -%}
        {%- if not activation_var_is_list(value) -%}
            {%- do problems.append(head ~ " is not a list." ~ fix) -%}
        {%- else -%}
            {%- set relations = [] -%}
            {%- for item in value -%}
                {%- set item_head = "var " ~ name ~ " item " ~ loop.index ~ " (" ~ activation_var_shown(item) ~ ")" -%}
                {%- set checked = activation_var_relation(item) -%}
                {%- if checked is string -%}
                    {%- do problems.append(item_head ~ " " ~ checked ~ "." ~ fix) -%}
                {%- elif checked['name'] in relations | map(attribute='name') | list -%}
                    {%- do problems.append(item_head ~ " has the name '" ~ checked['name'] ~ "' of an earlier item."
                        ~ " Fix: give each table its own name: {schema: ..., identifier: ..., name: <label>}.") -%}
                {%- else -%}
                    {%- do relations.append(checked) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set result.value = relations -%}
        {%- endif -%}

    {%- elif kind == 'bands' -%}
        {%- set label = spec['label'] -%}
        {%- if not activation_var_is_list(value) or value | length == 0 -%}
            {%- do problems.append(head ~ " is not a non-empty list." ~ fix) -%}
        {%- else -%}
            {%- set seen_names = [] -%}
            {%- set seen_scores = [] -%}
            {%- set bands = [] -%}
            {%- for band in value -%}
                {%- if band is not mapping -%}
                    {%- do problems.append(name ~ " item " ~ loop.index ~ " (" ~ activation_var_shown(band) ~ ") is not a mapping. Fix: write it as {" ~ label ~ ": name, min_score: number, action: text}.") -%}
                {%- else -%}
                    {%- set band_name = activation_var_text(band.get(label)) -%}
                    {%- set min_score = band.get('min_score') -%}
                    {%- set action = band.get('action') -%}
                    {%- if band_name is none or band_name | trim == '' -%}
                        {%- do problems.append(name ~ " item " ~ loop.index ~ " has no " ~ label ~ " name. Fix: add " ~ label ~ ": <name> (text).") -%}
                    {%- elif band_name in seen_names -%}
                        {%- do problems.append(name ~ ": " ~ label ~ " '" ~ band_name ~ "' appears twice. Fix: give each " ~ label ~ " a unique name.") -%}
                    {%- endif -%}
                    {%- do seen_names.append(band_name) -%}
                    {%- if not activation_var_is_finite_number(min_score) -%}
                        {%- do problems.append(name ~ ": " ~ label ~ " '" ~ band_name ~ "' has min_score " ~ activation_var_shown(min_score) ~ ", not a finite number. Fix: set min_score to the lowest score of the " ~ label ~ ".") -%}
                    {%- elif min_score in seen_scores -%}
                        {%- do problems.append(name ~ ": min_score " ~ min_score ~ " is used by two bands. Fix: give each band a different min_score.") -%}
                    {%- endif -%}
                    {%- do seen_scores.append(min_score) -%}
                    {%- if action is not none and activation_var_text(action) is none -%}
                        {%- do problems.append(name ~ ": " ~ label ~ " '" ~ band_name ~ "' has action " ~ activation_var_shown(action) ~ ", not a text. Fix: give the action as text or leave it out.") -%}
                    {%- endif -%}
                    {%- set typed = {label: band_name, 'min_score': min_score, 'action': activation_var_text(action)} -%}
                    {%- do bands.append(typed) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set result.value = bands -%}
        {%- endif -%}

    {%- else -%}
        {{ exceptions.raise_compiler_error("milestone_activation: var kind '" ~ kind ~ "' of " ~ name ~ " is not known.") }}
    {%- endif -%}

    {{ return({'value': result.value, 'problems': problems}) }}
{% endmacro %}


{#- One item of a `relations` var: 'table', 'schema.table', 'database.schema.table'
    or a mapping {identifier, schema, database, name}. Returns {'database', 'schema',
    'identifier', 'name'} (database and schema none when not given; name, the
    `source_relation` label, defaults to the item as written) or a text saying what is
    wrong. Names are plain identifiers (a database may also hold '-', as BigQuery
    projects do): they reach SQL as a relation. -#}
{% macro activation_var_relation(item) %}
    {%- set plain = '[A-Za-z_][A-Za-z0-9_]*' -%}
    {%- if item is string -%}
        {%- set parts = item.split('.') -%}
        {%- if parts | length > 3 -%}
            {{ return("has more than three dot-separated parts") }}
        {%- endif -%}
        {%- set parts = [none] * (3 - parts | length) + parts -%}
        {%- set entry = {'database': parts[0], 'schema': parts[1], 'identifier': parts[2], 'name': item} -%}
    {%- elif item is mapping -%}
        {%- for key in item if key not in ['database', 'schema', 'identifier', 'name'] -%}
            {{ return("has the key '" ~ key ~ "' (known keys: database, schema, identifier, name)") }}
        {%- endfor -%}
        {%- set parts = [item.get('database'), item.get('schema'), item.get('identifier')] -%}
        {%- for part in parts if part is not none and part is not string -%}
            {{ return("has a database, schema or identifier that is not a text") }}
        {%- endfor -%}
        {%- set label = activation_var_text(item.get('name')) if item.get('name') is not none
            else (parts | reject('none') | join('.')) -%}
        {%- set entry = {'database': parts[0], 'schema': parts[1], 'identifier': parts[2], 'name': label} -%}
    {%- else -%}
        {{ return("is neither a text nor a mapping") }}
    {%- endif -%}
    {%- if entry['identifier'] is none or not modules.re.fullmatch(plain, entry['identifier']) -%}
        {{ return("has no table name of letters, digits and _ (not starting with a digit)") }}
    {%- endif -%}
    {%- if entry['schema'] is not none and not modules.re.fullmatch(plain, entry['schema']) -%}
        {{ return("has a schema name that is not letters, digits and _ (not starting with a digit)") }}
    {%- endif -%}
    {%- if entry['database'] is not none and not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_-]*', entry['database']) -%}
        {{ return("has a database name that is not letters, digits, _ and - (starting with a letter or _)") }}
    {%- endif -%}
    {%- if entry['name'] is none or entry['name'] | trim == '' -%}
        {{ return("has an empty name") }}
    {%- endif -%}
    {{ return(entry) }}
{% endmacro %}


{#- The columns each events layout (var `activation_events_layout`) reads: the
    defaults of the column vars in that layout. A column var set by the user wins. -#}
{% macro activation_events_layouts() %}
    {%- set segment = {
        'activation_event_id_column': 'id',
        'activation_event_user_id_column': 'user_id',
        'activation_event_name_column': 'event',
        'activation_event_timestamp_column': 'timestamp',
        'activation_event_properties_column': none,
    } -%}
    {{ return({
        'canonical': {},
        'segment': segment,
        'rudderstack': segment,
        'amplitude': {
            'activation_event_id_column': 'uuid',
            'activation_event_user_id_column': 'user_id',
            'activation_event_name_column': 'event_type',
            'activation_event_timestamp_column': 'event_time',
            'activation_event_properties_column': 'event_properties',
            'activation_user_traits_column': 'user_properties',
        },
        'mixpanel': {
            'activation_event_id_column': 'insert_id',
            'activation_event_user_id_column': 'distinct_id',
            'activation_event_name_column': 'name',
            'activation_event_timestamp_column': 'time',
            'activation_event_properties_column': 'properties',
            'activation_user_traits_user_id_column': 'distinct_id',
        },
        'snowplow': {
            'activation_event_id_column': 'event_id',
            'activation_event_user_id_column': 'user_id',
            'activation_event_name_column': 'event_name',
            'activation_event_timestamp_column': 'derived_tstamp',
            'activation_event_properties_column': none,
        },
        'posthog': {
            'activation_event_id_column': 'uuid',
            'activation_event_user_id_column': 'distinct_id',
            'activation_event_name_column': 'event',
            'activation_event_timestamp_column': 'timestamp',
            'activation_event_properties_column': 'properties',
        },
    }) }}
{% endmacro %}


{#- The default of var `name`: the spec's, or for the events column vars the one of
    the events layout. An invalid layout reads as canonical here (its own check names
    it). -#}
{% macro activation_var_default(name) %}
    {%- set default = activation_var_specs()[name]['default'] -%}
    {%- if name.startswith('activation_event_') or name.startswith('activation_user_traits_') -%}
        {%- set layouts = activation_events_layouts() -%}
        {%- set layout = var('activation_events_layout', 'canonical') -%}
        {%- if layout is string and layout in layouts and name in layouts[layout] -%}
            {{ return(layouts[layout][name]) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(default) }}
{% endmacro %}


{#- The checked, typed value of the package var `name` (see the specs above). -#}
{% macro activation_var(name) %}
    {%- set specs = activation_var_specs() -%}
    {%- if name not in specs -%}
        {{ exceptions.raise_compiler_error("milestone_activation: '" ~ name ~ "' is not a var of the package.") }}
    {%- endif -%}
    {%- set checked = activation_var_check(name, var(name, activation_var_default(name))) -%}
    {%- if checked['problems'] | length > 0 -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "milestone_activation: invalid var:\n  - " ~ (checked['problems'] | join("\n  - "))
            ) }}
        {%- endif -%}
        {{ return(activation_var_default(name)) }}
    {%- endif -%}
    {{ return(checked['value']) }}
{% endmacro %}


{#- The columns the package itself writes into the models that carry the users'
    passthrough columns, as documented in their YAML: lower-cased name -> the model
    that has it. A passthrough column of the same name would be a duplicate column.
    Empty while dbt parses the project. -#}
{% macro activation_user_model_columns() %}
    {%- set taken = {} -%}
    {%- if execute -%}
        {%- set models = ['stg_activation__users', 'int_activation__users', 'int_activation__user_summaries', 'activation_users'] -%}
        {%- for model_name in models -%}
            {%- for node in graph.nodes.values()
                if node.resource_type == 'model' and node.package_name == 'milestone_activation' and node.name == model_name -%}
                {%- for column in node.columns.keys() if column | lower not in taken -%}
                    {%- do taken.update({column | lower: node.name}) -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(taken) }}
{% endmacro %}


{#- Checks the vars `names` (default: every var of the package) and stops the build with
    one compiler error listing every problem and its fix. Nothing is raised while dbt
    parses the project. Returns nothing. -#}
{% macro activation_validate_vars(names=none, heading='Invalid milestone_activation vars') %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set specs = activation_var_specs() -%}
    {%- set problems = [] -%}
    {%- for name in (names if names is not none else specs.keys() | sort) -%}
        {%- for problem in activation_var_check(name, var(name, activation_var_default(name)))['problems'] -%}
            {%- do problems.append(problem) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            heading ~ " (" ~ problems | length ~ " problem(s)):\n  - " ~ (problems | join("\n  - "))
        ) }}
    {%- endif -%}
{% endmacro %}
