{#- Per account cohort, goal (account activation and each milestone) and window (7, 30
    and 90 days of 24 h after the account's first signup): the share of accounts that
    met the goal, by the rule of var `activation_account_activation_rule`, within the
    window. Censored like the users' cohort completion (SPEC §6): an account counts in
    a window's denominator only once account_created_at + window <= as_of. -#}
{{ config(enabled=activation_var('activation_accounts_enabled')) }}
{%- set double = activation_type_double() -%}

with

account_goals as (

    select * from {{ ref('int_activation__account_goals') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

windows as (

    select
        'd7' as window_name,
        7 as window_days
    union all
    select
        'd30' as window_name,
        30 as window_days
    union all
    select
        'd90' as window_name,
        90 as window_days

),

account_windows as (

    select
        cast(
            {{ dbt.date_trunc(activation_var('activation_cohort_grain'), 'account_goals.account_created_at') }} as date
        ) as cohort_date,
        account_goals.goal_type,
        account_goals.goal_id,
        account_goals.milestone_level,
        windows.window_name,
        windows.window_days,
        account_goals.met_at,
        as_of.as_of_at,
        {{ activation_dateadd('second', 'windows.window_days * 86400', 'account_goals.account_created_at') }}
            as window_end_at

    from account_goals
    cross join windows
    cross join as_of

),

counted as (

    select
        cohort_date,
        goal_type,
        goal_id,
        max(milestone_level) as milestone_level,
        window_name,
        max(window_days) as window_days,
        count(*) as cohort_accounts,
        count(case when window_end_at <= as_of_at then 1 end) as eligible_accounts,
        count(case when window_end_at <= as_of_at and met_at <= window_end_at then 1 end) as completed_accounts,
        max(as_of_at) as as_of

    from account_windows
    group by cohort_date, goal_type, goal_id, window_name

),

final as (

    select
        cohort_date,
        goal_type,
        goal_id,
        cast(milestone_level as {{ dbt.type_int() }}) as milestone_level,
        window_name,
        cast(window_days as {{ dbt.type_int() }}) as window_days,
        cast(cohort_accounts as {{ dbt.type_bigint() }}) as cohort_accounts,
        cast(eligible_accounts as {{ dbt.type_bigint() }}) as eligible_accounts,
        cast(completed_accounts as {{ dbt.type_bigint() }}) as completed_accounts,
        cast(cast(completed_accounts as {{ double }}) / nullif(eligible_accounts, 0) as {{ double }})
            as completion_rate,
        {{ activation_wilson_interval('completed_accounts', 'eligible_accounts', 'completion_rate', double) }},
        eligible_accounts = cohort_accounts as is_mature,
        as_of

    from counted

)

select * from final
