"""Shared fixtures: one session-scoped local[2] SparkSession, paths to the bundled and shared data."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_CORPUS = REPO / "data" / "wiki-demo.txt.gz"
SHARED_DATA = Path(os.environ.get("SPARKW2V_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def demo_corpus() -> Path:
    return DEMO_CORPUS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    from pyspark.sql import SparkSession

    # Workers must run this interpreter, the one with numba installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("sparkw2v-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.default.parallelism", "2")
               .config("spark.driver.memory", "2g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
