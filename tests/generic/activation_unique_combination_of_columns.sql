{#- Fails with one row per combination of `combination_of_columns` that occurs more
    than once. Nulls compare equal (group by), so a null in a key column is a value
    like any other; pair with not_null tests where nulls are not allowed.
    Same arguments as dbt_utils.unique_combination_of_columns, which this package
    cannot depend on. -#}
{% test activation_unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns_csv = combination_of_columns | join(', ') %}

select
    {{ columns_csv }},
    count(*) as row_count

from {{ model }}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
