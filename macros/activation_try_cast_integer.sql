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

{% macro postgres__activation_try_cast_integer(expr) -%}
    {#- No try_cast: the text must look like a number before it is cast. Read as a
        double like DuckDB's try_cast, whole and inside the integer range, else null.
        The exponent is capped at 4 digits so the numeric cast cannot overflow, and the
        magnitude is checked on the numeric before the cast to double. -#}
    case
        when trim({{ expr }}) ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,4})?$'
            then case
                when cast(trim({{ expr }}) as numeric) = 0 then 0
                when abs(cast(trim({{ expr }}) as numeric)) between 0.5 and 2147483648
                    then case
                        when cast(cast(trim({{ expr }}) as numeric) as double precision)
                            = floor(cast(cast(trim({{ expr }}) as numeric) as double precision))
                            and cast(cast(trim({{ expr }}) as numeric) as double precision) between -2147483648 and 2147483647
                            then cast(cast(cast(trim({{ expr }}) as numeric) as double precision) as integer)
                    end
            end
    end
{%- endmacro %}

{% macro spark__activation_try_cast_integer(expr, cast_function='cast') -%}
    {#- Spark's cast to double also reads `3d` / `3f` (Java suffixes) and saturates out
        of range instead of failing, so the text is checked to be a plain decimal number
        and the value to fit an integer, as DuckDB's try_cast does. -#}
    case
        when
            regexp_extract(trim({{ expr }}), '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?', 0) = trim({{ expr }})
            and {{ cast_function }}(trim({{ expr }}) as double) = floor({{ cast_function }}(trim({{ expr }}) as double))
            and {{ cast_function }}(trim({{ expr }}) as double) between -2147483648 and 2147483647
            then cast({{ cast_function }}(trim({{ expr }}) as double) as int)
    end
{%- endmacro %}
