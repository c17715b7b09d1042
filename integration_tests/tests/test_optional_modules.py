"""Optional modules: `activation_statistics_enabled`, `activation_pql_enabled` and
`activation_experiments_enabled` set to false leave their models out of the build (not
run, not in the graph), and every model still built gives exactly the rows of a build
with all modules on.
"""

import pytest
from harness import BuildFailed, assert_same_tables
from test_incremental import generated_dataset

ALL_OFF = {"activation_statistics_enabled": False, "activation_pql_enabled": False,
           "activation_experiments_enabled": False}
LEFT_OUT = {
    "activation_statistics_enabled": {
        "activation_milestone_impact", "activation_segment_comparison", "activation_segment_tests",
        "activation_time_to_milestone", "activation_time_to_milestone_summary",
        "activation_time_to_milestone_tests", "activation_pql_calibration",
        "activation_pql_calibration_groups", "activation_experiments", "activation_experiment_results",
        "int_activation__milestone_durations", "int_activation__calibration_scores"},
    "activation_pql_enabled": {
        "activation_pql_score_history", "activation_pql_scores_daily", "activation_pql_handoffs",
        "int_activation__pql_score_changes", "activation_pql_calibration",
        "activation_pql_calibration_groups", "int_activation__calibration_scores"},
    "activation_experiments_enabled": {
        "int_activation__experiment_exposures", "activation_experiments", "activation_experiment_results"},
}


def _models_run(result):
    return {r.node.name for r in result.result.results if r.node.resource_type == "model"}


def _names(ls_result):
    return {str(line).split(".")[-1] for line in ls_result.result}


def test_disabled_modules_are_not_built_and_the_rest_is_unchanged(dbt_builder):
    dataset, vars = generated_dataset(dbt_builder.workdir, seed=21, users=30, events_per_user=15)
    vars = {name: value for name, value in vars.items() if name not in LEFT_OUT}
    dbt_builder.reset()
    dbt_builder.load(dataset)
    everything = dbt_builder.run_dbt_with_vars(["run", "--full-refresh"], vars)
    all_models = _models_run(everything)
    # Ephemeral models are inlined where they are read, never run on their own.
    ephemeral = _names(dbt_builder.run_dbt_with_vars(
        ["ls", "--resource-type", "model", "--select", "config.materialized:ephemeral", "--output", "name"], vars))
    assert "int_activation__milestone_durations" in ephemeral
    assert set().union(*LEFT_OUT.values()) <= all_models | ephemeral
    full_marts = dbt_builder.read_all_marts()

    dbt_builder.reset()
    dbt_builder.load(dataset)
    reduced = dbt_builder.run_dbt_with_vars(["run", "--full-refresh"], dict(vars, **ALL_OFF))
    built = _models_run(reduced)
    assert built == all_models - set().union(*LEFT_OUT.values()), sorted(built ^ all_models)
    reduced_marts = dbt_builder.read_all_marts()
    assert set(reduced_marts) == {name for name in full_marts if name not in set().union(*LEFT_OUT.values())}
    assert_same_tables(reduced_marts, {name: full_marts[name] for name in reduced_marts})
    dbt_builder.run_dbt_with_vars(["test"], dict(vars, **ALL_OFF))  # the data tests of what is built pass


@pytest.mark.parametrize("flag", sorted(LEFT_OUT))
def test_each_flag_leaves_out_its_models(dbt_builder, flag):
    listed = _names(dbt_builder.run_dbt_with_vars(["ls", "--resource-type", "model", "--output", "name"], {flag: False}))
    assert not (listed & LEFT_OUT[flag])
    others = set().union(*(models for name, models in LEFT_OUT.items() if name != flag)) - LEFT_OUT[flag]
    assert others <= listed


def test_a_flag_that_is_not_true_or_false_fails_naming_the_var(dbt_builder):
    dataset, vars = generated_dataset(dbt_builder.workdir, seed=21, users=30, events_per_user=15)
    dbt_builder.load(dataset)
    with pytest.raises(BuildFailed) as failed:
        dbt_builder.run_dbt_with_vars(["run", "--select", "int_activation__milestones"],
                                      dict(vars, activation_pql_enabled="sometimes"))
    assert "activation_pql_enabled" in str(failed.value) and "true or false" in str(failed.value)

