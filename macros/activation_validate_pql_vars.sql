{#- Checks the rolling PQL vars (through the var registry, macros/activation_var.sql)
    and stops the build with one compiler error listing every problem and its fix.
    Called while the PQL models compile, so no PQL model runs on a bad configuration.
    Returns nothing. -#}
{% macro activation_validate_pql_vars() %}
    {%- do activation_validate_vars(
        ['activation_pql_recency_days', 'activation_pql_decay', 'activation_pql_daily_days', 'activation_pql_bands'],
        heading='Invalid rolling PQL configuration'
    ) -%}
{% endmacro %}
