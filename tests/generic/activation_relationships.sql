{#- dbt's relationships test (every non-null value of the column is a value of `field`
    in `to`), with `to` the name of a model of this package upstream of the tested
    model, read without a graph edge (macro activation_upstream_relation): the test is
    selected with its model alone, so `dbt build --select +<mart>` never runs it on a
    model outside the selection. Fails with one row per missing value. -#}
{% test activation_relationships(model, column_name, to, field) %}

with

child as (

    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null

),

parent as (

    select {{ field }} as to_field
    from {{ milestone_activation.activation_upstream_relation(to) }}

)

select child.from_field

from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null

{% endtest %}
