{#- Distribution functions for the statistics marts, as portable SQL expressions.

    Pass column names (or short expressions): the argument is repeated inside the
    expression. Every `exp` argument is clamped at -700 because PostgreSQL raises an
    underflow error where other engines return 0. -#}

{#- erfc(x), the complementary error function, by the Chebyshev fit of Numerical
    Recipes (Press et al., 2nd ed., §6.2, `erfcc`): fractional error below 1.2e-7 for
    every x, so p-values built on it are good to about 1e-7 absolute. -#}
{% macro activation_erfc(x) -%}
    {%- set x = 'cast(' ~ x ~ ' as ' ~ milestone_activation.activation_type_double() ~ ')' -%}
    {%- set coefficients = [
        -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
        0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277
    ] -%}
    {%- set t = '(1.0 / (1.0 + 0.5 * abs(' ~ x ~ ')))' -%}
    {%- set ns = namespace(poly=coefficients[-1] | string) -%}
    {%- for coefficient in coefficients[:-1] | reverse -%}
        {%- set ns.poly = '(' ~ coefficient ~ ' + ' ~ t ~ ' * ' ~ ns.poly ~ ')' -%}
    {%- endfor -%}
    case
        when {{ x }} is null then null
        when {{ x }} >= 0
            then {{ t }} * exp(greatest(-1.0 * ({{ x }}) * ({{ x }}) + {{ ns.poly }}, -700.0))
        else 2.0 - {{ t }} * exp(greatest(-1.0 * ({{ x }}) * ({{ x }}) + {{ ns.poly }}, -700.0))
    end
{%- endmacro %}

{#- Two-sided p-value of a standard normal statistic z: P(|Z| >= |z|) = erfc(|z| / sqrt 2);
    null for a null z. -#}
{% macro activation_normal_p_value(z) -%}
    case
        when {{ z }} is not null
            then least(1.0, {{ milestone_activation.activation_erfc('abs(' ~ z ~ ') / ' ~ (2 ** 0.5)) }})
    end
{%- endmacro %}

{#- Upper tail P(X >= statistic) of a chi-square distribution with integer degrees of
    freedom df (1 to max_df), in closed form:
      even df: exp(-x/2) * sum_{i=0}^{df/2-1} (x/2)^i / i!
      odd df:  erfc(sqrt(x/2)) + exp(-x/2) * sum_{i=1}^{(df-1)/2} (x/2)^(i-1/2) / Gamma(i+1/2)
    Null when either argument is null, df is not an integer in [1, max_df] or the
    statistic is negative; 1 when the statistic is 0. -#}
{% macro activation_chi_square_p_value(statistic, df, max_df=40) -%}
    {%- set x = 'cast(' ~ statistic ~ ' as ' ~ milestone_activation.activation_type_double() ~ ')' -%}
    {%- set half = '(' ~ x ~ ' / 2.0)' -%}
    {%- set log_half = 'ln(greatest(' ~ half ~ ', 1e-300))' -%}
    {%- set ns = namespace(factorial=1.0, gamma=(3.141592653589793 ** 0.5), even_terms=[], odd_terms=[]) -%}
    {%- for i in range(0, (max_df // 2) + 1) -%}
        {%- if i > 0 -%}
            {%- set ns.factorial = ns.factorial * i -%}
            {%- set ns.gamma = ns.gamma * (i - 0.5) -%}
        {%- endif -%}
        {#- even: term i is used when df >= 2 * (i + 1) -#}
        {%- if 2 * (i + 1) <= max_df -%}
            {%- set term = 'exp(greatest(-' ~ half ~ ' + ' ~ i ~ ' * ' ~ log_half ~ ' - ln(' ~ ns.factorial ~ '), -700.0))' -%}
            {%- do ns.even_terms.append('case when ' ~ df ~ ' >= ' ~ (2 * (i + 1)) ~ ' then ' ~ term ~ ' else 0.0 end') -%}
        {%- endif -%}
        {#- odd: term i >= 1 (Gamma(i + 1/2) = ns.gamma) is used when df >= 2 * i + 1 -#}
        {%- if i >= 1 and 2 * i + 1 <= max_df -%}
            {%- set term = 'exp(greatest(-' ~ half ~ ' + ' ~ (i - 0.5) ~ ' * ' ~ log_half ~ ' - ln(' ~ ns.gamma ~ '), -700.0))' -%}
            {%- do ns.odd_terms.append('case when ' ~ df ~ ' >= ' ~ (2 * i + 1) ~ ' then ' ~ term ~ ' else 0.0 end') -%}
        {%- endif -%}
    {%- endfor -%}
    case
        when {{ x }} is null or {{ df }} is null then null
        when {{ x }} < 0 or {{ df }} < 1 or {{ df }} > {{ max_df }} or {{ df }} <> floor({{ df }}) then null
        when {{ x }} = 0 then 1.0
        when {{ df }} % 2 = 0 then least(1.0, greatest(0.0,
            {{ ns.even_terms | join('\n            + ') if ns.even_terms else '0.0' }}
        ))
        else least(1.0, greatest(0.0,
            {{ milestone_activation.activation_erfc('sqrt(' ~ half ~ ')') }}
            {%- for term in ns.odd_terms %}
            + {{ term }}
            {%- endfor %}
        ))
    end
{%- endmacro %}

{#- Quantile function of the standard normal distribution (0 < p < 1) by Acklam's
    rational approximation (relative error below 1.15e-9); null outside (0, 1). -#}
{% macro activation_normal_quantile(p) -%}
    {%- set a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690, -30.66479806614716, 2.506628277459239] -%}
    {%- set b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572] -%}
    {%- set c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] -%}
    {%- set d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] -%}
    {%- set p = 'cast(' ~ p ~ ' as ' ~ milestone_activation.activation_type_double() ~ ')' -%}
    {%- set p_low = 0.02425 -%}
    {%- set q_tail = 'sqrt(-2.0 * ln(' ~ p ~ '))' -%}
    {%- set q_upper = 'sqrt(-2.0 * ln(1.0 - ' ~ p ~ '))' -%}
    {%- set q = '(' ~ p ~ ' - 0.5)' -%}
    {%- set r = '(' ~ q ~ ' * ' ~ q ~ ')' -%}
    case
        when {{ p }} is null or {{ p }} <= 0 or {{ p }} >= 1 then null
        when {{ p }} < {{ p_low }} then
            {{ milestone_activation.activation__horner(c, q_tail) }} / ({{ milestone_activation.activation__horner(d + [1.0], q_tail) }})
        when {{ p }} > {{ 1 - p_low }} then
            -1.0 * {{ milestone_activation.activation__horner(c, q_upper) }} / ({{ milestone_activation.activation__horner(d + [1.0], q_upper) }})
        else
            {{ q }} * {{ milestone_activation.activation__horner(a, r) }} / ({{ milestone_activation.activation__horner(b + [1.0], r) }})
    end
{%- endmacro %}

{#- Polynomial coefficients[0] * x^(n-1) + ... + coefficients[n-1] in Horner form. -#}
{% macro activation__horner(coefficients, x) -%}
    {%- set ns = namespace(expr=coefficients[0] | string) -%}
    {%- for coefficient in coefficients[1:] -%}
        {%- set ns.expr = '(' ~ ns.expr ~ ' * ' ~ x ~ ' + ' ~ coefficient ~ ')' -%}
    {%- endfor -%}
    {{ ns.expr }}
{%- endmacro %}

{#- Users needed per variant to detect a relative lift `relative_mde` on a baseline
    conversion rate with a two-sided two-proportion test at level `alpha` and the given
    power, equal allocation, by the normal approximation on Cohen's effect size
    h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p0)), p1 = baseline * (1 + relative_mde):
        n = 2 * (z_{1-alpha/2} + z_{power})^2 / h^2, rounded up.
    This is statsmodels' NormalIndPower().solve_power(proportion_effectsize(p1, p0),
    alpha=alpha, power=power, ratio=1) without its negligible opposite-tail term.
    Baseline 5 %, +15 % relative, alpha 0.05, power 0.8 gives 14,178 users per variant
    (not the 17,000 sometimes quoted). Arguments are SQL expressions (numbers or columns);
    the result is an integer expression, null when an argument is outside its range. -#}
{% macro sample_size_per_variant(baseline, relative_mde, alpha=0.05, power=0.8) -%}
    {%- set baseline = 'cast(' ~ baseline ~ ' as ' ~ milestone_activation.activation_type_double() ~ ')' -%}
    {%- set p1 = '((' ~ baseline ~ ') * (1.0 + (' ~ relative_mde ~ ')))' -%}
    {%- set effect = '(2.0 * asin(sqrt(' ~ p1 ~ ')) - 2.0 * asin(sqrt(' ~ baseline ~ ')))' -%}
    {%- set z_alpha = milestone_activation.activation_normal_quantile('(1.0 - (' ~ alpha ~ ') / 2.0)') -%}
    {%- set z_power = milestone_activation.activation_normal_quantile('(' ~ power ~ ')') -%}
    case
        when ({{ baseline }}) <= 0 or ({{ baseline }}) >= 1 or ({{ relative_mde }}) = 0
            or {{ p1 }} <= 0 or {{ p1 }} >= 1
            or ({{ alpha }}) <= 0 or ({{ alpha }}) >= 1 or ({{ power }}) <= 0 or ({{ power }}) >= 1
            then null
        else cast(ceil(
            2.0 * ({{ z_alpha }} + {{ z_power }}) * ({{ z_alpha }} + {{ z_power }})
            / ({{ effect }} * {{ effect }})
        ) as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{#- The 95% Wilson score interval of the proportion successes / trials (statsmodels
    `proportion_confint(method='wilson')`) as two select-list items,
    `<rate_name>_ci_lower` and `<rate_name>_ci_upper`, clamped to [0, 1]; null when trials
    is 0 or null or successes is null. Pass column names: both arguments are repeated
    inside the expressions. `data_type`: cast both bounds to it (default: no cast). -#}
{% macro activation_wilson_interval(successes, trials, rate_name, data_type=none) -%}
    {%- set z = 1.959963984540054 -%}
    {%- set double = milestone_activation.activation_type_double() -%}
    {%- set n = 'cast((' ~ trials ~ ') as ' ~ double ~ ')' -%}
    {%- set p = '(cast((' ~ successes ~ ') as ' ~ double ~ ') / ' ~ n ~ ')' -%}
    {%- for side, sign, clamp in [('lower', '-', 'greatest(0.0, '), ('upper', '+', 'least(1.0, ')] %}
        {%- if data_type %}cast({% endif %}case
            when ({{ trials }}) > 0 and ({{ successes }}) is not null
                then {{ clamp }}(
                    {{ p }} + {{ z * z / 2 }} / {{ n }}
                    {{ sign }} {{ z }} * sqrt({{ p }} * (1.0 - {{ p }}) / {{ n }} + {{ z * z / 4 }} / ({{ n }} * {{ n }}))
                ) / (1.0 + {{ z * z }} / {{ n }}))
        end{% if data_type %} as {{ data_type }}){% endif %} as {{ rate_name }}_ci_{{ side }}
        {%- if not loop.last %},
        {% endif %}
    {%- endfor %}
{%- endmacro %}

{#- CTE definitions (no leading `with`, no trailing comma) adding Benjamini-Hochberg
    q-values (statsmodels `multipletests(method='fdr_bh')`) to the rows of `input_cte`:
    every non-null p-value of the `p_value_columns`, over all rows, is one family.
    Sorted ascending, the i-th of m p-values gets q = min over j >= i of m * p_j / j,
    capped at 1 (ties get the same q whatever their order). The last CTE,
    `<input_cte>__with_q_values`, is every row and column of `input_cte` with one
    column per name in `q_value_columns` added at the end (null where the p-value is
    null); the key columns must be unique and not null. -#}
{% macro activation_bh_q_values(input_cte, key_columns, p_value_columns, q_value_columns) -%}
    {%- if p_value_columns | length != q_value_columns | length -%}
        {{ exceptions.raise_compiler_error("activation_bh_q_values: give one q-value column name per p-value column") }}
    {%- endif -%}
    {%- set keys = key_columns | join(', ') -%}
{{ input_cte }}__p_values as (

    {%- for column in p_value_columns %}
    select
        {{ keys }},
        {{ loop.index }} as p_value_column,
        {{ column }} as p_value

    from {{ input_cte }}
    where {{ column }} is not null
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}

),

{{ input_cte }}__p_ranks as (

    select
        {{ keys }},
        p_value_column,
        p_value,
        row_number() over (order by p_value, p_value_column, {{ keys }}) as p_rank,
        count(*) over () as p_count

    from {{ input_cte }}__p_values

),

{{ input_cte }}__adjusted as (

    select
        {{ keys }},
        p_value_column,
        least(
            1.0,
            min(p_count * p_value / p_rank) over (
                order by p_rank desc
                rows between unbounded preceding and current row
            )
        ) as q_value

    from {{ input_cte }}__p_ranks

),

{{ input_cte }}__q_values as (

    select
        {{ keys }},
        {%- for name in q_value_columns %}
        max(case when p_value_column = {{ loop.index }} then q_value end) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from {{ input_cte }}__adjusted
    group by {{ keys }}

),

{{ input_cte }}__with_q_values as (

    select
        {{ input_cte }}.*,
        {%- for name in q_value_columns %}
        q_values.{{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from {{ input_cte }}
    left join {{ input_cte }}__q_values as q_values
        on
        {%- for key in key_columns %}
            {% if not loop.first %}and {% endif %}{{ input_cte }}.{{ key }} = q_values.{{ key }}
        {%- endfor %}

)
{%- endmacro %}
