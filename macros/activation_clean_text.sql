{#- Text with surrounding whitespace (space, tab, line breaks) removed; blank becomes
    null. Used for ids and labels. Values whose first and last characters are not
    whitespace (nearly all) skip the trim: trimming a character set costs several
    times more than the two character checks on a large events table. -#}
{% macro activation_clean_text(expr) -%}
    {%- set text_value = "cast(" ~ expr ~ " as " ~ dbt.type_string() ~ ")" -%}
    case
        when ascii({{ text_value }}) > 32 and ascii(right({{ text_value }}, 1)) > 32 then {{ text_value }}
        else nullif(trim(both ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) from {{ text_value }}), '')
    end
{%- endmacro %}
