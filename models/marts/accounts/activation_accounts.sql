{#- One row per account (SPEC §10): its users (staged users with this account_id created
    on or before as_of), how many are activated, and whether the account is activated
    by the rule of var `activation_account_activation_rule`, with the time the rule was
    first met (`int_activation__account_goals`). The account's signup cohort is its
    first user's. -#}
{{ config(enabled=activation_var('activation_accounts_enabled')) }}

with

account_goals as (

    select * from {{ ref('int_activation__account_goals') }}
    where goal_type = 'activation'

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

final as (

    select
        account_goals.account_id,
        account_goals.account_created_at,
        cast(
            {{ dbt.date_trunc(activation_var('activation_cohort_grain'), 'account_goals.account_created_at') }} as date
        ) as cohort_date,
        cast(account_goals.members as {{ dbt.type_bigint() }}) as users,
        cast(account_goals.achievers as {{ dbt.type_bigint() }}) as activated_users,
        cast(
            cast(account_goals.achievers as {{ activation_type_double() }}) / account_goals.members
            as {{ activation_type_double() }}
        ) as activated_user_share,
        {{ activation_wilson_interval(
            'account_goals.achievers', 'account_goals.members', 'activated_user_share', activation_type_double()
        ) }},
        account_goals.met_at is not null as is_activated,
        account_goals.met_at as activated_at,
        {{ activation_string_literal(activation_var('activation_account_activation_rule')) }} as activation_rule,
        as_of.as_of_at as as_of

    from account_goals
    cross join as_of

)

select * from final
