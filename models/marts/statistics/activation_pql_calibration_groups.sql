{#- Conversion of the calibration's scored users by score group, two groupings per
    score. `band`: the configured bands (activation_score: `activation_status_bands`;
    pql_score: `activation_pql_bands`), every band even without users, rank 1 the
    highest, plus `(below bands)` when some users score below every band. `decile`:
    ntile(10) by score descending (ties by user_id), rank 1 the highest scores. With
    the groups ranked from the top, the cumulative columns give precision and recall
    of "score at or above this group's threshold". -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_pql_enabled')
) }}
{%- set double = activation_type_double() -%}
{%- set band_sets = [
    ('activation_score', activation_var('activation_status_bands'), 'status'),
    ('pql_score', activation_var('activation_pql_bands'), 'band'),
] -%}

with

calibration_scores as (

    select * from {{ ref('int_activation__calibration_scores') }}

),

band_definitions as (

    {#- A typed empty row first, so the union has its types even with no bands. #}
    select
        cast(null as {{ dbt.type_string() }}) as score_name,
        cast(null as {{ dbt.type_int() }}) as group_rank,
        cast(null as {{ dbt.type_string() }}) as group_label,
        cast(null as {{ double }}) as threshold_score

    from calibration_scores
    where 1 = 0
    {%- for score_name, bands, label_field in band_sets %}
    {%- for band in bands | sort(attribute='min_score', reverse=true) %}

    union all

    select
        {{ activation_string_literal(score_name) }} as score_name,
        cast({{ loop.index }} as {{ dbt.type_int() }}) as group_rank,
        cast({{ activation_string_literal(band[label_field]) }} as {{ dbt.type_string() }}) as group_label,
        cast({{ band['min_score'] }} as {{ double }}) as threshold_score
    {%- endfor %}
    {%- endfor %}

),

user_bands as (

    select
        score_name,
        score,
        is_converted,
        case
            {%- for score_name, bands, label_field in band_sets %}
            {%- set score_name_literal = activation_string_literal(score_name) %}
            {%- for band in bands | sort(attribute='min_score', reverse=true) %}
            when score_name = {{ score_name_literal }} and score >= {{ band['min_score'] }} then {{ loop.index }}
            {%- endfor %}
            when score_name = {{ score_name_literal }} then {{ bands | length + 1 }}
            {%- endfor %}
        end as group_rank

    from calibration_scores

),

band_counts as (

    select
        score_name,
        group_rank,
        min(score) as min_score,
        max(score) as max_score,
        count(*) as users,
        count(case when is_converted then 1 end) as converted_users

    from user_bands
    group by score_name, group_rank

),

band_groups as (

    select
        band_definitions.score_name,
        'band' as grouping_name,
        band_definitions.group_rank,
        band_definitions.group_label,
        band_definitions.threshold_score,
        band_counts.min_score,
        band_counts.max_score,
        coalesce(band_counts.users, 0) as users,
        coalesce(band_counts.converted_users, 0) as converted_users

    from band_definitions
    left join band_counts
        on
            band_definitions.score_name = band_counts.score_name
            and band_definitions.group_rank = band_counts.group_rank

    union all

    select
        band_counts.score_name,
        'band' as grouping_name,
        cast(band_counts.group_rank as {{ dbt.type_int() }}) as group_rank,
        '(below bands)' as group_label,
        cast(null as {{ double }}) as threshold_score,
        band_counts.min_score,
        band_counts.max_score,
        band_counts.users,
        band_counts.converted_users

    from band_counts
    left join band_definitions
        on
            band_counts.score_name = band_definitions.score_name
            and band_counts.group_rank = band_definitions.group_rank
    where band_definitions.group_rank is null

),

user_deciles as (

    select
        score_name,
        score,
        is_converted,
        ntile(10) over (partition by score_name order by score desc, user_id asc) as group_rank

    from calibration_scores

),

decile_groups as (

    select
        score_name,
        'decile' as grouping_name,
        cast(group_rank as {{ dbt.type_int() }}) as group_rank,
        {{ dbt.concat(["'decile_'", "cast(group_rank as " ~ dbt.type_string() ~ ")"]) }} as group_label,
        min(score) as threshold_score,
        min(score) as min_score,
        max(score) as max_score,
        count(*) as users,
        count(case when is_converted then 1 end) as converted_users

    from user_deciles
    group by score_name, group_rank

),

score_groups as (

    select * from band_groups

    union all

    select * from decile_groups

),

score_totals as (

    select
        score_name,
        count(*) as scored_users,
        count(case when is_converted then 1 end) as converted_users

    from calibration_scores
    group by score_name

),

cumulative as (

    select
        score_groups.*,
        coalesce(score_totals.scored_users, 0) as total_users,
        coalesce(score_totals.converted_users, 0) as total_converted_users,
        sum(score_groups.users) over (
            partition by score_groups.score_name, score_groups.grouping_name
            order by score_groups.group_rank
            rows between unbounded preceding and current row
        ) as cumulative_users,
        sum(score_groups.converted_users) over (
            partition by score_groups.score_name, score_groups.grouping_name
            order by score_groups.group_rank
            rows between unbounded preceding and current row
        ) as cumulative_converted_users

    from score_groups
    left join score_totals
        on score_groups.score_name = score_totals.score_name

),

final as (

    select
        cast(score_name as {{ dbt.type_string() }}) as score_name,
        cast(grouping_name as {{ dbt.type_string() }}) as grouping,
        cast(group_rank as {{ dbt.type_int() }}) as group_rank,
        cast(group_label as {{ dbt.type_string() }}) as group_label,
        cast(threshold_score as {{ double }}) as threshold_score,
        cast(min_score as {{ double }}) as min_score,
        cast(max_score as {{ double }}) as max_score,
        cast(users as {{ dbt.type_bigint() }}) as users,
        cast(converted_users as {{ dbt.type_bigint() }}) as converted_users,
        cast(cast(converted_users as {{ double }}) / nullif(users, 0) as {{ double }}) as conversion_rate,
        {{ activation_wilson_interval('converted_users', 'users', 'conversion_rate', double) }},
        cast(
            (cast(converted_users as {{ double }}) / nullif(users, 0))
            / nullif(cast(total_converted_users as {{ double }}) / nullif(total_users, 0), 0)
            as {{ double }}
        ) as lift,
        cast(cast(users as {{ double }}) / nullif(total_users, 0) as {{ double }}) as share_of_users,
        {{ activation_wilson_interval('users', 'total_users', 'share_of_users', double) }},
        cast(cast(converted_users as {{ double }}) / nullif(total_converted_users, 0) as {{ double }})
            as share_of_conversions,
        {{ activation_wilson_interval('converted_users', 'total_converted_users', 'share_of_conversions', double) }},
        cast(cumulative_users as {{ dbt.type_bigint() }}) as cumulative_users,
        cast(cumulative_converted_users as {{ dbt.type_bigint() }}) as cumulative_converted_users,
        cast(cast(cumulative_converted_users as {{ double }}) / nullif(cumulative_users, 0) as {{ double }})
            as precision_at_threshold,
        {{ activation_wilson_interval(
            'cumulative_converted_users', 'cumulative_users', 'precision_at_threshold', double
        ) }},
        cast(cast(cumulative_converted_users as {{ double }}) / nullif(total_converted_users, 0) as {{ double }})
            as recall_at_threshold,
        {{ activation_wilson_interval(
            'cumulative_converted_users', 'total_converted_users', 'recall_at_threshold', double
        ) }}

    from cumulative

)

select * from final
