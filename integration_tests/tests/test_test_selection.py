"""The package's dbt tests are safe to select and really run.

- Selection (static, one `dbt parse`): for every mart M, each data test that
  `dbt build --select +M` selects with dbt's default (eager) indirect selection - any
  test with a parent inside +M - depends only on nodes inside +M; a test that also
  read a model outside +M would fail on a fresh database (or read a stale table).
  Tests read the models upstream of the tested model through
  `activation_upstream_relation`, which adds no graph edge; each name it is given must
  be upstream of the test's parent, so it is built first.
- Unit tests: disabled in the package (a user's project would run them on its own
  column types and vars) and enabled by integration_tests/dbt_project.yml; every unit
  test defined in the package's YAML runs and passes here.

`check_mart_selections` is shared with test_consumer_project.py, which applies it to a
user's project (own milestone tables instead of the package seeds).
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from harness import BASE_VARS, PROJECT_DIR, Dataset, event, user

REPO_ROOT = PROJECT_DIR.parent
PACKAGE = "milestone_activation"
UPSTREAM_CALL = re.compile(
    r"activation_upstream_relation\(\s*'([^']+)'(?:\s*,\s*source_name\s*=\s*'([^']+)')?\s*\)")


def check_mart_selections(manifest: dict) -> list[str]:
    """Problems of `dbt build --select +<mart>` under eager indirect selection, for every
    mart of the package in the manifest (empty list: none)."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    parents = {uid: set(node.get("depends_on", {}).get("nodes", [])) for uid, node in nodes.items()}
    ancestors_cache: dict[str, set[str]] = {}

    def ancestors(uid):
        if uid not in ancestors_cache:
            found = set()
            stack = list(parents.get(uid, ()))
            while stack:
                parent = stack.pop()
                if parent not in found:
                    found.add(parent)
                    stack.extend(parents.get(parent, ()))
            ancestors_cache[uid] = found
        return ancestors_cache[uid]

    marts = sorted(uid for uid, node in manifest["nodes"].items()
                   if node["resource_type"] == "model" and node["package_name"] == PACKAGE
                   and node["original_file_path"].startswith("models/marts/"))
    tests = sorted(uid for uid, node in manifest["nodes"].items()
                   if node["resource_type"] == "test" and node["package_name"] == PACKAGE)
    problems = []
    if len(marts) < 20:
        problems.append(f"expected the package's marts in the manifest, found {len(marts)}")
    for mart in marts:
        selection = ancestors(mart) | {mart}
        for test in tests:
            test_parents = parents[test]
            if test_parents & selection and not test_parents <= selection:
                outside = sorted(p.split(".")[-1] for p in test_parents - selection)
                problems.append(f"--select +{mart.split('.')[-1]} selects {test.split('.')[2]}, "
                                f"which also reads {outside} (outside the selection)")
    by_name = {}
    for uid, node in nodes.items():
        if node.get("package_name") == PACKAGE:
            key = (node["name"], node.get("source_name")) if node["resource_type"] == "source" \
                else (node["name"], None)
            by_name[key] = uid
    for test in tests:
        calls = UPSTREAM_CALL.findall(manifest["nodes"][test]["raw_code"])
        if not calls:
            continue
        model_parents = [p for p in parents[test] if p.startswith("model.")]
        if len(model_parents) != 1:
            problems.append(f"{test.split('.')[2]} reads upstream relations but has "
                            f"{len(model_parents)} model parents")
            continue
        upstream = ancestors(model_parents[0])
        for name, source_name in calls:
            uid = by_name.get((name, source_name or None))
            if uid is None or uid not in upstream | {model_parents[0]}:
                problems.append(f"{test.split('.')[2]} reads {name!r}, which is not upstream of "
                                f"{model_parents[0].split('.')[-1]}")
    # Generic relationships tests of the package name their parent in `to`.
    for test in tests:
        node = manifest["nodes"][test]
        metadata = node.get("test_metadata") or {}
        if metadata.get("name") != "activation_relationships":
            continue
        to = metadata.get("kwargs", {}).get("to")
        model = node.get("attached_node")
        uid = by_name.get((to, None))
        if uid is None or model is None or uid not in ancestors(model) | {model}:
            problems.append(f"{test.split('.')[2]}: `to: {to}` is not upstream of "
                            f"{model and model.split('.')[-1]}")
    return problems


def package_unit_test_names() -> set[str]:
    """Names of the unit tests defined in the package's model YAML files."""
    names = set()
    for path in sorted((REPO_ROOT / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text()) or {}
        names.update(test["name"] for test in document.get("unit_tests") or [])
    return names


@pytest.fixture(scope="module")
def parsed_manifest(dbt_builder):
    """The integration_tests project parsed once with the package's default vars
    (milestones from the package seeds), as manifest.json would hold it."""
    dbt_builder.deps()
    result = dbt_builder.run_dbt(["parse", "--quiet"])
    return result.result.writable_manifest().to_dict()


def test_every_mart_selection_reads_only_its_upstream(parsed_manifest):
    problems = check_mart_selections(parsed_manifest)
    assert not problems, "\n".join(problems)


def test_unit_tests_enabled_here_and_off_by_default(parsed_manifest):
    defined = package_unit_test_names()
    assert defined, "no unit_tests found in the package's model YAML"
    enabled = {node["name"] for node in parsed_manifest["unit_tests"].values()
               if node["package_name"] == PACKAGE}
    assert enabled == defined
    package_project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    assert package_project["unit_tests"][PACKAGE]["+enabled"] is False


def test_unit_tests_run_and_pass(dbt_builder):
    """Build the models on a small data set, then run every unit test of the package;
    fails if any unit test fails or if fewer ran than the package defines."""
    users = [user("u1", "2025-01-01 00:00:00"), user("u2", "2025-01-02 00:00:00")]
    events = [event("u1", "login", "2025-01-01 01:00:00", event_id="e1"),
              event("u2", "login", "2025-01-02 01:00:00", event_id="e2")]
    dbt_builder.build(Dataset(users, events, [], []),
                      vars={"activation_milestones_identifier": None,
                            "activation_milestone_requirements_identifier": None})
    all_vars = dict(BASE_VARS, activation_milestones_identifier=None,
                    activation_milestone_requirements_identifier=None)
    result = dbt_builder.run_dbt(["test", "--select", "test_type:unit",
                                  "--vars", json.dumps(all_vars, sort_keys=True), "--quiet"])
    ran = {r.node.name: str(r.status) for r in result.result.results
           if r.node.resource_type == "unit_test"}
    assert ran, "no unit test ran"
    failed = {name: status for name, status in ran.items() if status != "pass"}
    assert not failed, f"unit tests not passing: {failed}"
    assert set(ran) == package_unit_test_names()
