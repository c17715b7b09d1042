{#- k-group log-rank test of the time to each milestone across the included values of
    each segment dimension (lifelines' multivariate_logrank_test). Per day t with events,
    over the included groups: n_t, d_t at risk and events of all groups, n_gt, d_gt of
    group g;
        u_g  = sum_t (d_gt - d_t n_gt / n_t)
        V_gh = sum_{t: n_t > 1} d_t (n_t - d_t) / (n_t - 1) (n_gt / n_t) (delta_gh - n_ht / n_t)
    statistic = u' V^-1 u over groups 1..k-1, numbered by segment_value (any k-1 of the
    k groups give the same value), chi-square with k - 1 degrees of freedom.
    Groups are pivoted into columns 1 .. max_groups - 1 (the last group enters only the
    totals) and the system is solved by the elimination `activation_quadratic_form`
    unrolls at compile time; positions past a test's own k - 1 groups hold the identity. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set max_groups = activation_var('activation_stats_max_groups') -%}
{%- set size = [max_groups - 1, 0] | max -%}
{%- set double = activation_type_double() -%}
{%- set pairs = [] -%}
{%- for g in range(1, size + 1) -%}
{%- for h in range(g, size + 1) -%}
{%- do pairs.append((g, h)) -%}
{%- endfor -%}
{%- endfor -%}

with

curve as (

    select * from {{ ref('activation_time_to_milestone') }}

),

summary as (

    select * from {{ ref('activation_time_to_milestone_summary') }}
    where segment_dimension != 'all'

),

group_counts as (

    select
        milestone_id,
        segment_dimension,
        count(*) as groups_total,
        sum(case when is_included then 1 else 0 end) as groups_included,
        sum(case when is_included then users else 0 end) as users_included,
        sum(case when is_included then reached_users else 0 end) as events_included

    from summary
    group by milestone_id, segment_dimension

),

tested_groups as (

    select
        summary.milestone_id,
        summary.segment_dimension,
        summary.segment_value,
        row_number() over (
            partition by summary.milestone_id, summary.segment_dimension
            order by summary.segment_value
        ) as group_number

    from summary
    inner join group_counts
        on
            summary.milestone_id = group_counts.milestone_id
            and summary.segment_dimension = group_counts.segment_dimension
    where
        summary.is_included
        and group_counts.groups_included between 2 and {{ max_groups }}
        and group_counts.events_included > 0

),

day_counts as (

    select
        curve.milestone_id,
        curve.segment_dimension,
        curve.day,
        {%- for g in range(1, size + 1) %}
        sum(case when tested_groups.group_number = {{ g }} then curve.events else 0 end) as events_{{ g }},
        sum(case when tested_groups.group_number = {{ g }} then curve.events + curve.censored else 0 end)
            as removed_{{ g }},
        {%- endfor %}
        sum(curve.events) as events,
        sum(curve.events + curve.censored) as removed

    from curve
    inner join tested_groups
        on
            curve.milestone_id = tested_groups.milestone_id
            and curve.segment_dimension = tested_groups.segment_dimension
            and curve.segment_value = tested_groups.segment_value
    group by curve.milestone_id, curve.segment_dimension, curve.day

),

day_at_risk as (

    select
        milestone_id,
        segment_dimension,
        day,
        {%- for g in range(1, size + 1) %}
        cast(events_{{ g }} as {{ double }}) as events_{{ g }},
        cast(sum(removed_{{ g }}) over (
            partition by milestone_id, segment_dimension
            order by day desc
            rows between unbounded preceding and current row
        ) as {{ double }}) as at_risk_{{ g }},
        {%- endfor %}
        cast(events as {{ double }}) as events,
        cast(sum(removed) over (
            partition by milestone_id, segment_dimension
            order by day desc
            rows between unbounded preceding and current row
        ) as {{ double }}) as at_risk

    from day_counts

),

day_terms as (

    {#- Only days with events contribute to u and V. #}
    select
        {%- for g in range(1, size + 1) %}
        events_{{ g }} - events * at_risk_{{ g }} / at_risk as u_term_{{ g }},
        {%- endfor %}
        {%- for g, h in pairs %}
        case
            when at_risk > 1
                then
                    events * (at_risk - events) / (at_risk - 1.0) * (at_risk_{{ g }} / at_risk)
                    * ({{ '1.0' if g == h else '0.0' }} - at_risk_{{ h }} / at_risk)
            else 0.0
        end as v_term_{{ g }}_{{ h }},
        {%- endfor %}
        milestone_id,
        segment_dimension

    from day_at_risk
    where events > 0

),

variance_sums as (

    select
        {%- for g in range(1, size + 1) %}
        sum(u_term_{{ g }}) as u_{{ g }},
        {%- endfor %}
        {%- for g, h in pairs %}
        sum(v_term_{{ g }}_{{ h }}) as v_{{ g }}_{{ h }},
        {%- endfor %}
        milestone_id,
        segment_dimension

    from day_terms
    group by milestone_id, segment_dimension

),

variance_systems as (

    {#- Groups 1..k-1 of a test with k groups keep their sums; the positions after them
        hold the identity, which leaves the quadratic form unchanged. #}
    select
        {%- for g in range(1, size + 1) %}
        case when group_counts.groups_included > {{ g }} then variance_sums.u_{{ g }} else 0.0 end as u_{{ g }},
        {%- endfor %}
        {%- for g, h in pairs %}
        case
            when group_counts.groups_included > {{ h }} then variance_sums.v_{{ g }}_{{ h }}
            else {{ '1.0' if g == h else '0.0' }}
        end as v_{{ g }}_{{ h }},
        {%- endfor %}
        variance_sums.milestone_id,
        variance_sums.segment_dimension

    from variance_sums
    inner join group_counts
        on
            variance_sums.milestone_id = group_counts.milestone_id
            and variance_sums.segment_dimension = group_counts.segment_dimension

),

{{ activation_quadratic_form('variance_systems', 'log_rank', ['milestone_id', 'segment_dimension'], size) }},

tests as (

    select
        group_counts.milestone_id,
        group_counts.segment_dimension,
        group_counts.groups_total,
        group_counts.groups_included,
        group_counts.users_included,
        group_counts.events_included,
        log_rank.quadratic_form,
        case
            when group_counts.groups_included < 2 then 'fewer_than_two_groups'
            when group_counts.groups_included > {{ max_groups }} then 'too_many_groups'
            when group_counts.events_included = 0 then 'no_events'
            when coalesce(log_rank.is_singular, true) then 'singular_variance'
        end as null_reason

    from group_counts
    left join log_rank
        on
            group_counts.milestone_id = log_rank.milestone_id
            and group_counts.segment_dimension = log_rank.segment_dimension

),

statistics as (

    select
        milestone_id,
        segment_dimension,
        groups_total,
        groups_included,
        users_included,
        events_included,
        case when null_reason is null then quadratic_form end as chi_square,
        case when null_reason is null then groups_included - 1 end as degrees_of_freedom,
        null_reason

    from tests

),

with_p_values as (

    select
        milestone_id,
        segment_dimension,
        cast(groups_total as {{ dbt.type_bigint() }}) as groups_total,
        cast(groups_included as {{ dbt.type_bigint() }}) as groups_included,
        cast(users_included as {{ dbt.type_bigint() }}) as users_included,
        cast(events_included as {{ dbt.type_bigint() }}) as events_included,
        cast(chi_square as {{ double }}) as chi_square,
        cast(degrees_of_freedom as {{ dbt.type_int() }}) as degrees_of_freedom,
        cast(
            {{ activation_chi_square_p_value('chi_square', 'degrees_of_freedom', [40, size] | max) }}
            as {{ double }}
        ) as p_value,
        null_reason

    from statistics

),

{#- Benjamini-Hochberg q-values across the p-values of this mart (SPEC §11). #}
{{ activation_bh_q_values('with_p_values', ['milestone_id', 'segment_dimension'], ['p_value'], ['q_value']) }}

select * from with_p_values__with_q_values
