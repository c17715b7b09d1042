{#- Every raw users row the package could not use, with the reason. -#}

-- depends_on: {{ ref('int_activation__milestones') }}
with

users as (

    select * from {{ ref('stg_activation__users') }}

),

final as (

    select
        user_id,
        account_id,
        created_at_raw,
        created_at,
        plan_tier,
        install_source,
        quarantine_reason

    from users
    where quarantine_reason is not null

)

select * from final
