{#- Fails (one row) when `model` and `compare_model` do not have the same number of
    rows. Used as the grain test of models that keep one row per input row and so
    have no key of their own. Same arguments as dbt_utils.equal_rowcount (without
    group_by_columns). -#}
{% test activation_equal_rowcount(model, compare_model) %}

with

model_rows as (

    select count(*) as row_count
    from {{ model }}

),

compare_model_rows as (

    select count(*) as row_count
    from {{ compare_model }}

)

select
    model_rows.row_count as model_row_count,
    compare_model_rows.row_count as compare_model_row_count

from model_rows
cross join compare_model_rows
where model_rows.row_count != compare_model_rows.row_count

{% endtest %}
