{#- CTEs computing the quadratic form u' V^-1 u of a symmetric positive semi-definite
    `size` x `size` matrix V and vector u held as columns of one row per key, by LDL'
    elimination unrolled at compile time (one CTE per pivot, no recursion):
        pivot j:  form += u_j^2 / V_jj;  u_a -= V_ja u_j / V_jj;  V_ab -= V_ja V_jb / V_jj  (a, b > j)
    so that the form is sum_j ũ_j^2 / d_j over the pivots d_j.

    Input CTE `input_cte`: the key columns, `u_1` ... `u_<size>` and the upper triangle
    `v_<a>_<b>` (1 <= a <= b <= size), all non-null. To solve a smaller system in the same
    columns, give the unused positions V_aa = 1, V_ab = 0 and u_a = 0.
    Output CTE `output_cte`: the key columns, `quadratic_form` and `is_singular`, true when
    a pivot is at most `tolerance` times the larger of 1 and its diagonal entry before
    elimination (the matrix is singular up to rounding; the form is then meaningless).
    The macro writes CTE definitions separated by commas, without a leading `with` or a
    trailing comma; helper CTEs are named `<output_cte>__pivot_<j>`. The key columns must
    identify the input rows. -#}
{% macro activation_quadratic_form(input_cte, output_cte, key_columns, size, tolerance=1e-12) -%}
    {%- set double = milestone_activation.activation_type_double() -%}
    {%- set keys = key_columns | join(',\n        ') -%}
{{ output_cte }}__pivot_0 as (

    select
        {{ keys }},
        cast(0.0 as {{ double }}) as quadratic_form,
        0 as singular_pivots
        {%- for a in range(1, size + 1) %},
        u_{{ a }},
        v_{{ a }}_{{ a }} as scale_{{ a }}
        {%- for b in range(a, size + 1) %},
        v_{{ a }}_{{ b }}
        {%- endfor %}
        {%- endfor %}

    from {{ input_cte }}

),
{%- for j in range(1, size + 1) %}
{%- set is_pivot_ok = '(v_' ~ j ~ '_' ~ j ~ ' > ' ~ tolerance ~ ' * greatest(1.0, scale_' ~ j ~ '))' %}

{{ output_cte }}__pivot_{{ j }} as (

    {#- One row per key already: the group by (with max) only keeps engines from
        merging the steps into one expression, which would grow exponentially with
        the size (PostgreSQL inlines a CTE used once and substitutes its columns). #}
    select
        {{ keys }},
        max(
            quadratic_form
            + case when {{ is_pivot_ok }} then u_{{ j }} * u_{{ j }} / v_{{ j }}_{{ j }} else 0.0 end
        ) as quadratic_form,
        max(singular_pivots + case when {{ is_pivot_ok }} then 0 else 1 end) as singular_pivots
        {%- for a in range(j + 1, size + 1) %},
        max(
            u_{{ a }}
            - case when {{ is_pivot_ok }} then v_{{ j }}_{{ a }} * u_{{ j }} / v_{{ j }}_{{ j }} else 0.0 end
        ) as u_{{ a }},
        max(scale_{{ a }}) as scale_{{ a }}
        {%- for b in range(a, size + 1) %},
        max(
            v_{{ a }}_{{ b }}
            - case when {{ is_pivot_ok }} then v_{{ j }}_{{ a }} * v_{{ j }}_{{ b }} / v_{{ j }}_{{ j }} else 0.0 end
        ) as v_{{ a }}_{{ b }}
        {%- endfor %}
        {%- endfor %}

    from {{ output_cte }}__pivot_{{ j - 1 }}
    group by {{ key_columns | join(', ') }}

),
{%- endfor %}

{{ output_cte }} as (

    select
        {{ keys }},
        quadratic_form,
        singular_pivots > 0 as is_singular

    from {{ output_cte }}__pivot_{{ size }}

)
{%- endmacro %}
