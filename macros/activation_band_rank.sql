{#- CASE expression giving the rank of the band a score falls in: 1 for the band with
    the lowest `min_score`, n for the highest; 0 when the score is below every band or
    null. Used to tell upward band crossings from downward ones. -#}
{% macro activation_band_rank(score_expr, bands) -%}
    {%- set ordered = bands | sort(attribute='min_score') -%}
    case
        {%- for band in ordered | reverse %}
        when {{ score_expr }} >= {{ band['min_score'] }} then {{ ordered | length - loop.index0 }}
        {%- endfor %}
        else 0
    end
{%- endmacro %}
