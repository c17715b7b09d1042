{#- The raw events tables the package reads, as a list of {'name', 'relation'}:
    `name` is the `source_relation` label of their rows. Without var
    `activation_event_relations`: the events source alone, named '' (one source, as
    Fivetran's packages name it). With it: each listed table, in the database and
    schema of the events source unless the item names its own. A unit test reads the
    events source (its given rows) in either case. `graph_edge` false: the source is
    found without a graph edge (as `activation_upstream_relation` does), for the
    singular tests that must keep their one parent. -#}
{% macro activation_event_sources(graph_edge=true) %}
    {%- set listed = activation_var('activation_event_relations') -%}
    {%- if graph_edge -%}
        {%- set events_source = source('activation', 'events') -%}
    {%- elif execute -%}
        {%- set node = graph.sources.values() | selectattr('package_name', 'equalto', 'milestone_activation')
            | selectattr('source_name', 'equalto', 'activation') | selectattr('name', 'equalto', 'events') | first -%}
        {%- set events_source = api.Relation.create(database=node.database, schema=node.schema, identifier=node.identifier) -%}
    {%- else -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if not activation_reads_event_relations() -%}
        {{ return([{'name': '', 'relation': events_source}]) }}
    {%- endif -%}
    {%- set sources = [] -%}
    {%- for item in listed -%}
        {%- do sources.append({'name': item['name'], 'relation': activation_relation_from_item(item, events_source)}) -%}
    {%- endfor -%}
    {{ return(sources) }}
{% endmacro %}


{#- The relation of a checked table item (activation_var_relation), in the database
    and schema of `default_relation` unless the item names its own. -#}
{% macro activation_relation_from_item(item, default_relation) %}
    {{ return(api.Relation.create(
        database=item['database'] or default_relation.database,
        schema=item['schema'] or default_relation.schema,
        identifier=item['identifier'],
    )) }}
{% endmacro %}


{#- A SQL expression: the number of rows of all raw events tables together. -#}
{% macro activation_raw_event_rows() -%}
    {%- for item in activation_event_sources() -%}
        {%- if not loop.first %} + {% endif -%}
        (select count(*) from {{ item['relation'] }})
    {%- endfor -%}
{%- endmacro %}


{#- A query: one row per raw events table, its `source_relation` label and `row_count`.
    `graph_edge`: as in activation_event_sources. -#}
{% macro activation_raw_event_rows_by_source(graph_edge=true) -%}
    {%- for item in activation_event_sources(graph_edge) %}
    {% if not loop.first -%} union all {% endif -%}
    select
        cast({{ activation_string_literal(item['name']) }} as {{ dbt.type_string() }}) as source_relation,
        count(*) as row_count
    from {{ item['relation'] }}
    {%- endfor %}
{%- endmacro %}


{#- True when the package reads the tables of var `activation_event_relations` (the
    var is set, and this is not a unit test, whose rows stand for the events source). -#}
{% macro activation_reads_event_relations() %}
    {{ return(activation_var('activation_event_relations') | length > 0 and not activation_in_unit_test()) }}
{% endmacro %}


{#- True while dbt compiles a unit test, whose inputs are rows, not relations to query. -#}
{% macro activation_in_unit_test() %}
    {{ return(model is defined and model is not none and model['resource_type'] == 'unit_test') }}
{% endmacro %}
