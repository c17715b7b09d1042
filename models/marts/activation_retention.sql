{#- Retention by activation cohort (SPEC §6): activated users with an activity event in
    (activated_at, activated_at + n days], n = 7 and 30, among users whose window has
    closed (activated_at + n days <= as_of). -#}

with

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

windows as (

    select 7 as window_days
    union all
    select 30 as window_days

),

activated as (

    select
        cast({{ dbt.date_trunc(activation_var('activation_cohort_grain'), 'users.activated_at') }} as date)
            as activation_cohort_date,
        windows.window_days,
        {{ activation_dateadd('day', 'windows.window_days', 'users.activated_at') }} <= users.as_of as is_eligible,
        case
            when windows.window_days = 7 then engagement.is_retained_d7
            else engagement.is_retained_d30
        end as is_retained,
        users.as_of

    from users
    inner join engagement
        on users.user_id = engagement.user_id
    cross join windows
    where users.is_activated

),

counted as (

    select
        activation_cohort_date,
        window_days,
        count(*) as activated_users,
        count(case when is_eligible then 1 end) as eligible_users,
        count(case when is_eligible and is_retained then 1 end) as retained_users,
        max(as_of) as as_of

    from activated
    group by activation_cohort_date, window_days

),

final as (

    select
        activation_cohort_date,
        window_days,
        activated_users,
        eligible_users,
        retained_users,
        cast(retained_users as {{ activation_type_double() }}) / nullif(eligible_users, 0) as retention_rate,
        {{ activation_wilson_interval('retained_users', 'eligible_users', 'retention_rate') }},
        eligible_users = activated_users as is_mature,
        as_of

    from counted

)

select * from final
