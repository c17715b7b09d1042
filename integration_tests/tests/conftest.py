import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import DbtBuilder, make_workdir, remove_workdir  # noqa: E402


@pytest.fixture(scope="session")
def dbt_builder():
    workdir = make_workdir()
    builder = DbtBuilder(workdir)
    yield builder
    remove_workdir(workdir)
