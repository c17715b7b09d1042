{#- The "Tracking Progress of Key KPIs" table for the latest complete period:
    value, target, change from the previous period and status per KPI. -#}

with

kpis as (

    select * from {{ ref('activation_kpis') }}

),

latest_period as (

    {#- The latest period strictly before the one as_of falls in (that one is partial). #}
    select max(period_start) as period_start
    from kpis
    where period_start < (select max(all_periods.period_start) from kpis as all_periods)

),

final as (

    select
        kpis.kpi_label,
        kpis.value,
        kpis.target_value,
        kpis.change_from_previous,
        kpis.status,
        kpis.numerator,
        kpis.denominator

    from kpis
    inner join latest_period
        on kpis.period_start = latest_period.period_start

)

select * from final
order by kpi_label
