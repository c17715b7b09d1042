{#- A 64-bit (or, on engines without one, text) hash of the given SQL expressions, for
    finding candidate duplicates cheaply. Equal inputs give equal hashes; different
    inputs may collide, so a hash only ever selects rows for an exact comparison. -#}
{% macro activation_row_hash(expressions) -%}
    {{ return(adapter.dispatch('activation_row_hash', 'milestone_activation')(expressions)) }}
{%- endmacro %}

{% macro default__activation_row_hash(expressions) -%}
    {{ dbt.hash("concat_ws('|', " ~ (expressions | join(', ')) ~ ")") }}
{%- endmacro %}

{% macro duckdb__activation_row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro postgres__activation_row_hash(expressions) -%}
    hashtextextended(concat_ws(chr(31), {{ expressions | join(', ') }}), 0)
{%- endmacro %}

{% macro spark__activation_row_hash(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}
