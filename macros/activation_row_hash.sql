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


{#- CTE keyword that asks the engine to inline a CTE referenced more than once instead
    of storing its rows: DuckDB would otherwise keep every event of a full build in
    memory (and spill it). Empty where the engine has no such keyword or inlines
    anyway (Spark) or where re-reading costs more (PostgreSQL keeps its default). -#}
{% macro activation_cte_not_materialized() -%}
    {{ return(adapter.dispatch('activation_cte_not_materialized', 'milestone_activation')()) }}
{%- endmacro %}

{% macro default__activation_cte_not_materialized() -%}
{%- endmacro %}

{% macro duckdb__activation_cte_not_materialized() -%}
    not materialized
{%- endmacro %}
