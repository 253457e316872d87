"""Scheduled retraining through the job: --init-from, --max-drift, and catalog tables in and out (local[2])."""
import gzip
import json
import shutil

import numpy as np
import pytest

from sparkw2v import catalog
from sparkw2v.config import TrainConfig
from sparkw2v.job import EXIT_DRIFT, EXIT_INIT_MODEL, EXIT_OUTPUT_EXISTS, EXIT_USAGE, main
from sparkw2v.local import train_local
from sparkw2v.storage import HadoopFS
from sparkw2v.trainer import InputSpec, train
from sparkw2v.vectors import WordVectors
from sparkw2v.warmstart import WarmStart, alignment, load_earlier

pytestmark = pytest.mark.spark

COMMON = ["--vector-size", "16", "--min-count", "3", "--epochs", "1", "--num-partitions", "1",
          "--local-copy", "partition"]
DATABASE = "sparkw2v_tests"


@pytest.fixture(scope="module")
def days(tmp_path_factory, demo_corpus):
    """Two "days" of text: lines 0-39 and 40-79 of the demo corpus."""
    root = tmp_path_factory.mktemp("days")
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as src:
        lines = [line for _, line in zip(range(80), src)]
    (root / "day1.txt").write_text("".join(lines[:40]), encoding="utf-8")
    (root / "day2.txt").write_text("".join(lines[40:]), encoding="utf-8")
    return root / "day1.txt", root / "day2.txt"


@pytest.fixture(scope="module")
def day1_model(spark, days, tmp_path_factory):
    out = tmp_path_factory.mktemp("day1") / "model"
    assert main(["--input", str(days[0]), "--output", str(out), *COMMON, "--save-training-state"]) == 0
    return out


@pytest.fixture(scope="module")
def database(spark, tmp_path_factory):
    """A database of the session's catalog whose managed tables live in a temporary folder."""
    location = tmp_path_factory.mktemp("warehouse") / f"{DATABASE}.db"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE} LOCATION '{location}'")
    yield DATABASE
    spark.sql(f"DROP DATABASE IF EXISTS {DATABASE} CASCADE")


def _words(folder) -> list[str]:
    return [line.split("\t")[0] for line in (folder / "vocab.tsv").read_text(encoding="utf-8").splitlines()]


def _table(spark, name) -> dict:
    return {row["word"]: (list(row["vector"]), row["count"]) for row in spark.table(name).collect()}


def _vectors(folder) -> dict:
    wv = WordVectors.load_parquet(str(folder / "vectors.parquet"))
    return {w: (wv.vectors[i].tolist(), int(wv.counts[i])) for i, w in enumerate(wv.words)}


def test_warm_start_counts_shared_new_and_dropped_words_and_stays_aligned(spark, days, day1_model, tmp_path):
    out = tmp_path / "day2"
    assert main(["--input", str(days[1]), "--output", str(out), *COMMON, "--init-from", str(day1_model)]) == 0
    warm = json.loads((out / "metrics.json").read_text())["warm_start"]
    old, new = set(_words(day1_model)), set(_words(out))
    assert (warm["shared_words"], warm["new_words"], warm["dropped_words"]) == (
        len(old & new), len(new - old), len(old - new))
    assert all(n > 0 for n in (len(old & new), len(new - old), len(old - new)))
    assert warm["words"] == min(len(old & new), 10_000) and warm["drift"] == pytest.approx(1 - warm["mean_cosine"])
    assert (out / "training-state" / "syn1neg.npy").exists()  # on by default with --init-from: the next day needs it

    fresh = tmp_path / "fresh"
    assert main(["--input", str(days[1]), "--output", str(fresh), *COMMON, "--seed", "7"]) == 0
    day1, fresh_vectors = WordVectors.load_parquet(str(day1_model / "vectors.parquet")), \
        WordVectors.load_parquet(str(fresh / "vectors.parquet"))
    unaligned = alignment(day1.words, day1.vectors, fresh_vectors.words, fresh_vectors.vectors)["mean_cosine"]
    assert warm["mean_cosine"] > 0.5 > abs(unaligned)
    assert not (fresh / "training-state").exists()  # off by default without --init-from


def test_one_partition_warm_start_is_bit_identical_to_the_single_process_trainer(spark, days, day1_model):
    config = TrainConfig(vector_size=16, min_count=3, epochs=2, loss="ns+hs", num_partitions=1, syncs_per_epoch=2,
                         local_copy="partition")
    earlier = load_earlier(HadoopFS(spark), str(day1_model))
    with pytest.raises(Exception, match="holds no syn1"):  # an NS model cannot seed matched HS rows
        train(spark, InputSpec([str(days[1])]), config, initial=WarmStart(earlier, "matched"))
    distributed = train(spark, InputSpec([str(days[1])]), config, initial=WarmStart(earlier))
    local = train_local(config=config, paths=[str(days[1])], initial=WarmStart(earlier))
    for name, a, b in zip(("syn0", "syn1", "syn1neg"), distributed.params, local.params):
        assert np.array_equal(a, b), name


@pytest.mark.parametrize("flags,words", [
    (["--vector-size", "17"], ["vector_size 16, this run 17"]),
    (["--architecture", "cbow"], ["architecture 'skipgram', this run 'cbow'"]),
    (["--loss", "hs", "--init-syn1", "matched"], ["trained with --loss ns, so it holds no syn1 (for --loss hs)"]),
])
def test_an_incompatible_model_is_refused_before_training(spark, days, day1_model, tmp_path, caplog, flags, words):
    args = ["--input", str(days[1]), "--output", str(tmp_path / "out"), *COMMON, "--init-from", str(day1_model)]
    assert main(args + flags) == EXIT_INIT_MODEL
    err = caplog.text
    assert "cannot warm-start" in err and all(w in err for w in words), err
    assert "vocabulary job" not in err and not (tmp_path / "out").exists()


def test_a_model_without_training_state_is_refused(spark, days, day1_model, tmp_path, caplog):
    plain = tmp_path / "plain"
    shutil.copytree(day1_model, plain)
    shutil.rmtree(plain / "training-state")
    rc = main(["--input", str(days[1]), "--output", str(tmp_path / "out"), *COMMON, "--init-from", str(plain)])
    assert rc == EXIT_INIT_MODEL
    assert "the earlier run needs --save-training-state" in caplog.text


def test_max_drift_needs_init_from_and_a_bound_in_range(tmp_path, caplog):
    base = ["--input", "x.txt", "--output", str(tmp_path / "out")]
    assert main(base + ["--max-drift", "0.3"]) == EXIT_USAGE
    assert main(base + ["--max-drift", "3", "--init-from", "m"]) == EXIT_USAGE
    assert main(base + ["--output-table", "a.b-c"]) == EXIT_USAGE
    err = caplog.text
    assert "--max-drift needs --init-from" in err and "max_drift=3.0: must be in [0, 2]" in err
    assert "--output-table: table name 'a.b-c'" in err


def test_input_table_string_and_array_columns_train_like_the_file(spark, days, day1_model, database, tmp_path):
    lines = days[0].read_text(encoding="utf-8").splitlines()
    spark.createDataFrame([(i, line) for i, line in enumerate(lines)], "id int, text string") \
        .write.saveAsTable(f"{database}.corpus_text")
    spark.createDataFrame([(line.split(),) for line in lines], "tokens array<string>") \
        .createOrReplaceTempView("corpus_tokens")
    for name, column in ((f"{database}.corpus_text", "text"), ("corpus_tokens", None)):
        out = tmp_path / name
        rc = main(["--input-table", name, *(["--input-column", column] if column else []), "--output", str(out),
                   *COMMON])
        assert rc == 0
        assert (out / "vocab.tsv").read_text() == (day1_model / "vocab.tsv").read_text()
    assert main(["--input-table", f"{database}.nothing", "--output", str(tmp_path / "x"), *COMMON]) == 3


def test_output_table_is_published_then_replaced_only_with_overwrite(spark, days, day1_model, database, tmp_path):
    table = f"{database}.vectors"
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["--input", str(days[0]), "--output", str(first), *COMMON, "--output-table", table]) == 0
    frame = spark.table(table)
    assert [(f.name, f.dataType.simpleString()) for f in frame.schema.fields] == [
        ("word", "string"), ("vector", "array<float>"), ("count", "bigint")]
    assert _table(spark, table) == _vectors(first)

    day2 = ["--input", str(days[1]), *COMMON, "--init-from", str(day1_model), "--output-table", table]
    assert main([*day2, "--output", str(second)]) == EXIT_OUTPUT_EXISTS
    assert not second.exists() and _table(spark, table) == _vectors(first)
    assert main([*day2, "--output", str(second), "--overwrite"]) == 0
    assert _table(spark, table) == _vectors(second)
    assert [t.name for t in spark.catalog.listTables(database) if "__sparkw2v" in t.name] == []


def test_a_failed_run_leaves_the_earlier_table_untouched(spark, days, day1_model, database, tmp_path, monkeypatch):
    table = f"{database}.kept"
    assert main(["--input", str(days[0]), "--output", str(tmp_path / "first"), *COMMON, "--output-table", table]) == 0
    before = _table(spark, table)

    # Drift beyond the bound: exit 9, no output folder, the table as it was.
    day2 = ["--input", str(days[1]), *COMMON, "--init-from", str(day1_model), "--output-table", table, "--overwrite"]
    assert main([*day2, "--output", str(tmp_path / "drifted"), "--max-drift", "0"]) == EXIT_DRIFT
    assert not (tmp_path / "drifted").exists() and _table(spark, table) == before

    # Bad input: exit 3 before training.
    assert main(["--input", str(tmp_path / "missing.txt"), "--output", str(tmp_path / "x"), *COMMON,
                 "--output-table", table, "--overwrite"]) == 3
    assert _table(spark, table) == before

    # The swap itself fails after the old table was moved aside: it is put back, the staging table dropped.
    renames = []
    real_rename = catalog._rename

    def failing_rename(session, source, target):
        renames.append(source[-1])
        if "__sparkw2v_new_" in source[-1]:
            raise RuntimeError("metastore went away")
        real_rename(session, source, target)

    monkeypatch.setattr(catalog, "_rename", failing_rename)
    with pytest.raises(RuntimeError, match="metastore went away"):
        main([*day2, "--output", str(tmp_path / "swap")])
    assert len(renames) == 3  # aside, the failed swap, back
    assert _table(spark, table) == before
    assert [t.name for t in spark.catalog.listTables(database) if t.name.startswith("kept__")] == []


@pytest.mark.slow
def test_a_persistent_catalog_keeps_the_table_from_one_daily_job_to_the_next(days, tmp_path):
    """Three separate jobs, each its own JVM, on an embedded Hive metastore (Derby) and a local warehouse:
    day 1 publishes, day 2 warm-starts and replaces the table, day 3 drifts too far and leaves it."""
    import os
    import subprocess
    import sys

    import pyarrow.parquet as pq

    hive = ["--conf", "spark.sql.catalogImplementation=hive",
            "--conf", f"spark.sql.warehouse.dir={tmp_path / 'warehouse'}",
            "--conf", f"spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={tmp_path / 'metastore'};"
                      "create=true",
            "--conf", f"spark.driver.extraJavaOptions=-Dderby.stream.error.file={tmp_path / 'derby.log'}"]

    def job(*args):
        return subprocess.run([sys.executable, "-m", "sparkw2v.cli", "train", *map(str, args), *COMMON,
                               "--master", "local[1]", "--output-table", "word_vectors", *hive],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path,
                              env={**os.environ, "PYSPARK_PYTHON": sys.executable})

    def published():
        table = pq.read_table(tmp_path / "warehouse" / "word_vectors").to_pydict()
        return dict(zip(table["word"], zip(table["vector"], table["count"])))

    day1 = job("--input", days[0], "--output", tmp_path / "day1", "--save-training-state")
    assert day1.returncode == 0, day1.stderr[-3000:]
    assert published() == _vectors(tmp_path / "day1")
    day2 = job("--input", days[1], "--output", tmp_path / "day2", "--init-from", tmp_path / "day1", "--overwrite",
               "--max-drift", "0.5")
    assert day2.returncode == 0, day2.stderr[-3000:]
    assert published() == _vectors(tmp_path / "day2")
    day3 = job("--input", days[0], "--output", tmp_path / "day3", "--init-from", tmp_path / "day2", "--overwrite",
               "--max-drift", "0")
    assert day3.returncode == EXIT_DRIFT, day3.stderr[-3000:]
    assert "exceeds --max-drift 0; nothing written" in day3.stderr
    assert published() == _vectors(tmp_path / "day2") and not (tmp_path / "day3").exists()
