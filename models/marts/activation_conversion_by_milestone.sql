{#- Conversion to paid by milestone cohort (SPEC §6): users grouped by the highest level
    they reached within timeframe (0 = none) and the share of each group that converted. -#}

with

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

grouped as (

    select
        coalesce(users.highest_level_reached, 0) as highest_level_reached,
        count(*) as users,
        count(case when engagement.is_converted_to_paid then 1 end) as converted_users

    from users
    inner join engagement
        on users.user_id = engagement.user_id
    group by coalesce(users.highest_level_reached, 0)

),

final as (

    select
        grouped.highest_level_reached,
        grouped.users,
        grouped.converted_users,
        cast(grouped.converted_users as {{ activation_type_double() }}) / nullif(grouped.users, 0) as conversion_rate,
        cast(grouped.users as {{ activation_type_double() }}) / sum(grouped.users) over () as share_of_users,
        as_of.as_of_at as as_of

    from grouped
    cross join as_of

)

select * from final
