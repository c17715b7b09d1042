"""The harness's reuse of the parsed project (harness.DbtBuilder, ParsedProject).

Every dbt command of a session runs on the project as `dbt parse` left it for the same
vars, instead of parsing it again. That may only save time: after an incremental
history, `dbt compile` on the reused project must give every node the same SQL as
`dbt compile` on a project dbt parses itself (as the command line does; the SQL of the
incremental models holds what `is_incremental()` and the queries their macros run while
compiling found in the database), and after the commands the reused project must be
what the parse gave (every field manifest.json would hold).
"""

import copy
import random

from harness import DbtBuilder
from test_incremental import generated_dataset, plan_batches

INCREMENTAL_MODEL = "model.milestone_activation.int_activation__events_classified"


def compiled_sql(result):
    return {item.node.unique_id: item.node.compiled_code for item in result.result.results}


def manifest_fields(manifest):
    fields = manifest.writable_manifest().to_dict()
    fields.pop("metadata")  # the time and id of the invocation
    return fields


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
    assert manifest_fields(dbt_builder.parsed_project(vars).for_command()) == manifest_fields(parsed)
