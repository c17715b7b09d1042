{#- Text with surrounding whitespace (space, tab, line breaks) removed; blank becomes
    null. Used for ids and labels. -#}
{% macro activation_clean_text(expr) -%}
    nullif(
        trim(both ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) from cast({{ expr }} as {{ dbt.type_string() }})),
        ''
    )
{%- endmacro %}
