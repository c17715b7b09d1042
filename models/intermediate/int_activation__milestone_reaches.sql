{#- When each user reached each milestone, timeframe not applied (SPEC §3): a path is
    reached when all its requirements are (the latest of their times), a milestone at
    its earliest path, and a gated milestone only once its whole gate chain is, at the
    latest of those times. One row per user and milestone reached. -#}

with

requirement_reaches as (

    select * from {{ ref('int_activation__requirement_reaches') }}

),

requirements as (

    select * from {{ ref('int_activation__milestone_requirements') }}

),

gate_chains as (

    select * from {{ ref('int_activation__milestone_gate_chains') }}

),

path_sizes as (

    select distinct
        milestone_id,
        path_id,
        path_requirement_count

    from requirements

),

path_reaches as (

    select
        requirement_reaches.user_id,
        requirement_reaches.milestone_id,
        requirement_reaches.path_id,
        max(requirement_reaches.reached_at) as reached_at

    from requirement_reaches
    inner join path_sizes
        on
            requirement_reaches.milestone_id = path_sizes.milestone_id
            and requirement_reaches.path_id = path_sizes.path_id
    group by
        requirement_reaches.user_id,
        requirement_reaches.milestone_id,
        requirement_reaches.path_id,
        path_sizes.path_requirement_count
    having count(*) = path_sizes.path_requirement_count

),

ranked_paths as (

    select
        *,
        row_number() over (
            partition by user_id, milestone_id
            order by reached_at, path_id
        ) as path_rank

    from path_reaches

),

own_reaches as (

    select
        user_id,
        milestone_id,
        path_id as reached_path_id,
        reached_at

    from ranked_paths
    where path_rank = 1

),

chain_sizes as (

    select
        milestone_id,
        count(*) as chain_length

    from gate_chains
    group by milestone_id

),

gated_reaches as (

    select
        gate_chains.milestone_id,
        own_reaches.user_id,
        max(own_reaches.reached_at) as reached_at,
        max(case when gate_chains.gate_depth = 0 then own_reaches.reached_path_id end) as reached_path_id,
        count(*) as chain_reached_count

    from gate_chains
    inner join own_reaches
        on gate_chains.chain_milestone_id = own_reaches.milestone_id
    group by gate_chains.milestone_id, own_reaches.user_id

),

final as (

    select
        gated_reaches.user_id,
        gated_reaches.milestone_id,
        gated_reaches.reached_path_id,
        gated_reaches.reached_at

    from gated_reaches
    inner join chain_sizes
        on gated_reaches.milestone_id = chain_sizes.milestone_id
    where gated_reaches.chain_reached_count = chain_sizes.chain_length

)

select * from final
