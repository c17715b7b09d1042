{#- Reads the staged milestone configuration and stops the build with one message
    listing every problem, each naming the milestone and the fix. Called while the
    model `int_activation__milestones` compiles, so nothing downstream runs on a bad
    configuration. Skipped when the staging views do not exist yet (`dbt compile`
    or `dbt docs generate` before the first build). -#}
{% macro activation_validate_milestone_config(milestones_relation, requirements_relation) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for relation in [milestones_relation, requirements_relation] -%}
        {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}

    {#- The weight is read as text and, when finite, as a number: NaN and infinities
        would not survive the trip into Jinja as numbers (NaN cannot be compared).
        `w - w = 0` is false for NaN and for both infinities on every engine. -#}
    {%- set milestone_rows = activation_query_rows(
        "select milestone_id, milestone_level,"
        ~ " case when milestone_weight - milestone_weight = 0 then milestone_weight end as milestone_weight,"
        ~ " cast(milestone_weight as " ~ dbt.type_string() ~ ") as milestone_weight_text,"
        ~ " timeframe, timeframe_days, triggered_by_event, requires_milestone_id from " ~ milestones_relation
        ~ " order by milestone_id"
    ) -%}
    {#- Bounds. A timeframe is stored in seconds as a 32-bit integer on every engine;
        3650 days (ten years, 315,360,000 s) leaves a margin of almost 7x below its
        limit (about 24,855 days) and is far longer than any activation window. -#}
    {%- set max_timeframe_days = 3650 -%}
    {%- set max_timeframe_hours = max_timeframe_days * 24 -%}
    {%- set max_level = 1000 -%}
    {%- set timeframe_bound = "the supported maximum is " ~ max_timeframe_days ~ " days (" ~ max_timeframe_hours
        ~ "h, ten years), which keeps the timeframe in seconds inside a 32-bit integer" -%}
    {%- set requirement_rows = activation_query_rows(
        "select milestone_id, path_id, event_name, min_count, property_key, property_value from "
        ~ requirements_relation ~ " order by milestone_id, path_id, event_name"
    ) -%}

    {%- set problems = [] -%}
    {%- set gates = {} -%}
    {%- set seen = [] -%}
    {%- set with_requirements = [] -%}
    {%- for row in requirement_rows -%}
        {%- do with_requirements.append(row['milestone_id']) -%}
    {%- endfor -%}

    {%- for row in milestone_rows -%}
        {%- set name = "milestone '" ~ row['milestone_id'] ~ "'" -%}
        {%- if row['milestone_id'] is none -%}
            {%- do problems.append("a milestone row has no milestone_id. Fix: give every row a unique milestone_id.") -%}
        {%- elif row['milestone_id'] in seen -%}
            {%- do problems.append(name ~ ": duplicate milestone_id. Fix: keep one row per milestone_id.") -%}
        {%- endif -%}
        {%- do seen.append(row['milestone_id']) -%}
        {%- if row['milestone_level'] is none -%}
            {%- do problems.append(name ~ ": level is empty. Fix: set level to the milestone's funnel position (1, 2, ...).") -%}
        {%- elif row['milestone_level'] < 0 or row['milestone_level'] > max_level -%}
            {%- do problems.append(name ~ ": level " ~ row['milestone_level'] ~ " is outside 0 to " ~ max_level ~ ". Fix: set level to the milestone's funnel position (1, 2, ...).") -%}
        {%- endif -%}
        {%- set weight_text = row['milestone_weight_text'] -%}
        {%- if weight_text is not none and row['milestone_weight'] is none -%}
            {#- Spelled the same on every engine (DuckDB prints nan / inf). -#}
            {%- set weight_text = {'nan': 'NaN', 'inf': 'Infinity', 'infinity': 'Infinity', '-inf': '-Infinity', '-infinity': '-Infinity'}.get(weight_text | lower, weight_text) -%}
            {%- do problems.append(name ~ ": weight " ~ weight_text ~ " is not a finite number. Fix: set weight to a finite number, 0 or more.") -%}
        {%- elif row['milestone_weight'] is none or row['milestone_weight'] < 0 -%}
            {%- do problems.append(name ~ ": weight " ~ row['milestone_weight'] ~ " is not a number >= 0. Fix: set weight to 0 or more.") -%}
        {%- endif -%}
        {%- if row['timeframe'] is not none -%}
            {%- if not modules.re.fullmatch('[0-9]+[dh]', row['timeframe']) or (modules.re.sub('[^0-9]', '', row['timeframe']) | int) < 1 -%}
                {%- do problems.append(name ~ ": timeframe '" ~ row['timeframe'] ~ "' cannot be read. Fix: use a positive number of days or hours such as '7d', '30d' or '48h'.") -%}
            {%- elif (modules.re.sub('[^0-9]', '', row['timeframe']) | int) > (max_timeframe_days if row['timeframe'][-1] == 'd' else max_timeframe_hours) -%}
                {%- do problems.append(name ~ ": timeframe '" ~ row['timeframe'] ~ "' is too long; " ~ timeframe_bound ~ ". Fix: use a timeframe of at most " ~ max_timeframe_days ~ "d or " ~ max_timeframe_hours ~ "h.") -%}
            {%- endif -%}
        {%- elif row['timeframe_days'] is none or row['timeframe_days'] < 1 -%}
            {%- do problems.append(name ~ ": no valid timeframe (timeframe empty, timeframe_days " ~ row['timeframe_days'] ~ "). Fix: set timeframe such as '14d' or timeframe_days >= 1.") -%}
        {%- elif row['timeframe_days'] > max_timeframe_days -%}
            {%- do problems.append(name ~ ": timeframe_days " ~ row['timeframe_days'] ~ " is too long; " ~ timeframe_bound ~ ". Fix: set timeframe_days to at most " ~ max_timeframe_days ~ ".") -%}
        {%- endif -%}
        {%- if row['triggered_by_event'] is none and row['milestone_id'] not in with_requirements -%}
            {%- do problems.append(name ~ ": no triggered_by_event and no requirement rows. Fix: set triggered_by_event or add rows to the requirements table.") -%}
        {%- endif -%}
        {%- if row['requires_milestone_id'] is not none -%}
            {%- do gates.update({row['milestone_id']: row['requires_milestone_id']}) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for milestone_id, gate_id in gates.items() -%}
        {%- if gate_id not in seen -%}
            {%- do problems.append("milestone '" ~ milestone_id ~ "': unknown gate '" ~ gate_id ~ "' in requires_milestone_id. Fix: name an existing milestone_id or leave it empty.") -%}
        {%- else -%}
            {%- set walk = namespace(current=gate_id, depth=1, stopped=false) -%}
            {%- for _ in range(milestone_rows | length + 1) -%}
                {%- if not walk.stopped -%}
                    {%- if walk.current == milestone_id -%}
                        {%- do problems.append("milestone '" ~ milestone_id ~ "': gate cycle (requires_milestone_id leads back to itself). Fix: remove one requires_milestone_id in the loop.") -%}
                        {%- set walk.stopped = true -%}
                    {%- elif walk.current not in gates -%}
                        {%- set walk.stopped = true -%}
                    {%- else -%}
                        {%- set walk.current = gates[walk.current] -%}
                        {%- set walk.depth = walk.depth + 1 -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if walk.stopped and walk.depth > 10 -%}
                {%- do problems.append("milestone '" ~ milestone_id ~ "': gate chain is " ~ walk.depth ~ " deep, more than the supported 10. Fix: shorten the chain of requires_milestone_id.") -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}

    {%- for row in requirement_rows -%}
        {%- set name = "milestone '" ~ row['milestone_id'] ~ "'" -%}
        {%- if row['milestone_id'] not in seen -%}
            {%- do problems.append("requirement for unknown milestone '" ~ row['milestone_id'] ~ "' (event " ~ row['event_name'] ~ "). Fix: add the milestone or delete the requirement row.") -%}
        {%- endif -%}
        {%- if row['event_name'] is none -%}
            {%- do problems.append(name ~ ", path " ~ row['path_id'] ~ ": requirement without event_name. Fix: name the event.") -%}
        {%- endif -%}
        {%- if row['min_count'] is none or row['min_count'] < 1 -%}
            {%- do problems.append(name ~ ", path " ~ row['path_id'] ~ ", event " ~ row['event_name'] ~ ": min_count " ~ row['min_count'] ~ " is below 1. Fix: set min_count to 1 or more.") -%}
        {%- endif -%}
        {%- if (row['property_key'] is none) != (row['property_value'] is none) -%}
            {%- do problems.append(name ~ ", path " ~ row['path_id'] ~ ", event " ~ row['event_name'] ~ ": property_key and property_value must be set together. Fix: fill both or neither.") -%}
        {%- elif row['property_key'] is not none and adapter.type() == 'spark'
            and (row['property_key'] == '*' or ("'" in row['property_key'] and ('.' in row['property_key'] or '[' in row['property_key']))) -%}
            {#- Spark's JSON path (get_json_object) reads a key in `$['key']` up to the
                first single quote and in `$.key` up to the first `.` or `[`; `*` is its
                wildcard. Every other key works on every engine. -#}
            {%- do problems.append(name ~ ", path " ~ row['path_id'] ~ ", event " ~ row['event_name'] ~ ": property_key '" ~ row['property_key'] ~ "' cannot be read on Spark (its JSON path cannot express a key that is `*` or holds a single quote together with `.` or `[`). Fix: rename the property in your events, or use a key without that combination.") -%}
        {%- endif -%}
    {%- endfor -%}

    {#- The other vars are checked by activation_validate_vars (macros/activation_var.sql). -#}
    {%- set first_value = activation_var('activation_first_value_milestone') -%}
    {%- if first_value is not none and first_value not in seen -%}
        {%- do problems.append("var activation_first_value_milestone = '" ~ first_value ~ "' is not a milestone. Fix: name an existing milestone_id or unset the var (lowest level is used).") -%}
    {%- endif -%}

    {%- if problems | length > 0 -%}
        {%- set unique_problems = [] -%}
        {%- for problem in problems -%}
            {%- if problem not in unique_problems -%}{%- do unique_problems.append(problem) -%}{%- endif -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            "Invalid milestone configuration (" ~ unique_problems | length ~ " problem(s)) in "
            ~ milestones_relation ~ " / " ~ requirements_relation ~ ":\n  - "
            ~ unique_problems | join("\n  - ")
        ) }}
    {%- endif -%}
{% endmacro %}


{#- The rows of a query as dicts keyed by lower-case column names: Snowflake returns
    unquoted names in upper case. -#}
{% macro activation_query_rows(sql) %}
    {%- set result = run_query(sql) -%}
    {%- set names = result.column_names | map('lower') | list -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- set values = {} -%}
        {%- for name in names -%}
            {%- do values.update({name: row[loop.index0]}) -%}
        {%- endfor -%}
        {%- do rows.append(values) -%}
    {%- endfor -%}
    {{ return(rows) }}
{% endmacro %}
