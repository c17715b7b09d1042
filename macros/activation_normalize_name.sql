{#- Normalise an event or config name the same way everywhere (SPEC §2): lower-case
    (Unicode), then every run of characters whose general category is not a letter
    (L*), combining mark (M*) or number (N*) becomes `_`, leading and trailing `_`
    removed; an empty result becomes null. Spaces, punctuation, `_`, symbols, emoji and
    control characters are all separators, so trimming needs no step of its own. No
    Unicode normalisation form is applied: a composed and a decomposed `é` give
    different names. -#}
{% macro activation_normalize_name(expr) -%}
    {{ return(adapter.dispatch('activation_normalize_name', 'milestone_activation')(expr)) }}
{%- endmacro %}

{#- DuckDB (RE2): `\p{..}` classes; `lower()` maps each character to its simple lower
    case, whatever the locale. -#}
{% macro default__activation_normalize_name(expr) -%}
    nullif(trim(both '_' from regexp_replace(lower(cast({{ expr }} as {{ dbt.type_string() }})), '[^\p{L}\p{M}\p{N}]+', '_', 'g')), '')
{%- endmacro %}

{#- Spark (Java regex): the same classes. Spark SQL string literals read backslash
    escapes, so the backslash is doubled. -#}
{% macro spark__activation_normalize_name(expr) -%}
    nullif(trim(both '_' from regexp_replace(lower(cast({{ expr }} as string)), '[^\\p{L}\\p{M}\\p{N}]+', '_')), '')
{%- endmacro %}

{#- PostgreSQL: its regex has no `\p{..}`, and `[[:alnum:]]` and `lower()` follow the
    database's locale (in the C locale nothing outside ASCII is a letter). So the
    classes are spelled out as code point ranges from Python's unicodedata
    (macros/activation_unicode_tables.sql) and matched in the "C" collation, whatever
    the database's. The lower case comes from ICU's root locale (collation
    "und-x-icu", present whenever PostgreSQL is built with ICU, as Debian's, the PGDG
    packages and the usual hosted services are): the full Unicode mapping, as Python's
    `str.lower()`. Without ICU, `translate()` with the generated one-to-one mapping
    (plus U+0130 `İ`, whose lower case is two characters) gives the same result except
    for the final-sigma rule, and costs more per non-ASCII name. ASCII-only names
    (octet length = character length in UTF-8), nearly all, take a short path with
    the same result. -#}
{% macro postgres__activation_normalize_name(expr) -%}
    {%- set text_value = '(cast(' ~ expr ~ ' as ' ~ dbt.type_string() ~ ') collate "C")' -%}
    {%- if activation_postgres_has_icu() -%}
        {%- set lowered = 'lower(' ~ text_value ~ ' collate "und-x-icu")' -%}
    {%- else -%}
        {%- set lowered = "translate(replace(" ~ text_value ~ ", E'\\u0130', E'i\\u0307'), "
            ~ activation_unicode_upper_characters() ~ ", " ~ activation_unicode_lower_characters() ~ ")" -%}
    {%- endif -%}
    nullif(trim(both '_' from case
        when octet_length({{ text_value }}) = char_length({{ text_value }})
            then regexp_replace(lower({{ text_value }}), '[^a-z0-9]+', '_', 'g')
        else regexp_replace(
            {{ lowered }} collate "C",
            '[^' || {{ activation_unicode_name_characters() }} || ']+',
            '_',
            'g'
        )
    end), '')
{%- endmacro %}

{#- Whether the ICU root collation exists (asked once per call while dbt executes;
    at parse time the answer does not matter). -#}
{% macro activation_postgres_has_icu() -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from pg_catalog.pg_collation where collname = 'und-x-icu'") -%}
    {{ return(found.columns[0].values()[0] | int > 0) }}
{%- endmacro %}


{#- The generated ranges of letters, marks and numbers (activation_unicode_name_characters)
    as the characters themselves, for engines whose regular expressions have neither
    `\p{..}` classes nor `\u` escapes: the body of a bracket expression. -#}
{% macro activation_unicode_name_characters_as_text() -%}
    {%- set characters = [] -%}
    {%- for code in modules.re.findall('[uU]([0-9a-fA-F]{4,8})|(-)', activation_unicode_name_characters()) -%}
        {%- if code[1] == '-' -%}
            {%- do characters.append('-') -%}
        {%- else -%}
            {%- do characters.append('%c' | format(code[0] | int(base=16))) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(characters | join('')) }}
{%- endmacro %}
