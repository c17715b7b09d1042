"""The harness's reuse of the parsed project (harness.DbtBuilder, ParsedProject).

Every dbt command of a session runs on the project as `dbt parse` left it for the same
vars, instead of parsing it again. That may only save time: after an incremental
history, `dbt compile` on the reused project must give every node the same SQL as
`dbt compile` on a project dbt parses itself (as the command line does; the SQL of the
incremental models holds what `is_incremental()` and the queries their macros run while
compiling found in the database), and after the commands the reused project must be
what the parse gave (every field manifest.json would hold). A command whose vars differ
only in ones the parse does not depend on runs on the same parse, so every var the
harness treats so must leave the parsed project as it is.
"""

import copy
import json
import random

import pytest
from harness import BASE_VARS, PARSE_INDEPENDENT_VARS, DbtBuilder, parse_fingerprint, parse_key
from test_incremental import generated_dataset, plan_batches

INCREMENTAL_MODEL = "model.milestone_activation.int_activation__events_classified"


def compiled_sql(result):
    return {item.node.unique_id: item.node.compiled_code for item in result.result.results}


def test_commands_on_the_reused_project_compile_as_on_a_fresh_parse(dbt_builder):
    dataset, vars = generated_dataset(dbt_builder.workdir, 21, users=15, events_per_user=8, days=10)
    # The project parsed with other vars (milestones from the package's seeds, not the raw
    # tables) is kept too, and must not serve these vars.
    dbt_builder.run_dbt_with_vars(["parse"], dict(vars, activation_milestones_identifier=None,
                                                  activation_milestone_requirements_identifier=None))
    batches = plan_batches(dataset.events, random.Random(21))
    first = copy.copy(dataset)
    first.events = list(batches[0])
    dbt_builder.load(first)
    dbt_builder.run_models(vars, full_refresh=True)
    for batch in batches[1:]:
        dbt_builder.append_events(batch)
        dbt_builder.run_models(vars)
    full_refresh = compiled_sql(dbt_builder.run_dbt_with_vars(["compile", "--full-refresh"], vars))
    reused = compiled_sql(dbt_builder.run_dbt_with_vars(["compile"], vars))

    fresh_builder = DbtBuilder(dbt_builder.workdir, engine=dbt_builder.engine)
    fresh_builder.reuse_manifest = False
    fresh_builder._seeded = True  # the seeds are loaded
    fresh = compiled_sql(fresh_builder.run_dbt_with_vars(["compile"], vars))

    assert len(reused) > 50 and set(reused) == set(fresh)
    different = sorted(unique_id for unique_id in fresh if reused[unique_id] != fresh[unique_id])
    assert not different, f"compiled differently on the reused project: {different}"
    # The comparison sees what a run decides: the incremental model compiles otherwise
    # with --full-refresh.
    assert full_refresh[INCREMENTAL_MODEL] != reused[INCREMENTAL_MODEL]

    parsed = fresh_builder.run_dbt_with_vars(["parse"], vars).result
    # Times of creation differ when another test's vars made dbt parse the project afresh.
    assert parse_fingerprint(dbt_builder.parsed_project(vars).for_command()) == parse_fingerprint(parsed)


# A value other than the default for every var in PARSE_INDEPENDENT_VARS.
OTHER_VALUES = {
    "activation_account_activation_rule": "min_share",
    "activation_account_min_share": 0.25,
    "activation_account_min_users": 3,
    "activation_account_pql_aggregate": "max",
    "activation_activity_events": ["search_performed", "list_created"],
    "activation_calibration_days": 9,
    "activation_calibration_min_conversions": 3,
    "activation_cohort_grain": "month",
    "activation_conversion_event": "subscription_paid",
    "activation_duckdb_memory_limit": "1GB",
    "activation_duckdb_threads": 1,
    "activation_event_timestamp_format": "epoch_milliseconds",
    "activation_experiment_control_variant": "baseline",
    "activation_experiment_exposure_event": "experiment_viewed",
    "activation_experiment_id_property": "test_id",
    "activation_experiment_variant_property": "arm",
    "activation_first_value_milestone": "first_search",
    "activation_free_plan_tiers": ["starter", "trial"],
    "activation_future_tolerance_hours": 5,
    "activation_invite_count_property": "invitee_count",
    "activation_invite_event": "teammate_invited",
    "activation_inviter_column": "referrer_id",
    "activation_kpi_period": "month",
    "activation_lookback_days": 10,
    "activation_pql_bands": [{"name": "cold", "min_score": 0}, {"name": "hot", "min_score": 30}],
    "activation_pql_daily_days": 30,
    "activation_pql_decay": 0.5,
    "activation_pql_recency_days": 14,
    "activation_stats_max_groups": 3,
    "activation_stats_min_group_size": 2,
    "activation_status_bands": [{"name": "new", "min_score": 0}, {"name": "active", "min_score": 50}],
    "activation_status_score_basis": "completion",
    "activation_user_passthrough_columns": ["company_size", "plan_tier"],
}


def test_vars_the_harness_reuses_a_parse_for_leave_the_parse_unchanged(dbt_builder):
    assert set(OTHER_VALUES) == PARSE_INDEPENDENT_VARS
    dbt_builder.deps()
    checker = DbtBuilder(dbt_builder.workdir, engine=dbt_builder.engine)
    checker.check_parse = True  # parses for each new set of vars and compares with the kept parse

    def parsed(vars):
        vars_text = json.dumps(dict(BASE_VARS, **vars), sort_keys=True)
        return checker._parsed(vars_text, checker._common_args(vars_text))

    kept = parsed({"activation_as_of": "2024-03-01"})
    changed = dict(OTHER_VALUES, activation_as_of="2025-01-15 12:00:00")
    assert parsed(changed) is kept  # parsed again, compared and found the same
    # The check does see a var the parse depends on: with activation_as_of unset,
    # int_activation__as_of reads the events.
    with_as_of = checker._manifests[parse_key(json.dumps(dict(BASE_VARS, activation_as_of="2024-03-01")))]
    without_as_of = parsed({})
    assert without_as_of is not kept
    with pytest.raises(AssertionError, match="int_activation__as_of"):
        checker._check_same_parse(with_as_of, "{}", without_as_of)
    # An as_of the var check rejects leaves the var unset at parse time: a parse of its own.
    for invalid in ("2025-02-30", "2025-01-01'", "2025-01-01T24:00:00", 20250101):
        assert parse_key(json.dumps({"activation_as_of": invalid})) != parse_key(json.dumps({"activation_as_of": "2024-03-01"}))
    assert parse_key("{activation_as_of: 2024-03-01}") == parse_key('{"activation_as_of": " 2025-01-15T00:00:00+01:00 "}')
