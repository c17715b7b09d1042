{#- The relation of one of this package's models, seeds or source tables, for data
    tests only, without the graph edge that ref() or source() would add. A data test
    with one ref() is selected with that model alone; every extra ref() is a parent that
    dbt's default (eager) indirect selection also selects it with, so
    `dbt build --select +<mart>` would run it while the tested model is outside the
    selection. Tests read only nodes upstream of their tested model this way, so those
    are built before the test runs (integration_tests/tests/test_test_selection.py
    checks both). `source_name` given: the source table `name` of that source. -#}
{% macro activation_upstream_relation(name, source_name=none) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set candidates = graph.sources.values() if source_name else graph.nodes.values() -%}
    {%- for node in candidates -%}
        {%- if node.package_name == 'milestone_activation' and node.name == name
            and (node.source_name == source_name if source_name
                 else node.resource_type in ['model', 'seed']) -%}
            {{ return(node.relation_name) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "activation_upstream_relation: no model, seed or source table '" ~ name
        ~ "' in the package milestone_activation") }}
{% endmacro %}
