{#- Text expression giving a field of the band a score falls in: the band with the
    greatest `min_score` not above the score (lower bound inclusive). `bands` is a list
    of dicts with `min_score` and the field (e.g. {band, min_score, action}); a band
    without the field gives null, so `action` may be left out of the configuration.
    Cast to text so the column keeps its type even when every value is null. -#}
{% macro activation_band_label(score_expr, bands, field='band') -%}
    {%- set ordered = bands | sort(attribute='min_score', reverse=true) -%}
    cast(case
        {%- for band in ordered %}
        {%- set value = band.get(field) %}
        when {{ score_expr }} >= {{ band['min_score'] }} then
            {%- if value is none %} null{% else %} {{ activation_string_literal(value) }}{% endif %}
        {%- endfor %}
    end as {{ dbt.type_string() }})
{%- endmacro %}
