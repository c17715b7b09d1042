{#- Viral coefficient per signup cohort (SPEC §6): (invites sent / cohort users) x
    (invited signups / invites sent). Invited signups are users whose inviter belongs to
    the cohort. Both factors and the counts behind them are kept for BI. -#}
{%- set double = activation_type_double() -%}

with

users as (

    select * from {{ ref('int_activation__users') }}

),

engagement as (

    select * from {{ ref('int_activation__user_engagement') }}
    where user_id != ''

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

cohorts as (

    select
        users.cohort_date,
        count(*) as cohort_users,
        count(case when engagement.invites_sent > 0 then 1 end) as inviting_users,
        cast(sum(engagement.invites_sent) as {{ dbt.type_bigint() }}) as invites_sent,
        cast(sum(engagement.invited_signups) as {{ dbt.type_bigint() }}) as invited_signups

    from users
    inner join engagement
        on users.user_id = engagement.user_id
    group by users.cohort_date

),

final as (

    select
        cohorts.cohort_date,
        cohorts.cohort_users,
        cohorts.inviting_users,
        cohorts.invites_sent,
        cohorts.invited_signups,
        cast(cohorts.invites_sent as {{ double }}) / nullif(cohorts.cohort_users, 0) as invites_per_user,
        cast(cohorts.invited_signups as {{ double }}) / nullif(cohorts.invites_sent, 0) as invite_acceptance_rate,
        (cast(cohorts.invites_sent as {{ double }}) / nullif(cohorts.cohort_users, 0))
        * (cast(cohorts.invited_signups as {{ double }}) / nullif(cohorts.invites_sent, 0)) as viral_coefficient,
        as_of.as_of_at as as_of

    from cohorts
    cross join as_of

)

select * from final
