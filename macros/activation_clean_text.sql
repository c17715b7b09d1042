{#- Text with surrounding whitespace (space, tab, line breaks) removed; blank becomes
    null. Used for ids and labels. Values whose first and last characters are not
    whitespace (nearly all) skip the trim: trimming a character set costs several
    times more than the two character checks on a large events table. `expr` none (an
    optional column switched off by its var) reads as a typed null. -#}
{% macro activation_clean_text(expr) -%}
    {%- if expr is none -%}
        {{ return(activation_text_column(none)) }}
    {%- endif -%}
    {%- set text_value = "cast(" ~ expr ~ " as " ~ dbt.type_string() ~ ")" -%}
    case
        when ascii({{ text_value }}) > 32 and ascii(right({{ text_value }}, 1)) > 32 then {{ text_value }}
        else nullif({{ activation_trim_characters(text_value, "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)") }}, '')
    end
{%- endmacro %}


{#- `expr` with every leading and trailing character found in `characters_sql` (a SQL
    text expression) removed. -#}
{% macro activation_trim_characters(expr, characters_sql) -%}
    {{ return(adapter.dispatch('activation_trim_characters', 'milestone_activation')(expr, characters_sql)) }}
{%- endmacro %}

{% macro default__activation_trim_characters(expr, characters_sql) -%}
    trim(both {{ characters_sql }} from {{ expr }})
{%- endmacro %}


{#- A source column read as text, as it is; `column_name` none (an optional column
    switched off by its var) reads as a typed null. -#}
{% macro activation_text_column(column_name) -%}
    {%- if column_name -%}
        cast({{ column_name }} as {{ dbt.type_string() }})
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
