{#- Fails (one row per events table) when `model` does not hold, for each events
    table the package reads (the events source, or each table of var
    `activation_event_relations`), as many rows with that `source_relation` as the
    table has rows. The grain test of models that keep one row per raw events row. -#}
{% test activation_raw_events_rowcount(model) %}

with

raw_rows as (

    {{ milestone_activation.activation_raw_event_rows_by_source() }}

),

model_rows as (

    select
        source_relation,
        count(*) as row_count

    from {{ model }}
    group by source_relation

)

select
    coalesce(raw_rows.source_relation, model_rows.source_relation) as source_relation,
    raw_rows.row_count as raw_row_count,
    model_rows.row_count as model_row_count

from raw_rows
full outer join model_rows
    on raw_rows.source_relation = model_rows.source_relation
where coalesce(raw_rows.row_count, 0) != coalesce(model_rows.row_count, 0)

{% endtest %}
