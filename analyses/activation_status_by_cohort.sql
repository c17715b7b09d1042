{#- Starting point for a dashboard: users, activation rate and status mix per cohort.
    Compile with `dbt compile --select activation_status_by_cohort`. -#}

with

users as (

    select * from {{ ref('activation_users') }}

),

final as (

    select
        cohort_date,
        count(*) as cohort_users,
        sum(case when is_activated then 1 else 0 end) as activated_users,
        avg(case when is_activated then 1.0 else 0.0 end) as activation_rate,
        sum(case when status = 'pql' then 1 else 0 end) as pql_users,
        avg(time_to_first_value_hours) as avg_hours_to_first_value

    from users
    group by cohort_date

)

select * from final
order by cohort_date
