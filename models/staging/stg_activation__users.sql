{#- One row per raw users row, cleaned, with the reason it cannot be used (or null).
    Checks run in order: missing_user_id, invalid_created_at, duplicate_user_id. Of
    several usable rows for one user_id the earliest signup is kept.

    The raw column names come from vars (defaults: user_id, account_id, created_at,
    plan_tier, install_source, inviter_user_id); an optional column whose var is null
    reads as null. -#}
{%- set user_id_column = activation_var('activation_user_id_column') -%}
{%- set account_column = activation_var('activation_account_id_column') -%}
{%- set created_at_column = activation_var('activation_created_at_column') -%}
{%- set plan_tier_column = activation_var('activation_plan_tier_column') -%}
{%- set install_source_column = activation_var('activation_install_source_column') -%}
{%- set inviter_column = activation_var('activation_inviter_column') -%}
{%- set optional_note = ", or to null if your table has no such column" -%}
{%- set required_columns = [
    {'column': user_id_column, 'var': 'activation_user_id_column'},
    {'column': account_column, 'var': 'activation_account_id_column', 'fix_note': optional_note},
    {'column': created_at_column, 'var': 'activation_created_at_column'},
    {'column': plan_tier_column, 'var': 'activation_plan_tier_column', 'fix_note': optional_note},
    {'column': install_source_column, 'var': 'activation_install_source_column', 'fix_note': optional_note},
    {'column': inviter_column, 'var': 'activation_inviter_column', 'fix_note': optional_note},
    {'column': activation_var('activation_user_passthrough_columns'), 'var': 'activation_user_passthrough_columns',
        'fix_note': " (or remove it from the list)"},
] -%}
{%- do activation_check_source_columns(source('activation', 'users'), 'users', required_columns) -%}

with

source as (

    select * from {{ source('activation', 'users') }}

),

cleaned as (

    select
        {{ activation_clean_text(user_id_column) }} as user_id,
        {{ activation_clean_text(account_column) }} as account_id,
        {{ activation_parse_timestamp(created_at_column) }} as created_at,
        {{ activation_text_column(created_at_column) }} as created_at_raw,
        {{ activation_text_column(plan_tier_column) }} as plan_tier,
        {{ activation_text_column(install_source_column) }} as install_source,
        {% for column_name in activation_var('activation_user_passthrough_columns') -%}
        {{ activation_text_column(column_name) }} as {{ column_name }},
        {% endfor -%}
        {{ activation_clean_text(inviter_column) }} as inviter_user_id

    from source

),

flagged as (

    select
        *,
        case
            when user_id is null then 'missing_user_id'
            when created_at is null then 'invalid_created_at'
        end as row_problem

    from cleaned

),

ranked as (

    select
        *,
        case
            when row_problem is null
                then row_number() over (
                    partition by user_id, row_problem
                    order by
                        created_at,
                        coalesce(account_id, ''),
                        coalesce(plan_tier, ''),
                        coalesce(install_source, ''),
                        coalesce(inviter_user_id, '')
                    {%- for column_name in activation_var('activation_user_passthrough_columns') %},
                        coalesce({{ column_name }}, '')
                        {%- endfor %}
                )
        end as user_copy_number

    from flagged

),

final as (

    select
        user_id,
        account_id,
        created_at,
        created_at_raw,
        plan_tier,
        install_source,
        inviter_user_id,
        {% for column_name in activation_var('activation_user_passthrough_columns') -%}
        {{ column_name }},
        {% endfor -%}
        coalesce(
            row_problem,
            case when user_copy_number > 1 then 'duplicate_user_id' end
        ) as quarantine_reason

    from ranked

)

select * from final
