"""Run MetricFlow queries through its Python API, the engine behind `mf query`.

    python mf_queries.py QUERIES.json RESULTS.json

QUERIES.json: a list of {"metrics": [...], "group_by": [...]}. The dbt project, profile and
semantic manifest come from DBT_PROJECT_DIR / DBT_PROFILES_DIR, as for `mf`. One process
answers every query (the CLI starts dbt once per call, about 5 s each). RESULTS.json: per
query {"columns": [...], "rows": [[...], ...]} with dates and times as ISO text.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal

from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import MetricFlowQueryRequest


def plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def main(queries_path: str, results_path: str) -> None:
    with open(queries_path) as handle:
        queries = json.load(handle)
    config = CLIConfiguration()
    config.setup(configure_file_logging=False)
    results = []
    for query in queries:
        request = MetricFlowQueryRequest.create(metric_names=query["metrics"],
                                                group_by_names=query.get("group_by") or None)
        table = config.mf.query(mf_request=request).result_df
        results.append({"columns": list(table.column_names),
                        "rows": [[plain(value) for value in row] for row in table.rows]})
    metrics = sorted(metric.name for metric in config.semantic_manifest.metrics)
    with open(results_path, "w") as handle:
        json.dump({"results": results, "manifest_metrics": metrics}, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
