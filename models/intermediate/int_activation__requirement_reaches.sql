{#- When each user met each requirement: the time of the k-th qualifying event
    (k = min_count), counting only events at or after signup, ordered by
    (event_at, event_id) (SPEC §3). One row per user and requirement met.
    Ranks the narrow `int_activation__requirement_occurrences` at or after the user's
    signup once per user and requirement signature; the per-day cut there keeps every
    event a rank up to `max_min_count` can land on. -#}

with

occurrences as (

    select * from {{ ref('int_activation__requirement_occurrences') }}
    where requirement_signature_id is not null

),

users as (

    select * from {{ ref('int_activation__users') }}

),

requirements as (

    select * from {{ ref('int_activation__milestone_requirements') }}

),

ranked_occurrences as (

    select
        occurrences.user_id,
        occurrences.requirement_signature_id,
        occurrences.event_at,
        row_number() over (
            partition by occurrences.user_id, occurrences.requirement_signature_id
            order by occurrences.event_at, occurrences.event_id
        ) as occurrence_number

    from occurrences
    inner join users
        on occurrences.user_id = users.user_id
    where occurrences.event_at >= users.created_at

),

final as (

    select
        ranked_occurrences.user_id,
        requirements.requirement_id,
        requirements.milestone_id,
        requirements.path_id,
        ranked_occurrences.event_at as reached_at

    from ranked_occurrences
    inner join requirements
        on
            ranked_occurrences.requirement_signature_id = requirements.requirement_signature_id
            and ranked_occurrences.occurrence_number = requirements.min_count

)

select * from final
