"""`sparkw2v train` run as a user runs it: its own process and JVM, evaluation and report.html included."""
from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
COMPLETE = ["_SUCCESS", "config.json", "metrics.json", "report.html", "vectors.bin", "vectors.parquet", "vocab.tsv"]


def sparkw2v(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sparkw2v.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=540, env={**os.environ, "PYSPARK_PYTHON": sys.executable})


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, demo_corpus):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    root = tmp_path_factory.mktemp("cli-train")
    corpus = root / "small.txt"
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        corpus.write_text("".join(line for _, line in zip(range(40), src)), encoding="utf-8")
    analogies = root / "questions.txt"
    analogies.write_text(": common\nthe of and in\nhe his they their\nis was are were\nthe of zzzunknown in\n",
                         encoding="utf-8")
    pairs = root / "pairs.tsv"
    pairs.write_text("# word1\tword2\tscore\nhe\tshe\t8\nis\twas\t7\nthe\ta\t6\nstate\tlincoln\t2\n"
                     "first\tone\t5\nzzzunknown\tthe\t1\n", encoding="utf-8")
    return corpus, analogies, pairs


def test_train_writes_evaluation_and_report_then_refuses_to_overwrite(inputs, tmp_path):
    corpus, analogies, pairs = inputs
    out = tmp_path / "model"
    args = ["train", "--input", corpus, "--output", out, "--epochs", "1", "--vector-size", "16",
            "--min-count", "3", "--master", "local[2]", "--eval-analogies", analogies, "--eval-pairs", pairs]
    done = sparkw2v(*args)
    assert done.returncode == 0, done.stderr[-4000:]
    assert sorted(p.name for p in out.iterdir()) == COMPLETE
    assert "evaluation:" in done.stderr and "Spearman" in done.stderr

    metrics = json.loads((out / "metrics.json").read_text())
    phases = ["spark_start_seconds", "vocabulary_seconds", "encode_seconds", "train_seconds", "write_seconds"]
    assert all(metrics[p] > 0 for p in phases) and sum(metrics[p] for p in phases) <= metrics["total_seconds"]
    assert "phases: spark start" in done.stderr and "outside training" in done.stderr
    evaluation = metrics["evaluation"]
    assert evaluation["analogies"]["file"] == str(analogies)
    assert (evaluation["analogies"]["questions"], evaluation["analogies"]["oov"]) == (4, 1)
    assert evaluation["analogies"]["correct"] + evaluation["analogies"]["incorrect"] == 3
    [pair_scores] = evaluation["pairs"]
    assert "error" not in pair_scores and (pair_scores["pairs"], pair_scores["oov"]) == (5, 1)

    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") == 2 and "Training loss per round" in report
    assert "Evaluation" in report and str(analogies) in report and "Spearman" in report
    assert "src=" not in report and "href=" not in report

    # `sparkw2v eval` on the written vectors gives the scores the job recorded.
    rescored = sparkw2v("eval", out, "--analogies", analogies, "--pairs", pairs, "--json")
    assert rescored.returncode == 0, rescored.stderr
    assert {k: v for k, v in json.loads(rescored.stdout).items() if k in ("analogies", "pairs")} == evaluation

    again = sparkw2v(*args)
    assert again.returncode == 4
    assert "--overwrite" in again.stderr and "already exists" in again.stderr
    assert sorted(p.name for p in out.iterdir()) == COMPLETE


def test_train_rejects_a_missing_evaluation_file_before_starting_spark(inputs, tmp_path):
    corpus, analogies, _ = inputs
    done = sparkw2v("train", "--input", corpus, "--output", tmp_path / "model", "--eval-analogies", analogies,
                    "--eval-pairs", tmp_path / "missing.tsv")
    assert done.returncode == 2
    assert f"--eval-pairs {tmp_path / 'missing.tsv'}: no such local file" in done.stderr
    assert not (tmp_path / "model").exists()


def test_workers_without_the_dependencies_fail_with_one_line_naming_their_python(inputs, tmp_path):
    """A worker Python that lacks numpy and numba (a bare venv as spark.pyspark.python): exit 7 before any
    real job, with one line naming that Python and the setting to change, not a worker traceback."""
    import venv

    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    worker_python = bare / "bin" / "python"
    corpus, _, _ = inputs
    done = sparkw2v("train", "--input", corpus, "--output", tmp_path / "model", "--epochs", "1", "--master",
                    "local[1]", "--conf", f"spark.pyspark.python={worker_python}")
    assert done.returncode == 7, done.stderr[-4000:]
    [line] = [line for line in done.stderr.splitlines() if "cannot run sparkw2v" in line]
    assert f"Python {worker_python} cannot run sparkw2v (ModuleNotFoundError: No module named" in line
    assert "spark.pyspark.python" in line and "--archives" in line
    assert "Traceback" not in done.stderr and not (tmp_path / "model").exists()


def test_the_makefile_demo_prints_a_good_model(tmp_path):
    """`make demo`'s own command (read from the Makefile, so the two cannot drift apart): WordSim-353
    Spearman at least 0.40 in its output (the README shows a run of it), and the neighbours of each word."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    command = " ".join(line.strip().rstrip("\\") for line in recipe.splitlines()[1:])
    args = shlex.split(command.replace("$(PY)", sys.executable).replace("demo-output", str(tmp_path / "demo")))
    done = subprocess.run(args, capture_output=True, text=True, timeout=540, cwd=REPO,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr[-4000:]
    spearman = float(re.search(r"wordsim353.tsv: Pearson [\d.]+, Spearman ([\d.]+)", done.stderr).group(1))
    assert spearman >= 0.40, done.stderr[-2000:]
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["king", "paris", "computer", "music"]
