{#- Users needed per variant for a two-variant experiment on a conversion rate, over a
    grid of baseline rates and relative minimum detectable effects (two-sided test at
    alpha 0.05, power 0.8; see the macro sample_size_per_variant). Compare a row with
    the exposed users per variant in activation_experiments before reading a result. -#}
{%- set baselines = [0.02, 0.05, 0.10, 0.20, 0.30] -%}
{%- set relative_mdes = [0.05, 0.10, 0.15, 0.20, 0.30, 0.50] -%}
{%- set alpha = 0.05 -%}
{%- set power = 0.8 -%}

with

baselines as (

    {%- for baseline in baselines %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select cast({{ baseline }} as {{ activation_type_double() }}) as baseline_rate
    {%- endfor %}

),

relative_mdes as (

    {%- for relative_mde in relative_mdes %}
    {%- if not loop.first %}

    union all
    {% endif %}
    select cast({{ relative_mde }} as {{ activation_type_double() }}) as relative_mde
    {%- endfor %}

),

grid as (

    select
        baselines.baseline_rate,
        relative_mdes.relative_mde,
        baselines.baseline_rate * (1.0 + relative_mdes.relative_mde) as target_rate

    from baselines
    cross join relative_mdes

),

final as (

    select
        baseline_rate,
        relative_mde,
        target_rate,
        {{ sample_size_per_variant('baseline_rate', 'relative_mde', alpha, power) }} as users_per_variant,
        2 * {{ sample_size_per_variant('baseline_rate', 'relative_mde', alpha, power) }} as users_for_two_variants

    from grid

)

select * from final
order by baseline_rate, relative_mde
