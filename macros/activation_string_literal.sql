{#- A SQL string literal holding `text` exactly, or `null` when `text` is none: the one
    way a text value from a var or the configuration reaches SQL. Standard SQL doubles
    single quotes; Spark reads `''` as two adjacent literals (joined without the quote)
    and treats a backslash as an escape, so it escapes both with a backslash. -#}
{% macro activation_string_literal(text) -%}
    {{ return(adapter.dispatch('activation_string_literal', 'milestone_activation')(text)) }}
{%- endmacro %}

{% macro default__activation_string_literal(text) -%}
    {%- if text is none -%}
    null
    {%- else -%}
    '{{ text | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{% macro spark__activation_string_literal(text) -%}
    {{ activation_escaped_string_literal(text) }}
{%- endmacro %}

{#- `text` as a string constant for engines whose constants read backslash escapes
    (Spark, Databricks, Snowflake, BigQuery, Redshift): backslashes doubled, the single
    quote written as `quote` (`\'`, or `''` on Redshift), and line breaks as `\n` and
    `\r` when `line_breaks` (a BigQuery constant cannot hold a raw one); null when
    `text` is none. -#}
{% macro activation_escaped_string_literal(text, quote="\\'", line_breaks=false) -%}
    {%- if text is none -%}
    null
    {%- else -%}
    {%- set escaped = text | string | replace("\\", "\\\\") | replace("'", quote) -%}
    {%- if line_breaks -%}
        {%- set escaped = escaped | replace("\n", "\\n") | replace("\r", "\\r") -%}
    {%- endif -%}
    '{{ escaped }}'
    {%- endif -%}
{%- endmacro %}


{#- A parenthesised SQL list of string literals for `in (...)`, one per item of `texts`
    (a non-empty list). -#}
{% macro activation_string_literal_list(texts) -%}
    ({% for text in texts %}{{ activation_string_literal(text) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}
