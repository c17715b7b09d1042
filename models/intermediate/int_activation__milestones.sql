{#- Validated milestone configuration, one row per milestone, with the timeframe in
    seconds and the roles every downstream model shares: whether the milestone counts
    for activation and whether it is the first-value milestone. Compiling this model checks the whole configuration and fails the build
    with a message naming each bad milestone and the fix. -#}
{#- First value: the configured milestone, else the lowest level (first id on ties). -#}
{#- Every var of the package is checked first (macros/activation_var.sql). -#}
{%- do activation_validate_vars() -%}
{%- set first_value = activation_var('activation_first_value_milestone') -%}
{%- set first_value_expression = "milestone_id = " ~ activation_string_literal(first_value) if first_value is not none
    else "row_number() over (order by milestone_level, milestone_id) = 1" -%}
{%- do activation_validate_milestone_config(
    ref('stg_activation__milestones'),
    ref('stg_activation__milestone_requirements')
) -%}

with

milestones as (

    select * from {{ ref('stg_activation__milestones') }}

),

final as (

    select
        milestone_id,
        milestone_definition,
        milestone_level,
        milestone_weight,
        is_activation_milestone,
        requires_milestone_id,
        triggered_by_event,
        coalesce(timeframe, cast(timeframe_days as {{ dbt.type_string() }}) || 'd') as timeframe,
        case
            when timeframe is null then timeframe_days * 86400
            when right(timeframe, 1) = 'h'
                then cast(left(timeframe, length(timeframe) - 1) as {{ dbt.type_int() }}) * 3600
            else cast(left(timeframe, length(timeframe) - 1) as {{ dbt.type_int() }}) * 86400
        end as timeframe_seconds,
        {#- Activation: the flagged milestones, or the highest level when none is flagged. #}
        is_activation_milestone
        or (
            count(case when is_activation_milestone then 1 end) over () = 0
            and milestone_level = max(milestone_level) over ()
        ) as counts_for_activation,
        {{ first_value_expression }} as is_first_value_milestone

    from milestones

)

select * from final
