{#- One row per milestone and segment group (every dimension value with a usable user,
    plus `all`): users in the Kaplan-Meier curve, how many reached the milestone or were
    censored, users created after as_of (left out of the curve) and the median time to
    the milestone. The median is the first curve day with survival at most 0.5; the
    1e-12 allowance keeps a survival of exactly one half (such as 3/6) on its own day
    when the logs round it to 0.5000000000000001.

    Beside the median (SPEC §11):
    - its 95% interval as lifelines' `median_survival_times(confidence_interval_)`: the
      first curve day whose lower (upper) survival bound is at most one half; a null
      upper bound is unbounded (the upper curve stays above one half);
    - the restricted mean survival time to the milestone's timeframe, the area under
      the survival step function from day 0 to the horizon (lifelines
      `restricted_mean_survival_time`), in days;
    - for each group that enters its dimension's log-rank test (the included groups,
      when there are 2 to `activation_stats_max_groups` of them and they have an
      event), the log-rank observed and expected events (sum over event days of
      d_t n_gt / n_t, pooled over the tested groups, as R's `survdiff`) and their ratio. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}
{%- set dimensions = ['install_source', 'plan_tier', 'signup_type']
    + activation_var('activation_user_passthrough_columns') -%}
{%- set min_group_size = activation_var('activation_stats_min_group_size') -%}
{%- set double = activation_type_double() -%}

with

curve as (

    select * from {{ ref('activation_time_to_milestone') }}

),

users as (

    select * from {{ ref('int_activation__users') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

user_groups as (

    select
        user_id,
        created_at,
        'all' as segment_dimension,
        'all' as segment_value
    from users
    {%- for dimension in dimensions %}
    union all
    select
        user_id,
        created_at,
        {{ activation_string_literal(dimension) }} as segment_dimension,
        coalesce(cast({{ dimension }} as {{ dbt.type_string() }}), '(none)') as segment_value
    from users
    {%- endfor %}

),

segment_groups as (

    select
        user_groups.segment_dimension,
        user_groups.segment_value,
        count(case when user_groups.created_at > as_of.as_of_at then 1 end) as users_created_after_as_of

    from user_groups
    cross join as_of
    group by user_groups.segment_dimension, user_groups.segment_value

),

curve_steps as (

    {#- Each curve day with the next one: the survival of a day holds until the next
        curve day, the last day's until the horizon. #}
    select
        curve.*,
        milestones.timeframe_seconds / 86400.0 as horizon_days,
        lead(curve.day) over (
            partition by curve.milestone_id, curve.segment_dimension, curve.segment_value
            order by curve.day
        ) as next_day

    from curve
    inner join milestones
        on curve.milestone_id = milestones.milestone_id

),

curve_totals as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        sum(events + censored) as users,
        sum(events) as reached_users,
        sum(censored) as censored_users,
        min(case when survival <= 0.5 + 1e-12 then day end) as median_days,
        min(case when survival_ci_lower <= 0.5 then day end) as median_days_ci_lower,
        min(case when survival_ci_upper <= 0.5 then day end) as median_days_ci_upper,
        {#- Survival is 1 before the first curve day; each step is cut at the horizon. #}
        least(min(day), max(horizon_days))
        + sum(
            (least(coalesce(next_day, horizon_days), horizon_days) - least(day, horizon_days)) * survival
        ) as rmst_days

    from curve_steps
    group by milestone_id, segment_dimension, segment_value

),

included_groups as (

    select
        milestone_id,
        segment_dimension,
        segment_value,
        reached_users,
        count(*) over (partition by milestone_id, segment_dimension) as groups_included,
        sum(reached_users) over (partition by milestone_id, segment_dimension) as events_included

    from curve_totals
    where segment_dimension != 'all' and users >= {{ min_group_size }}

),

tested_groups as (

    {#- The groups of a log-rank test that runs (activation_time_to_milestone_tests). #}
    select * from included_groups
    where groups_included between 2 and {{ activation_var('activation_stats_max_groups') }} and events_included > 0

),

tested_days as (

    {#- Events and users leaving per day, pooled over a test's groups. #}
    select
        curve.milestone_id,
        curve.segment_dimension,
        curve.day,
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

tested_days_at_risk as (

    select
        *,
        sum(removed) over (
            partition by milestone_id, segment_dimension
            order by day desc
            rows between unbounded preceding and current row
        ) as at_risk

    from tested_days

),

group_days as (

    {#- Every pooled day for every tested group, with the group's own users leaving. #}
    select
        tested_groups.milestone_id,
        tested_groups.segment_dimension,
        tested_groups.segment_value,
        tested_days_at_risk.day,
        tested_days_at_risk.events,
        tested_days_at_risk.at_risk,
        coalesce(curve.events + curve.censored, 0) as group_removed

    from tested_groups
    inner join tested_days_at_risk
        on
            tested_groups.milestone_id = tested_days_at_risk.milestone_id
            and tested_groups.segment_dimension = tested_days_at_risk.segment_dimension
    left join curve
        on
            tested_groups.milestone_id = curve.milestone_id
            and tested_groups.segment_dimension = curve.segment_dimension
            and tested_groups.segment_value = curve.segment_value
            and tested_days_at_risk.day = curve.day

),

group_days_at_risk as (

    select
        *,
        sum(group_removed) over (
            partition by milestone_id, segment_dimension, segment_value
            order by day desc
            rows between unbounded preceding and current row
        ) as group_at_risk

    from group_days

),

log_rank_groups as (

    select
        group_days_at_risk.milestone_id,
        group_days_at_risk.segment_dimension,
        group_days_at_risk.segment_value,
        max(tested_groups.reached_users) as logrank_observed,
        sum(
            cast(group_days_at_risk.events as {{ double }}) * group_days_at_risk.group_at_risk
            / group_days_at_risk.at_risk
        ) as logrank_expected

    from group_days_at_risk
    inner join tested_groups
        on
            group_days_at_risk.milestone_id = tested_groups.milestone_id
            and group_days_at_risk.segment_dimension = tested_groups.segment_dimension
            and group_days_at_risk.segment_value = tested_groups.segment_value
    group by
        group_days_at_risk.milestone_id,
        group_days_at_risk.segment_dimension,
        group_days_at_risk.segment_value

),

final as (

    select
        milestones.milestone_id,
        segment_groups.segment_dimension,
        segment_groups.segment_value,
        cast(coalesce(curve_totals.users, 0) as {{ dbt.type_bigint() }}) as users,
        cast(coalesce(curve_totals.reached_users, 0) as {{ dbt.type_bigint() }}) as reached_users,
        cast(coalesce(curve_totals.censored_users, 0) as {{ dbt.type_bigint() }}) as censored_users,
        cast(segment_groups.users_created_after_as_of as {{ dbt.type_bigint() }}) as users_created_after_as_of,
        curve_totals.median_days,
        case when curve_totals.median_days is null then 'survival_above_half' end as median_null_reason,
        curve_totals.median_days_ci_lower,
        curve_totals.median_days_ci_upper,
        cast(curve_totals.rmst_days as {{ double }}) as rmst_days,
        cast(milestones.timeframe_seconds / 86400.0 as {{ double }}) as rmst_horizon_days,
        cast(log_rank_groups.logrank_observed as {{ dbt.type_bigint() }}) as logrank_observed,
        cast(log_rank_groups.logrank_expected as {{ double }}) as logrank_expected,
        cast(
            cast(log_rank_groups.logrank_observed as {{ double }}) / nullif(log_rank_groups.logrank_expected, 0)
            as {{ double }}
        ) as logrank_observed_expected_ratio,
        coalesce(curve_totals.users, 0) >= {{ min_group_size }} as is_included

    from milestones
    cross join segment_groups
    left join curve_totals
        on
            milestones.milestone_id = curve_totals.milestone_id
            and segment_groups.segment_dimension = curve_totals.segment_dimension
            and segment_groups.segment_value = curve_totals.segment_value
    left join log_rank_groups
        on
            milestones.milestone_id = log_rank_groups.milestone_id
            and segment_groups.segment_dimension = log_rank_groups.segment_dimension
            and segment_groups.segment_value = log_rank_groups.segment_value

)

select * from final
