{#- Every requirement the engine evaluates, one row each. A milestone without
    requirement rows gets the implicit one (path 1, triggered_by_event, min_count 1).
    Identical rows collapse into one requirement. `requirement_signature_id` groups
    requirements that qualify the same events (same name and property filter), so
    each user's events are ranked once per signature, not once per milestone. -#}

with

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

requirements as (

    select * from {{ ref('stg_activation__milestone_requirements') }}

),

explicit_requirements as (

    select distinct
        requirements.milestone_id,
        requirements.path_id,
        requirements.event_name,
        requirements.min_count,
        requirements.property_key,
        requirements.property_value

    from requirements

),

implicit_requirements as (

    select
        milestones.milestone_id,
        1 as path_id,
        milestones.triggered_by_event as event_name,
        1 as min_count,
        cast(null as {{ dbt.type_string() }}) as property_key,
        cast(null as {{ dbt.type_string() }}) as property_value

    from milestones
    where not exists (
        select 1
        from explicit_requirements
        where explicit_requirements.milestone_id = milestones.milestone_id
    )

),

unioned as (

    select * from explicit_requirements
    union all
    select * from implicit_requirements

),

keyed as (

    select
        *,
        milestone_id
        || '|' || cast(path_id as {{ dbt.type_string() }})
        || '|' || event_name
        || '|' || cast(min_count as {{ dbt.type_string() }})
        || '|' || coalesce(property_key, '')
        || '|' || coalesce(property_value, '') as requirement_key

    from unioned

),

final as (

    select
        {{ dbt.hash('requirement_key') }} as requirement_id,
        milestone_id,
        path_id,
        event_name,
        min_count,
        property_key,
        property_value,
        dense_rank() over (
            order by event_name, coalesce(property_key, ''), coalesce(property_value, '')
        ) as requirement_signature_id,
        count(*) over (partition by milestone_id, path_id) as path_requirement_count

    from keyed

)

select * from final
