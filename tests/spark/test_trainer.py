"""The Spark trainer on local[2]: the whole output folder, gensim round-trips, determinism."""
import gzip
import json
import logging
import os

import numpy as np
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.job import main
from sparkw2v.local import train_local
from sparkw2v.trainer import InputSpec, train

pytestmark = pytest.mark.spark

MODELS = [("skipgram", "ns"), ("skipgram", "hs"), ("cbow", "ns"), ("cbow", "hs"), ("skipgram", "ns+hs")]


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory, demo_corpus):
    path = tmp_path_factory.mktemp("corpus") / "small.txt"
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        path.write_text("".join(line for _, line in zip(range(40), src)), encoding="utf-8")
    return path


def _config(**changes):
    return TrainConfig(vector_size=24, epochs=2, min_count=3, sample=1e-3, **{"local_copy": "partition", **changes})


@pytest.mark.parametrize("architecture,loss", MODELS)
def test_job_writes_complete_output_that_gensim_loads(spark, small_corpus, tmp_path, architecture, loss):
    from gensim.models import KeyedVectors

    from sparkw2v.vectors import WordVectors

    out = tmp_path / "model"
    rc = main(["--input", str(small_corpus), "--output", str(out), "--architecture", architecture,
               "--loss", loss, "--vector-size", "24", "--epochs", "2", "--min-count", "3",
               "--num-partitions", "2", "--syncs-per-epoch", "2", "--neighbors", "the"])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "_SUCCESS", "config.json", "metrics.json", "report.html", "vectors.bin", "vectors.parquet", "vocab.tsv"]
    config = json.loads((out / "config.json").read_text())
    assert (config["architecture"], config["loss"], config["num_partitions"]) == (architecture, loss, 2)
    metrics = json.loads((out / "metrics.json").read_text())
    assert [(r["epoch"], r["round"]) for r in metrics["rounds"]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(r["words"] > 0 and np.isfinite(r["loss"]) for r in metrics["rounds"])

    kv = KeyedVectors.load_word2vec_format(str(out / "vectors.bin"), binary=True)
    ours = WordVectors.load_word2vec(str(out / "vectors.bin"), binary=True)
    from_parquet = WordVectors.load_parquet(str(out / "vectors.parquet"))
    vocab_words = [line.split("\t")[0] for line in (out / "vocab.tsv").read_text(encoding="utf-8").splitlines()]
    assert kv.index_to_key == vocab_words == list(ours.words) == list(from_parquet.words)
    assert np.array_equal(kv.vectors, ours.vectors)
    assert np.array_equal(from_parquet.vectors, ours.vectors)


def test_one_partition_is_bit_identical_to_the_single_process_trainer(spark, small_corpus):
    config = _config(architecture="cbow", loss="ns+hs", num_partitions=1, syncs_per_epoch=3)
    distributed = train(spark, InputSpec([str(small_corpus)]), config)
    local = train_local(config=config, paths=[str(small_corpus)])
    assert list(distributed.vocab.words) == list(local.vocab.words)
    for name, a, b in zip(("syn0", "syn1", "syn1neg"), distributed.params, local.params):
        assert np.array_equal(a, b), name
    assert [m["loss_sum"] for m in distributed.metrics] == [m["loss_sum"] for m in local.metrics]


def test_one_partition_interleaved_like_the_single_process_trainer(spark, demo_corpus, tmp_path):
    """Enough text for the default interleave to reorder it (more 64k-word blocks than sweeps)."""
    path = tmp_path / "larger.txt"
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        path.write_text("".join(line for _, line in zip(range(120), src)), encoding="utf-8")
    config = TrainConfig(vector_size=8, window=2, epochs=1, min_count=5, num_partitions=1, local_copy="partition")
    distributed = train(spark, InputSpec([str(path)]), config)
    local = train_local(config=config, paths=[str(path)])
    input_order = train_local(config=config.replace(interleave=1), paths=[str(path)])
    assert distributed.metrics[0]["words"] > 5 * 65536
    assert np.array_equal(distributed.params.syn0, local.params.syn0)
    assert np.array_equal(distributed.params.syn1neg, local.params.syn1neg)
    assert not np.array_equal(local.params.syn0, input_order.params.syn0)


def test_no_compute_loss_gives_the_same_vectors_and_says_loss_off(spark, small_corpus, tmp_path, caplog):
    from sparkw2v.vectors import WordVectors

    common = ["--input", str(small_corpus), "--architecture", "skipgram", "--loss", "ns+hs", "--vector-size", "24",
              "--epochs", "2", "--min-count", "3", "--num-partitions", "2", "--syncs-per-epoch", "2",
              "--local-copy", "partition"]
    assert main([*common, "--output", str(tmp_path / "on")]) == 0
    job_log = logging.getLogger("sparkw2v")  # the job logs to its own handler, without propagating
    job_log.addHandler(caplog.handler)
    try:
        assert main([*common, "--output", str(tmp_path / "off"), "--no-compute-loss"]) == 0
    finally:
        job_log.removeHandler(caplog.handler)
    on, off = (WordVectors.load_word2vec(str(tmp_path / name / "vectors.bin"), binary=True) for name in ("on", "off"))
    assert np.array_equal(on.vectors, off.vectors)
    rounds = json.loads((tmp_path / "off" / "metrics.json").read_text())["rounds"]
    assert len(rounds) == 2 * 2
    assert [(r["loss"], r["loss_sum"]) for r in rounds] == [(None, None)] * len(rounds)
    assert all(r["words"] > 0 for r in rounds)
    messages = [r.getMessage() for r in caplog.records]
    assert sum(", loss off," in m for m in messages) == len(rounds) and any("final loss off;" in m for m in messages)
    assert json.loads((tmp_path / "off" / "config.json").read_text())["compute_loss"] is False


@pytest.mark.parametrize("averaging", ["touched", "mean"])
def test_same_seed_and_partitioning_is_bit_identical(spark, small_corpus, averaging):
    config = _config(num_partitions=3, syncs_per_epoch=2, averaging=averaging)
    first = train(spark, InputSpec([str(small_corpus)]), config)
    second = train(spark, InputSpec([str(small_corpus)]), config)
    other_seed = train(spark, InputSpec([str(small_corpus)]), config.replace(seed=7))
    for a, b, c in zip(first.params, second.params, other_seed.params):
        assert np.array_equal(a, b)
        assert a.size == 0 or not np.array_equal(a, c)


def test_driver_receives_one_averaged_copy(spark, small_corpus):
    """The combine runs on the executors: the driver gets at most one copy of the touched rows (with each
    row's index and how many copies changed it)."""
    config = _config(num_partitions=4, syncs_per_epoch=2)  # 30 lines: 16 syncs would leave rounds empty
    result = train(spark, InputSpec([str(small_corpus)]), config)
    one_copy = sum(m.nbytes for m in result.params) + 16 * sum(m.shape[0] for m in result.params)
    assert all(0 < r["driver_bytes_in"] <= one_copy for r in result.metrics)


def test_full_pace_bounds_shared_rows_deterministically_and_sends_the_driver_one_copy(spark, small_corpus):
    """Where the rate and momentum make up fewer copies than there are (here 2 of 4: copies at x2, no momentum),
    the rows more copies changed are divided by 2 within their copies' step lengths: the same run twice gives
    the same model, another than the copies' mean, and the driver gets one copy of the rows plus 20 bytes a row
    (index, count and the copies' mean step length)."""
    config = _config(num_partitions=4, syncs_per_epoch=2, max_copy_alpha=0.05, block_momentum=0.0)
    assert config.most_divisor(4) == 2.0
    first = train(spark, InputSpec([str(small_corpus)]), config)
    second = train(spark, InputSpec([str(small_corpus)]), config)
    mean = train(spark, InputSpec([str(small_corpus)]), config.replace(full_pace=False))
    assert all(np.array_equal(a, b) for a, b in zip(first.params, second.params))
    assert not np.array_equal(first.params.syn0, mean.params.syn0) and first.params.all_finite()
    assert {r["most_divisor"] for r in first.metrics} == {2.0} and {r["most_divisor"] for r in mean.metrics} == {4.0}
    one_copy = sum(m.nbytes for m in first.params) + 20 * sum(m.shape[0] for m in first.params)
    assert all(0 < r["driver_bytes_in"] <= one_copy for r in first.metrics)


def _shared_files(spark):
    """This session's shared copies: files owned by the driver's Python or its JVM (the local executor);
    another job on the same host (a concurrent test run) has files of its own."""
    from sparkw2v import shared_copy

    owners = {os.getpid(), spark.sparkContext._gateway.proc.pid}
    prefixes = tuple(f"{shared_copy.PREFIX}{pid}-" for pid in owners)

    def listing(_):
        return [name for directory in shared_copy.directories() for name in os.listdir(directory)
                if name.startswith(prefixes)]

    return spark.sparkContext.parallelize(range(4), 4).flatMap(listing).collect()


def test_executor_copy_trains_one_shared_copy_and_removes_its_files(spark, small_corpus):
    """local[2] is one executor: its 4 partitions train one copy, so nothing is divided by 4 and the
    final loss falls below that of 4 averaged partition copies (scaling off in both)."""
    config = _config(num_partitions=4, averaging="touched", scale_alpha=False).replace(epochs=3)
    per_partition = train(spark, InputSpec([str(small_corpus)]), config)
    per_executor = train(spark, InputSpec([str(small_corpus)]), config.replace(local_copy="executor"))
    assert per_executor.params.all_finite()
    assert not np.array_equal(per_executor.params.syn0, per_partition.params.syn0)

    def last_epoch_loss(result):
        return result.metrics[-1]["loss"]

    assert last_epoch_loss(per_executor) < last_epoch_loss(per_partition)
    assert _shared_files(spark) == []


def test_cluster_parameters_travel_in_pieces_and_land_in_one_base_file_per_executor(spark, tmp_path, monkeypatch):
    """On a cluster the round's parameters are broadcast in pieces of at most PIECE_BYTES, and the first task
    of an executor writes them into one read-only base file; no worker keeps the pieces it loaded."""
    from sparkw2v import shared_copy, trainer
    from sparkw2v.params import Params

    rng = np.random.default_rng(3)
    params = Params(rng.random((50, 4), dtype=np.float32), np.zeros((0, 4), np.float32),
                    rng.random((30, 4), dtype=np.float32))
    monkeypatch.setattr(trainer, "PIECE_BYTES", 7 * 16)  # 7 rows of 4 floats per piece
    pieces = trainer.broadcast_pieces(spark.sparkContext, params)
    assert len(pieces) == 8 + 5
    shapes = [m.shape for m in params]
    directory = str(tmp_path)

    def load_in_task(_):
        base = shared_copy.attach_base(directory, "run", 0, shapes, lambda: trainer.load_pieces(pieces))
        kept = [piece for piece in pieces if "_value" in vars(piece)]
        yield [m.copy() for m in base], len(kept)

    try:
        results = spark.sparkContext.parallelize(range(4), 4).mapPartitions(load_in_task).collect()
    finally:
        for piece in pieces:
            piece.destroy()
    for loaded, kept in results:
        assert kept == 0
        for got, expected in zip(loaded, params):
            assert np.array_equal(got, expected)
    assert len([n for n in os.listdir(directory) if n.endswith(".base")]) == 1
