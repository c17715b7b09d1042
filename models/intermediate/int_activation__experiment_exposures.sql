{#- One row per user and experiment the user was exposed to: the first exposure time,
    the number of exposure events and of distinct variants seen. Exposures are staged
    events named by var `activation_experiment_exposure_event` (normalised like event
    names); the experiment id and variant are the JSON properties named by
    `activation_experiment_id_property` and `activation_experiment_variant_property`, as
    trimmed text, `(missing)` when absent or blank. The only statistics model that reads
    the events. -#}
{{ config(enabled=activation_var('activation_experiments_enabled')) }}
{%- set exposure_event = activation_var('activation_experiment_exposure_event') -%}
{%- set id_property = activation_var('activation_experiment_id_property') -%}
{%- set variant_property = activation_var('activation_experiment_variant_property') -%}
{%- set experiment_text = activation_json_extract_text('properties', activation_string_literal(id_property)) -%}
{%- set variant_text = activation_json_extract_text('properties', activation_string_literal(variant_property)) -%}

with

events as (

    select * from {{ ref('int_activation__events') }}
    where event_name = {{ activation_event_name_literal(exposure_event) }}

),

exposures as (

    select
        user_id,
        event_at,
        coalesce({{ activation_clean_text(experiment_text) }}, '(missing)') as experiment_id,
        coalesce({{ activation_clean_text(variant_text) }}, '(missing)') as variant

    from events

),

per_user as (

    select
        user_id,
        experiment_id,
        min(event_at) as first_exposed_at,
        count(*) as exposure_events,
        count(distinct variant) as variant_count,
        min(variant) as first_variant

    from exposures
    group by user_id, experiment_id

),

final as (

    select
        user_id,
        experiment_id,
        case when variant_count = 1 then first_variant end as variant,
        cast(variant_count as {{ dbt.type_int() }}) as variant_count,
        variant_count > 1 as has_multiple_variants,
        first_exposed_at,
        cast(exposure_events as {{ dbt.type_bigint() }}) as exposure_events

    from per_user

)

select * from final
