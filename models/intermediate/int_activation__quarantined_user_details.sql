{#- The quarantined users rows with their raw values (created_at text as received,
    plan, channel, inviter), for debugging why a row was rejected. It lives in the
    staging schema on purpose: the marts schema BI tools read gets only ids, reasons
    and dates (activation_quarantined_users, which reads this model). -#}

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
        inviter_user_id,
        quarantine_reason

    from users
    where quarantine_reason is not null

)

select * from final
