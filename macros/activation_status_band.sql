{#- CASE expression giving the band (or its action) for a score: the band with the
    greatest `min_score` not above the score (lower bound inclusive). `bands` is a list
    of {status, min_score, action}; `field` is 'status' or 'action'. -#}
{% macro activation_status_band(score_expr, bands, field='status') -%}
    {%- set ordered = bands | sort(attribute='min_score', reverse=true) -%}
    case
        {%- for band in ordered %}
        when {{ score_expr }} >= {{ band['min_score'] }} then '{{ band[field] | replace("'", "''") }}'
        {%- endfor %}
    end
{%- endmacro %}
