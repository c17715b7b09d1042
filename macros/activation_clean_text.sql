{#- Trimmed text; blank becomes null. Used for ids and labels. -#}
{% macro activation_clean_text(expr) -%}
    nullif(trim(cast({{ expr }} as {{ dbt.type_string() }})), '')
{%- endmacro %}
