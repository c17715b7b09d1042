{#- Text to integer when it holds a whole number (`3`, `3.0`, `1e2`), else null (`3.5`,
    `x`, `true`): never an error. -#}
{% macro activation_try_cast_integer(expr) -%}
    {{ return(adapter.dispatch('activation_try_cast_integer', 'milestone_activation')(expr)) }}
{%- endmacro %}

{% macro default__activation_try_cast_integer(expr) -%}
    {{ exceptions.raise_compiler_error("milestone_activation: safe integer casts are not implemented for adapter '" ~ adapter.type() ~ "'.") }}
{%- endmacro %}

{% macro duckdb__activation_try_cast_integer(expr) -%}
    case
        when try_cast({{ expr }} as double) = floor(try_cast({{ expr }} as double))
            then try_cast(try_cast({{ expr }} as double) as integer)
    end
{%- endmacro %}
