{#- Usable users: one row per user_id, quarantined rows removed. -#}

with

users as (

    select * from {{ ref('stg_activation__users') }}

),

final as (

    select
        user_id,
        account_id,
        created_at,
        plan_tier,
        install_source,
        inviter_user_id,
        {% for column_name in var('activation_user_passthrough_columns', []) -%}
        {{ column_name }},
        {% endfor -%}
        inviter_user_id is not null as is_invited_signup

    from users
    where quarantine_reason is null

)

select * from final
