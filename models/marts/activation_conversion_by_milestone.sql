{#- Conversion to paid by milestone cohort (SPEC §6): users grouped by the highest level
    they reached within timeframe (0 = none) and the share of each group that converted. -#}

with

users as (

    select * from {{ ref('int_activation__user_summaries') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

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

with_total as (

    select
        highest_level_reached,
        users,
        converted_users,
        sum(users) over () as all_users

    from grouped

),

final as (

    select
        with_total.highest_level_reached,
        with_total.users,
        with_total.converted_users,
        cast(with_total.converted_users as {{ activation_type_double() }})
        / nullif(with_total.users, 0) as conversion_rate,
        {{ activation_wilson_interval('with_total.converted_users', 'with_total.users', 'conversion_rate') }},
        cast(with_total.users as {{ activation_type_double() }}) / with_total.all_users as share_of_users,
        {{ activation_wilson_interval('with_total.users', 'with_total.all_users', 'share_of_users') }},
        as_of.as_of_at as as_of

    from with_total
    cross join as_of

)

select * from final
