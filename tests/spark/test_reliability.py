"""Bad parameters and bad inputs get one clear error; checkpoints resume exactly or refuse clearly."""
import gzip
import re

import numpy as np
import pytest

from sparkw2v.checkpoint import CheckpointMismatchError, CheckpointStore
from sparkw2v.config import TrainConfig
from sparkw2v.corpus import CorpusError
from sparkw2v.job import EXIT_CHECKPOINT, EXIT_INPUT, EXIT_OUTPUT_EXISTS, EXIT_USAGE, main
from sparkw2v.params import global_model
from sparkw2v.storage import HadoopFS
from sparkw2v.trainer import InputSpec, MemoryBudgetError, TrainingDivergedError, train
from sparkw2v.vocab import EmptyVocabularyError

pytestmark = pytest.mark.spark


@pytest.mark.parametrize("flags,words", [
    (["--vector-size", "0"], ["vector_size=0", "[1, 10000]"]),
    (["--window", "0"], ["window=0"]),
    (["--sample", "-1"], ["sample=-1"]),
    (["--alpha", "0"], ["alpha=0"]),
    (["--negative", "0", "--loss", "ns"], ["negative=0", "loss='ns'"]),
    (["--epochs", "0"], ["epochs=0"]),
    (["--num-partitions", "0"], ["num_partitions=0"]),
    (["--syncs-per-epoch", "0"], ["syncs_per_epoch=0"]),
    (["--interleave", "0"], ["interleave=0"]),
    (["--min-alpha", "1"], ["min_alpha=1"]),
    (["--resume"], ["--resume needs --checkpoint-dir"]),
])
def test_bad_parameters_exit_2_before_spark(flags, words, tmp_path, capfd):
    rc = main(["--input", "x.txt", "--output", str(tmp_path / "out"), *flags])
    assert rc == EXIT_USAGE
    err = capfd.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "out").exists()


def _write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def _bad_inputs(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": pa.array([1, 2, 3])}), tmp_path / "ints.parquet")
    return {
        "no file": (InputSpec([str(tmp_path / "nothing-*.txt")]), CorpusError, ["no input file matches", "nothing-"]),
        "empty file": (InputSpec([_write(tmp_path / "empty.txt", b"")]), EmptyVocabularyError, ["empty"]),
        "blank lines": (InputSpec([_write(tmp_path / "blank.txt", b"\n  \n\t\n")]), EmptyVocabularyError,
                        ["no tokens"]),
        "below min_count": (InputSpec([_write(tmp_path / "rare.txt", b"a b c\nd a\n")]), EmptyVocabularyError,
                            ["min_count=5", "'a': 2"]),
        "parquet int column": (InputSpec([str(tmp_path / "ints.parquet")], "parquet", "text"), CorpusError,
                               ["'text'", "bigint"]),
    }


@pytest.mark.parametrize("case", ["no file", "empty file", "blank lines", "below min_count", "parquet int column"])
def test_bad_inputs_raise_clear_errors(spark, tmp_path, case):
    inputs, error, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(error) as info:
        train(spark, inputs, TrainConfig(vector_size=8, epochs=1))
    assert all(w in str(info.value) for w in words), str(info.value)


def test_bad_input_exit_code_and_no_output(spark, tmp_path):
    out = tmp_path / "out"
    rc = main(["--input", _write(tmp_path / "empty.txt", b""), "--output", str(out)])
    assert rc == EXIT_INPUT and not out.exists()


def test_undecodable_bytes_and_a_huge_line_still_train(spark, tmp_path):
    words = [f"w{i % 50}" for i in range(1_000_000)]
    text = " ".join(words).encode() + b"\ncaf\xe9 \xff\xfe w1 w2\n"
    path = _write(tmp_path / "odd.txt", text)
    result = train(spark, InputSpec([path]), TrainConfig(vector_size=8, epochs=1, max_sentence_length=10_000))
    trained = sum(r["words"] for r in result.metrics)
    assert trained == sum(1 for _ in words) + 2  # every known token, none truncated
    assert np.isfinite(result.params.syn0).all()


def test_model_too_large_for_memory_is_refused_with_both_numbers(spark, demo_corpus, monkeypatch):
    """Local mode: every process is on this machine, so the check is against its available memory."""
    from sparkw2v import trainer

    monkeypatch.setattr(trainer, "available_memory", lambda: 300 * 2**20)
    with pytest.raises(MemoryBudgetError) as info:
        train(spark, InputSpec([str(demo_corpus)]), TrainConfig(vector_size=2_000, epochs=1, local_copy="partition"))
    message = str(info.value)
    assert re.search(r"needs about [\d,]+ MiB in the machine .*\(MemAvailable\) is 300 MiB", message), message
    assert "--local-copy executor" in message


def test_existing_output_is_refused_without_overwrite(spark, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    rc = main(["--input", "x.txt", "--output", str(out)])
    assert rc == EXIT_OUTPUT_EXISTS
    assert (out / "keep.txt").read_text() == "mine"


@pytest.fixture
def small_corpus(tmp_path, demo_corpus):
    path = tmp_path / "small.txt"
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        path.write_text("".join(line for _, line in zip(range(30), src)), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("momentum", [None, 0.5], ids=["no-momentum", "block-momentum"])
def test_resume_is_bit_identical_and_refuses_other_configs(spark, tmp_path, small_corpus, momentum):
    """With a block momentum, its velocity is part of the checkpoint, or the resumed run would differ."""
    config = TrainConfig(vector_size=16, epochs=3, min_count=3, num_partitions=2, syncs_per_epoch=2,
                         block_momentum=momentum, local_copy="partition")
    uninterrupted = train(spark, InputSpec([small_corpus]), config)
    store = CheckpointStore(HadoopFS(spark), str(tmp_path / "ckpt"), keep=2)
    train(spark, InputSpec([small_corpus]), config, checkpoints=store)
    assert store.epochs() == [2, 3]
    last = store.latest()
    assert (last.velocity is not None) == (momentum is not None)
    if momentum is not None:  # the checkpoint holds the Nesterov look-ahead; the job's output, the global model
        assert not np.array_equal(last.params.syn0, uninterrupted.params.syn0)
        for a, b in zip(global_model(last.params, last.velocity, momentum), uninterrupted.params):
            assert np.array_equal(a, b)
    HadoopFS(spark).delete(str(tmp_path / "ckpt" / "epoch-0003"))  # as if killed during epoch 3
    resumed = train(spark, InputSpec([small_corpus]), config, checkpoints=store, resume=True)
    for a, b in zip(uninterrupted.params, resumed.params):
        assert np.array_equal(a, b)
    assert [m["epoch"] for m in resumed.metrics] == [1, 1, 2, 2, 3, 3]

    with pytest.raises(CheckpointMismatchError, match="vector_size"):
        train(spark, InputSpec([small_corpus]), config.replace(vector_size=17), checkpoints=store, resume=True)
    other = tmp_path / "other.txt"
    other.write_text("alpha beta gamma\n" * 10)
    with pytest.raises(CheckpointMismatchError, match="vocabulary"):
        train(spark, InputSpec([str(other)]), config, checkpoints=store, resume=True)


def test_resume_mismatch_exit_code(spark, tmp_path, small_corpus):
    ckpt = str(tmp_path / "ckpt")
    common = ["--input", small_corpus, "--vector-size", "8", "--epochs", "1", "--min-count", "3",
              "--checkpoint-dir", ckpt]
    assert main([*common, "--output", str(tmp_path / "a")]) == 0
    assert main([*common, "--output", str(tmp_path / "b"), "--resume", "--window", "3"]) == EXIT_CHECKPOINT
    assert not (tmp_path / "b").exists()


def test_divergence_fails_clearly_and_keeps_the_last_good_checkpoint(spark, tmp_path, small_corpus):
    store = CheckpointStore(HadoopFS(spark), str(tmp_path / "ckpt"))
    good = TrainConfig(vector_size=16, epochs=2, min_count=3)
    train(spark, InputSpec([small_corpus]), good, checkpoints=store)
    saved = store.latest()
    with pytest.raises(TrainingDivergedError, match="lower --alpha"):
        train(spark, InputSpec([small_corpus]), good.replace(alpha=10.0), checkpoints=store)
    assert store.epochs() == [1, 2]
    for a, b in zip(saved.params, store.latest().params):
        assert np.array_equal(a, b)
