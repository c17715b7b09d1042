{#- Time to each milestone as survival data, one row per usable user x milestone for
    users created on or before as_of: whole days from signup to the first reach (an
    event), or to as_of when the milestone is not reached (censored). Users created
    after as_of have no time at risk and are left out. -#}
{{ config(enabled=activation_var('activation_statistics_enabled')) }}

with

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

final as (

    select
        user_id,
        milestone_id,
        cast(floor(
            case
                when is_reached then time_to_reach_seconds
                else {{ activation_seconds_between('user_created_at', 'as_of') }}
            end / 86400.0
        ) as {{ dbt.type_int() }}) as duration_days,
        is_reached as is_event

    from user_milestones
    where user_created_at <= as_of

)

select * from final
