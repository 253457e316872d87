"""spark-submit the training job to a real standalone cluster (master + 2 workers on 127.0.0.1)."""
import json

import numpy as np
import pytest

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO / "data" / "wiki-demo.txt.gz"

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_spark_submit_to_standalone_cluster(standalone_cluster, tmp_path):
    out = tmp_path / "model"
    output = _submit_demo_job(standalone_cluster, out, "--syncs-per-epoch", "2")
    assert "epoch 2/2 round 2/2" in output
    assert sorted(p.name for p in out.iterdir()) == [
        "_SUCCESS", "config.json", "metrics.json", "report.html", "vectors.bin", "vectors.parquet", "vocab.tsv"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["master"] == standalone_cluster.url
    assert len(metrics["rounds"]) == 4 and all(r["partitions"] == 4 for r in metrics["rounds"])

    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    assert kv.vector_size == 32 and len(kv) == metrics["vocab_size"]
    assert np.isfinite(kv.vectors).all()


def test_executor_copies_are_averaged_across_the_two_workers(standalone_cluster, tmp_path):
    """--local-copy executor: the 4 partitions train the copies of 2 single-core executors, and the
    rounds average those 2 copies (metrics.json counts them)."""
    out = tmp_path / "model"
    _submit_demo_job(standalone_cluster, out, "--local-copy", "executor")
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["copies"] for r in metrics["rounds"]] == [2, 2]
    assert json.loads((out / "config.json").read_text())["local_copy"] == "executor"

    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    assert np.isfinite(kv.vectors).all() and len(kv) == metrics["vocab_size"]


def _submit_demo_job(cluster, out, *flags: str) -> str:
    """spark-submit the job on the demo corpus (2 epochs, 32 dims, 4 partitions); returns its output."""
    done = cluster.submit(
        str(REPO / "jobs" / "train_word2vec.py"), "--input", str(DEMO_CORPUS), "--output", str(out),
        "--epochs", "2", "--vector-size", "32", "--num-partitions", "4", "--sample", "1e-4", *flags)
    # spark-submit merges the Python driver's stderr into its own stdout.
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output
