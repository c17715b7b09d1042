{#- Stops the build when a source table lacks a column the package reads, with a
    message naming the table, the column and the var that maps it. Column names given
    by vars must be plain identifiers: they are pasted into SQL. Called while the
    staging model that reads the table compiles; one metadata query, compared
    case-insensitively. Does nothing at parse time, and
    when the table does not exist (the database's own error names it). Returns the
    table's column names in lower case (none at parse time or when the table does not
    exist). -#}
{% macro activation_check_source_columns(relation, table_name, required_columns) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {#- An entry whose column is null is skipped (an optional column switched off); an
        entry whose column is a list stands for each of its names. -#}
    {%- set expanded = [] -%}
    {%- for entry in required_columns if entry['column'] is not none -%}
        {%- set names = [entry['column']] if entry['column'] is string else entry['column'] -%}
        {%- for name in names -%}
            {%- do expanded.append({'column': name, 'var': entry['var'], 'fix_note': entry.get('fix_note', '')}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set required_columns = expanded -%}
    {%- set problems = [] -%}
    {%- for required in required_columns -%}
        {%- if not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*', required['column'] | string) -%}
            {%- do problems.append(
                "var " ~ required['var'] ~ " = '" ~ required['column'] ~ "' is not a plain column name"
                ~ " (letters, digits and _, not starting with a digit). Fix: name a column of the "
                ~ table_name ~ " table, or select the column under a plain name in a view and point the package at the view."
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set present = none -%}
    {%- if problems | length == 0 -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if present | length == 0 -%}
            {{ return(none) }}
        {%- endif -%}
        {%- for required in required_columns -%}
            {%- if (required['column'] | lower) not in present -%}
                {%- do problems.append(
                    "the " ~ table_name ~ " table has no column '" ~ required['column'] ~ "' (the name comes from var "
                    ~ required['var'] ~ "). Fix: set " ~ required['var'] ~ " to the column's name in your table"
                    ~ required['fix_note'] ~ "."
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Missing or invalid columns in the " ~ table_name ~ " table " ~ relation ~ ":\n  - "
            ~ problems | join("\n  - ")
        ) }}
    {%- endif -%}
    {{ return(present) }}
{% endmacro %}
