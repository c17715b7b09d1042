{#- Every raw users row the package could not use, with the reason. Ids, reasons and
    dates only: the raw values of a rejected row (created_at text as received, plan,
    channel) stay in int_activation__quarantined_user_details in the staging schema,
    out of the schema BI tools read. -#}

-- depends_on: {{ ref('int_activation__milestones') }}
with

details as (

    select * from {{ ref('int_activation__quarantined_user_details') }}

),

final as (

    select
        user_id,
        account_id,
        created_at,
        quarantine_reason

    from details

)

select * from final
