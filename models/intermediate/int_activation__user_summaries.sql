{#- Per-user status: progress through the milestones, activation, time to first value,
    activation score and status band. The mart activation_users and the BI marts read it. -#}
{%- set passthrough_columns = activation_var('activation_user_passthrough_columns') -%}
{%- set score_basis = activation_var('activation_status_score_basis') -%}
{%- set bands = activation_var('activation_status_bands') -%}

with

users as (

    select * from {{ ref('int_activation__users') }}

),

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

user_milestones as (

    select * from {{ ref('int_activation__user_milestones') }}

),

as_of as (

    select * from {{ ref('int_activation__as_of') }}

),

milestone_summary as (

    select sum(milestone_weight) as total_weight
    from milestones

),

activation_milestones as (

    select milestone_id
    from milestones
    where counts_for_activation

),

first_value_milestone as (

    select milestone_id
    from milestones
    where is_first_value_milestone

),

progress as (

    select
        user_milestones.user_id,
        cast(
            sum(case when user_milestones.is_within_timeframe then 1 else 0 end) as {{ dbt.type_int() }}
        ) as milestones_reached,
        cast(
            sum(case when user_milestones.is_late then 1 else 0 end) as {{ dbt.type_int() }}
        ) as milestones_reached_late,
        max(case when user_milestones.is_within_timeframe then user_milestones.milestone_level end)
            as highest_level_reached,
        sum(case when user_milestones.is_within_timeframe then user_milestones.milestone_weight else 0 end)
            as activation_score,
        count(activation_milestones.milestone_id) as activation_milestone_count,
        sum(
            case
                when
                    activation_milestones.milestone_id is not null and user_milestones.is_within_timeframe
                    then 1
                else 0
            end
        ) as activation_milestones_reached,
        max(case when activation_milestones.milestone_id is not null then user_milestones.reached_at end)
            as latest_activation_reached_at,
        max(case when first_value_milestone.milestone_id is not null then user_milestones.milestone_id end)
            as first_value_milestone_id,
        max(case when first_value_milestone.milestone_id is not null then user_milestones.reached_at end)
            as first_value_at

    from user_milestones
    left join activation_milestones
        on user_milestones.milestone_id = activation_milestones.milestone_id
    left join first_value_milestone
        on user_milestones.milestone_id = first_value_milestone.milestone_id
    group by 1

),

scored as (

    select
        users.*,
        coalesce(progress.milestones_reached, 0) as milestones_reached,
        coalesce(progress.milestones_reached_late, 0) as milestones_reached_late,
        progress.highest_level_reached,
        coalesce(
            progress.activation_milestone_count > 0
            and progress.activation_milestones_reached = progress.activation_milestone_count,
            false
        ) as is_activated,
        progress.latest_activation_reached_at,
        progress.first_value_milestone_id,
        progress.first_value_at,
        coalesce(progress.activation_score, 0) as activation_score,
        case
            when milestone_summary.total_weight > 0
                then 100.0 * coalesce(progress.activation_score, 0) / milestone_summary.total_weight
        end as activation_score_pct,
        as_of.as_of_at as as_of

    from users
    cross join milestone_summary
    cross join as_of
    left join progress
        on users.user_id = progress.user_id

),

final as (

    select
        user_id,
        account_id,
        created_at,
        cohort_date,
        plan_tier,
        install_source,
        inviter_user_id,
        is_invited_signup,
        signup_type,
        {% for column_name in passthrough_columns -%}
        {{ column_name }},
        {% endfor -%}
        milestones_reached,
        milestones_reached_late,
        highest_level_reached,
        is_activated,
        case when is_activated then latest_activation_reached_at end as activated_at,
        first_value_milestone_id,
        first_value_at,
        {{ activation_seconds_between('created_at', 'first_value_at') }} as time_to_first_value_seconds,
        {{ activation_seconds_between('created_at', 'first_value_at') }} / 3600.0 as time_to_first_value_hours,
        activation_score,
        activation_score_pct,
        {%- set basis_column = 'activation_score_pct' if score_basis == 'pct' else 'activation_score' %}
        {{ activation_band_label(basis_column, bands, 'status') }} as status,
        {{ activation_band_label(basis_column, bands, 'action') }} as status_action,
        as_of

    from scored

)

select * from final
