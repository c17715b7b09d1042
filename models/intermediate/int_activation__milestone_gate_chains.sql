{#- For each milestone, itself and every milestone its gate chain requires
    (requires_milestone_id, then that milestone's gate, ...). A gated milestone is
    reached when all of its chain is, at the latest of their reach times (SPEC §3).
    The chain is unrolled to depth 10; the configuration check rejects deeper chains,
    and unrolling keeps the SQL portable to engines without recursive CTEs. -#}
{%- set max_gate_depth = 10 -%}

with

milestones as (

    select * from {{ ref('int_activation__milestones') }}

),

chain_0 as (

    select
        milestone_id,
        milestone_id as chain_milestone_id,
        0 as gate_depth,
        requires_milestone_id as next_milestone_id

    from milestones

),

{% for depth in range(1, max_gate_depth + 1) -%}
chain_{{ depth }} as (

    select
        chain_{{ depth - 1 }}.milestone_id,
        milestones.milestone_id as chain_milestone_id,
        {{ depth }} as gate_depth,
        milestones.requires_milestone_id as next_milestone_id

    from chain_{{ depth - 1 }}
    inner join milestones
        on chain_{{ depth - 1 }}.next_milestone_id = milestones.milestone_id

),

{% endfor -%}
final as (

    {% for depth in range(0, max_gate_depth + 1) -%}
    select
        milestone_id,
        chain_milestone_id,
        gate_depth
    from chain_{{ depth }}
    {% if not loop.last %}union all
    {% endif -%}
    {%- endfor %}

)

select * from final
