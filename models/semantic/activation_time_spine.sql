{#- MetricFlow's day time spine for the package's semantic models: one row per day from
    2000-01-01 to 2059-12-31 (21,915 rows), built from digits so it is portable and needs
    no users x days expansion. Off unless both `activation_semantic_layer_enabled` and
    `activation_time_spine_enabled` are true: MetricFlow accepts one time spine per
    granularity, so a project with its own day spine turns this one off. -#}
{{ config(
    enabled=activation_var('activation_semantic_layer_enabled') and activation_var('activation_time_spine_enabled')
) }}

with

digits as (

    {%- for digit in range(10) %}
    select {{ digit }} as digit{% if not loop.last %}
    union all{% endif %}
    {%- endfor %}

),

day_numbers as (

    select
        ten_thousands.digit * 10000
        + thousands.digit * 1000
        + hundreds.digit * 100
        + tens.digit * 10
        + ones.digit as day_number

    from digits as ten_thousands
    cross join digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
    where ten_thousands.digit <= 2

),

days as (

    select cast({{ dbt.dateadd('day', 'day_numbers.day_number', "cast('2000-01-01' as date)") }} as date) as date_day
    from day_numbers

),

final as (

    select date_day
    from days
    where date_day <= cast('2059-12-31' as date)

)

select * from final
