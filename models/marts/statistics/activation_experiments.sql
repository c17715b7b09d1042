{#- One row per experiment seen in the exposures: variants and users left in, users left
    out for seeing more than one variant, whether the control variant is present, and a
    sample ratio mismatch check: chi-square goodness of fit of the users per variant
    against an equal split. -#}
{{ config(
    enabled=activation_var('activation_statistics_enabled') and activation_var('activation_experiments_enabled')
) }}
{%- set control_variant = activation_var('activation_experiment_control_variant') | trim -%}
{%- set double = activation_type_double() -%}

with

exposures as (

    select * from {{ ref('int_activation__experiment_exposures') }}

),

experiment_users as (

    select
        experiment_id,
        count(case when has_multiple_variants then 1 end) as users_multiple_variants

    from exposures
    group by experiment_id

),

variant_users as (

    select
        experiment_id,
        variant,
        count(*) as users

    from exposures
    where not has_multiple_variants
    group by experiment_id, variant

),

variant_summary as (

    select
        experiment_id,
        count(*) as variants,
        sum(users) as exposed_users,
        max(case when variant = {{ activation_string_literal(control_variant) }} then 1 else 0 end) as has_control

    from variant_users
    group by experiment_id

),

srm_terms as (

    select
        variant_users.experiment_id,
        {#- (observed - expected)^2 / expected with expected = exposed / variants #}
        (
            cast(variant_users.users as {{ double }})
            - cast(variant_summary.exposed_users as {{ double }}) / variant_summary.variants
        )
        * (
            cast(variant_users.users as {{ double }})
            - cast(variant_summary.exposed_users as {{ double }}) / variant_summary.variants
        )
        / (cast(variant_summary.exposed_users as {{ double }}) / variant_summary.variants) as srm_term

    from variant_users
    inner join variant_summary
        on variant_users.experiment_id = variant_summary.experiment_id
    where variant_summary.variants > 1

),

srm as (

    select
        experiment_id,
        sum(srm_term) as srm_chi_square

    from srm_terms
    group by experiment_id

),

summary as (

    select
        experiment_users.experiment_id,
        coalesce(variant_summary.variants, 0) as variants,
        coalesce(variant_summary.exposed_users, 0) as exposed_users,
        experiment_users.users_multiple_variants,
        coalesce(variant_summary.has_control, 0) = 1 as has_control,
        srm.srm_chi_square,
        case when coalesce(variant_summary.variants, 0) > 1 then variant_summary.variants - 1 end
            as srm_degrees_of_freedom,
        case
            when coalesce(variant_summary.variants, 0) < 2 then 'single_variant'
            {#- The closed-form chi-square tail covers up to 40 degrees of freedom. #}
            when variant_summary.variants > 41 then 'too_many_variants'
        end as srm_null_reason

    from experiment_users
    left join variant_summary
        on experiment_users.experiment_id = variant_summary.experiment_id
    left join srm
        on experiment_users.experiment_id = srm.experiment_id

),

with_p_values as (

    select
        experiment_id,
        cast(variants as {{ dbt.type_int() }}) as variants,
        cast(exposed_users as {{ dbt.type_bigint() }}) as exposed_users,
        cast(users_multiple_variants as {{ dbt.type_bigint() }}) as users_multiple_variants,
        has_control,
        cast(case when srm_null_reason is null then srm_chi_square end as {{ double }}) as srm_chi_square,
        cast(case when srm_null_reason is null then srm_degrees_of_freedom end as {{ dbt.type_int() }})
            as srm_degrees_of_freedom,
        cast({{ activation_chi_square_p_value('srm_chi_square', 'srm_degrees_of_freedom') }} as {{ double }})
            as srm_p_value,
        cast(srm_null_reason as {{ dbt.type_string() }}) as srm_null_reason

    from summary

),

{#- Benjamini-Hochberg q-values across the p-values of this mart (SPEC §11). #}
{{ activation_bh_q_values('with_p_values', ['experiment_id'], ['srm_p_value'], ['srm_q_value']) }}

select * from with_p_values__with_q_values
