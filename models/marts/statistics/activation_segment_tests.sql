{#- Chi-square test of independence of milestone completion across the values of each
    segment dimension (SPEC §7), on the included groups of `activation_segment_comparison`:
    the table of (completed, not completed) users per group, no continuity correction
    (scipy `chi2_contingency(table, correction=False)`). The statistic is the sum over
    cells of (observed - expected)^2 / expected, with the expected completions the
    comparison rows carry. Null with a reason when the table cannot be tested.

    Effect size (SPEC §11): Cramér's V = sqrt(chi_square / (n (min(rows, columns) - 1))),
    sqrt(chi_square / n) for this table of two columns (scipy
    `contingency.association(table, method='cramer', correction=False)`), with the
    smallest expected cell count and a flag when it is below 5 (the chi-square
    approximation is then rough). -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set max_groups = activation_var('activation_stats_max_groups') -%}

with

comparison as (

    select * from {{ ref('activation_segment_comparison') }}

),

cells as (

    select
        milestone_id,
        segment_dimension,
        is_included,
        eligible_users,
        completed_users,
        {#- Both cells of the group's row: completed and not completed. #}
        (completed_users - expected_completed_users) * (completed_users - expected_completed_users)
        / nullif(expected_completed_users, 0)
        + (not_completed_users - (eligible_users - expected_completed_users))
        * (not_completed_users - (eligible_users - expected_completed_users))
        / nullif(eligible_users - expected_completed_users, 0) as chi_square_term,
        {#- Set only on the included groups of a table with a statistic. #}
        case
            when expected_completed_users < eligible_users - expected_completed_users
                then expected_completed_users
            else eligible_users - expected_completed_users
        end as min_expected_cell

    from comparison

),

grouped as (

    select
        milestone_id,
        segment_dimension,
        count(*) as groups_total,
        count(case when is_included then 1 end) as groups_included,
        cast(coalesce(sum(case when is_included then eligible_users end), 0) as {{ dbt.type_bigint() }})
            as eligible_users_included,
        cast(coalesce(sum(case when is_included then completed_users end), 0) as {{ dbt.type_bigint() }})
            as completed_users_included,
        sum(chi_square_term) as chi_square_sum,
        min(case when is_included then min_expected_cell end) as min_expected_count

    from cells
    group by milestone_id, segment_dimension

),

with_reasons as (

    select
        *,
        case
            when groups_included < 2 then 'fewer_than_two_groups'
            when groups_included > {{ max_groups }} then 'too_many_groups'
            when completed_users_included = 0 or completed_users_included = eligible_users_included
                then 'no_variation'
        end as null_reason

    from grouped

),

test_statistics as (

    select
        milestone_id,
        segment_dimension,
        groups_total,
        groups_included,
        groups_total - groups_included as groups_excluded,
        eligible_users_included,
        completed_users_included,
        null_reason,
        case when null_reason is null then chi_square_sum end as chi_square,
        case when null_reason is null then min_expected_count end as min_expected_count,
        case when null_reason is null then cast(groups_included - 1 as {{ dbt.type_int() }}) end
            as degrees_of_freedom

    from with_reasons

),

with_p_values as (

    select
        milestone_id,
        segment_dimension,
        groups_total,
        groups_included,
        groups_excluded,
        eligible_users_included,
        completed_users_included,
        cast(chi_square as {{ activation_type_double() }}) as chi_square,
        degrees_of_freedom,
        cast(
            {{ activation_chi_square_p_value('chi_square', 'degrees_of_freedom', max_df=[max_groups - 1, 2] | max) }}
            as {{ activation_type_double() }}
        ) as p_value,
        cast(sqrt(chi_square / eligible_users_included) as {{ activation_type_double() }}) as cramers_v,
        cast(min_expected_count as {{ activation_type_double() }}) as min_expected_count,
        min_expected_count < 5 as is_expected_below_5,
        null_reason

    from test_statistics

),

{#- Benjamini-Hochberg q-values across the p-values of this mart (SPEC §11). #}
{{ activation_bh_q_values('with_p_values', ['milestone_id', 'segment_dimension'], ['p_value'], ['q_value']) }}

select * from with_p_values__with_q_values
