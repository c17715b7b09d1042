{#- Checks the rolling PQL vars and stops the build with one compiler error listing
    every problem and its fix. Called while `int_activation__pql_score_changes`
    compiles, so no PQL model runs on a bad configuration. Returns nothing. -#}
{% macro activation_validate_pql_vars() %}
    {%- set recency_days = var('activation_pql_recency_days', 7) -%}
    {%- set decay = var('activation_pql_decay', 0.5) -%}
    {%- set daily_days = var('activation_pql_daily_days', 90) -%}
    {%- set bands = var('activation_pql_bands', []) -%}
    {%- set problems = [] -%}

    {%- if recency_days is not integer or recency_days is boolean or recency_days < 0 -%}
        {%- do problems.append("activation_pql_recency_days = " ~ (recency_days | tojson) ~ " is not a whole number >= 0. Fix: set it to the number of days a milestone counts in full, e.g. 7.") -%}
    {%- endif -%}
    {%- if decay is not number or decay is boolean or decay < 0 or decay > 1 -%}
        {%- do problems.append("activation_pql_decay = " ~ (decay | tojson) ~ " is not a number between 0 and 1. Fix: set the share of its weight an older milestone keeps, e.g. 0.5.") -%}
    {%- endif -%}
    {%- if daily_days is not integer or daily_days is boolean or daily_days < 1 -%}
        {%- do problems.append("activation_pql_daily_days = " ~ (daily_days | tojson) ~ " is not a whole number >= 1. Fix: set the number of days activation_pql_scores_daily covers, e.g. 90.") -%}
    {%- endif -%}

    {%- if bands is string or bands is mapping or bands is not iterable or bands | length == 0 -%}
        {%- do problems.append("activation_pql_bands is not a non-empty list. Fix: give a list such as [{band: nurture, min_score: 0, action: automated nurture}, ...].") -%}
    {%- else -%}
        {%- set seen_names = [] -%}
        {%- set seen_scores = [] -%}
        {%- for band in bands -%}
            {%- if band is not mapping -%}
                {%- do problems.append("activation_pql_bands item " ~ loop.index ~ " (" ~ band ~ ") is not a mapping. Fix: write it as {band: name, min_score: number, action: text}.") -%}
            {%- else -%}
                {%- set name = band.get('band') -%}
                {%- set min_score = band.get('min_score') -%}
                {%- if name is none or name | string | trim == '' -%}
                    {%- do problems.append("activation_pql_bands item " ~ loop.index ~ " has no band name. Fix: add band: <name>.") -%}
                {%- elif name in seen_names -%}
                    {%- do problems.append("activation_pql_bands: band '" ~ name ~ "' appears twice. Fix: give each band a unique name.") -%}
                {%- endif -%}
                {%- do seen_names.append(name) -%}
                {%- if min_score is not number or min_score is boolean -%}
                    {%- do problems.append("activation_pql_bands: band '" ~ name ~ "' has min_score " ~ min_score ~ ", not a number. Fix: set min_score to the lowest raw score of the band.") -%}
                {%- elif min_score in seen_scores -%}
                    {%- do problems.append("activation_pql_bands: min_score " ~ min_score ~ " is used by two bands. Fix: give each band a different min_score.") -%}
                {%- endif -%}
                {%- do seen_scores.append(min_score) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Invalid rolling PQL configuration:\n  - " ~ (problems | join("\n  - "))
        ) }}
    {%- endif -%}
{% endmacro %}
