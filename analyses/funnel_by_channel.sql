{#- Funnel by acquisition channel over all mature cohorts: entered, completed and
    drop-off per step, re-aggregated from the additive counts of activation_funnel. -#}

with

funnel as (

    select * from {{ ref('activation_funnel') }}

),

final as (

    select
        breakdown_value as install_source,
        step_number,
        milestone_id,
        sum(cohort_users) as cohort_users,
        sum(entered_users) as entered_users,
        sum(completed_users) as completed_users,
        1.0 * (sum(entered_users) - sum(completed_users)) / nullif(sum(entered_users), 0) as drop_off_rate,
        1.0 * sum(completed_users) / nullif(sum(cohort_users), 0) as conversion_from_start

    from funnel
    where breakdown_dimension = 'install_source'
    group by breakdown_value, step_number, milestone_id

)

select * from final
order by install_source, step_number
