{#- One row per raw users row, cleaned, with the reason it cannot be used (or null).
    Checks run in order: missing_user_id, invalid_created_at, duplicate_user_id. Of
    several usable rows for one user_id the earliest signup is kept.

    From a users table (var `activation_users_from` = table, the default): the raw
    column names come from vars (defaults: user_id, account_id, created_at, plan_tier,
    install_source, inviter_user_id); an optional column whose var is null reads as
    null.

    Derived from the events (`activation_users_from` = events, for trackers without a
    users table): one row per user id of the events rows whose user id, name and time
    are valid. created_at is the first `activation_signup_event` of the user, else
    (var null, or no such event) the user's first event. account_id, plan_tier and
    install_source are the traits named by `activation_account_trait`,
    `activation_plan_tier_trait` and `activation_install_source_trait`, read from the
    JSON column `activation_user_traits_column` (null: the event properties); each is
    the value on the user's first event that has it (ties: the smallest value). With
    var `activation_user_traits_relation` (Segment or RudderStack identifies, Mixpanel
    people) the traits are instead columns of that table, named as the traits: each is
    the value of the user's latest row that has it, by
    `activation_user_traits_timestamp_column` (rows without a readable time count as the
    oldest; ties: the smallest value), as Segment's own users table keeps the latest
    traits. There is no inviter, and no passthrough columns. -#}
{%- set users_from = activation_var('activation_users_from') -%}
{%- if users_from == 'events' -%}
{%- if activation_var('activation_user_passthrough_columns') and execute -%}
    {%- do exceptions.raise_compiler_error(
        "milestone_activation: var activation_user_passthrough_columns = " ~ activation_var('activation_user_passthrough_columns')
        ~ " needs a users table, but activation_users_from = events (users derived from the events have no other columns)."
        ~ " Fix: set activation_user_passthrough_columns to [], or activation_users_from to table."
    ) -%}
{%- endif -%}
{%- set traits = {
    'account_id': activation_var('activation_account_trait'),
    'plan_tier': activation_var('activation_plan_tier_trait'),
    'install_source': activation_var('activation_install_source_trait'),
} -%}
{%- set traits_json = 'user_traits' if activation_var('activation_user_traits_column') else 'properties' -%}
{%- set traits_item = activation_var('activation_user_traits_relation') -%}
{%- if traits_item -%}
{%- set traits_relation = activation_relation_from_item(traits_item, source('activation', 'events')) -%}
{%- set traits_user_id_column = activation_var('activation_user_traits_user_id_column') -%}
{%- set traits_timestamp_column = activation_var('activation_user_traits_timestamp_column') -%}
{%- set trait_columns = [] -%}
{%- for column_name, trait in traits.items() if trait -%}
    {%- do trait_columns.append({'column': trait, 'var': 'activation_' ~ ('account' if column_name == 'account_id' else column_name) ~ '_trait',
        'fix_note': " (the traits are columns of the user traits table " ~ traits_item['name'] ~ ")"}) -%}
{%- endfor -%}
{%- do activation_check_source_columns(traits_relation, 'user traits', [
    {'column': traits_user_id_column, 'var': 'activation_user_traits_user_id_column'},
    {'column': traits_timestamp_column, 'var': 'activation_user_traits_timestamp_column', 'fix_note': ", or to null if there is none"},
] + trait_columns) -%}
{%- endif -%}
{%- set user_id_column = 'user_id' -%}
{%- set account_column = 'account_id' if traits['account_id'] else none -%}
{%- set created_at_column = 'created_at' -%}
{%- set plan_tier_column = 'plan_tier' if traits['plan_tier'] else none -%}
{%- set install_source_column = 'install_source' if traits['install_source'] else none -%}
{%- set inviter_column = none -%}
{%- set signup_event = activation_var('activation_signup_event') -%}
{%- else -%}
{%- if activation_var('activation_user_traits_relation') and execute -%}
    {%- do exceptions.raise_compiler_error(
        "milestone_activation: var activation_user_traits_relation = '" ~ activation_var('activation_user_traits_relation')['name']
        ~ "' gives the traits of users derived from the events, but activation_users_from = table."
        ~ " Fix: set activation_users_from to events, or activation_user_traits_relation to null."
    ) -%}
{%- endif -%}
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
{%- endif -%}

with
{%- if users_from == 'events' %}

events as (

    select * from {{ ref('stg_activation__events') }}
    where row_problem is null

),

first_events as (

    select
        user_id,
        min(event_at) as first_seen_at
        {%- if signup_event %},
        min(case when event_name = {{ activation_event_name_literal(signup_event) }} then event_at end) as signup_at
        {%- endif %}

    from events
    group by user_id

),
{%- for column_name, trait in traits.items() if trait %}
{%- if traits_item %}
{#- The trait's value on the user's latest row of the traits table that has it. #}

{{ column_name }}_values as (

    select
        user_id,
        trait_value,
        row_number() over (
            partition by user_id
            order by case when traits_at is null then 1 else 0 end, traits_at desc, trait_value
        ) as value_rank

    from (
        select
            {{ activation_clean_text(traits_user_id_column) }} as user_id,
            {%- if traits_timestamp_column %}
            {{ activation_parse_timestamp(traits_timestamp_column) }} as traits_at,
            {%- else %}
            cast(null as {{ dbt.type_timestamp() }}) as traits_at,
            {%- endif %}
            {{ activation_text_column(trait) }} as trait_value

        from {{ traits_relation }}
    ) as trait_rows
    where trait_value is not null and user_id is not null

),
{%- else %}
{#- The trait's value on the user's first event that has it. #}

{{ column_name }}_values as (

    select
        user_id,
        trait_value,
        row_number() over (partition by user_id order by event_at, trait_value) as value_rank

    from (
        select
            user_id,
            event_at,
            {{ activation_json_extract_text(traits_json, activation_string_literal(trait)) }} as trait_value

        from events
        where
            {%- if traits_json == 'properties' %}
            is_properties_valid
            {%- else %}
            coalesce({{ activation_json_is_valid(traits_json) }}, false)
            {%- endif %}
    ) as trait_rows
    where trait_value is not null

),
{%- endif %}
{%- endfor %}

source as (

    select
        first_events.user_id,
        {%- for column_name, trait in traits.items() if trait %}
        {{ column_name }}_values.trait_value as {{ column_name }},
        {%- endfor %}
        {%- if signup_event %}
        coalesce(first_events.signup_at, first_events.first_seen_at) as created_at
        {%- else %}
        first_events.first_seen_at as created_at
        {%- endif %}

    from first_events
    {%- for column_name, trait in traits.items() if trait %}
    left join {{ column_name }}_values
        on
            first_events.user_id = {{ column_name }}_values.user_id
            and {{ column_name }}_values.value_rank = 1
    {%- endfor %}

),
{%- else %}

source as (

    select * from {{ source('activation', 'users') }}

),
{%- endif %}

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
