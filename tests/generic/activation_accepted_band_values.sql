{#- Fails with every row whose `column_name` is not a band name of the bands var
    `bands_var` (`label`: the field holding the name, e.g. `band`). The names come from
    the var registry and reach SQL through `activation_string_literal`, so a name with
    quotes or backslashes works (dbt's accepted_values pastes values inside quotes).
    Nulls pass; test them with not_null. -#}
{% test activation_accepted_band_values(model, column_name, bands_var, label) %}

{%- set names = [] -%}
{%- for band in milestone_activation.activation_var(bands_var) -%}
    {%- do names.append(band[label]) -%}
{%- endfor %}

select *

from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in {{ milestone_activation.activation_string_literal_list(names) }}

{% endtest %}
