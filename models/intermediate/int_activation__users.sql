{#- Usable users: one row per user_id, quarantined rows removed, with the signup
    cohort (var `activation_cohort_grain`) every cohort mart groups by. -#}

-- depends_on: {{ ref('int_activation__milestones') }}
with

users as (

    select * from {{ ref('stg_activation__users') }}

),

final as (

    select
        user_id,
        account_id,
        created_at,
        cast({{ dbt.date_trunc(activation_var('activation_cohort_grain'), 'created_at') }} as date) as cohort_date,
        plan_tier,
        install_source,
        inviter_user_id,
        {% for column_name in activation_var('activation_user_passthrough_columns') -%}
        {{ column_name }},
        {% endfor -%}
        inviter_user_id is not null as is_invited_signup,
        case when inviter_user_id is not null then 'invited' else 'direct' end as signup_type

    from users
    where quarantine_reason is null

)

select * from final
