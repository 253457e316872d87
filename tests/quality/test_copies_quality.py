"""Many copies, one machine's quality: 8 partition copies with the default sync land in the band of one copy.

The planted corpus of test_model_quality (topics and frame pairs; skip-gram NS, its slowest learner, so
the check is sensitive to a rule that slows learning) is trained on Spark as 1 partition copy, as 8 with
the defaults (averaging "scaled": each copy at 8 x alpha, 16 syncs per epoch), and as 8 averaged per row
without scaling (averaging "touched", Spark MLlib's rule): that one learns at an eighth of the pace and
must fall outside the band. The corpus arrives as 8 input splits, so every copy
trains on its own eighth.

Calibration (`python tests/quality/test_copies_quality.py 6 [rule ...]`, with PYSPARK_PYTHON set to the
venv's Python), corpus seeds 0..5, topic precision@7, with the default window shuffle (2M-word blocks,
so each round's slice is shuffled whole):

    copies  rule                  min     median  mean - 6 sd   planted pairs
    1       (one copy)            0.942   0.980   0.88          18/18
    8       scaled (default)      1.000   1.000   1.00          18/18
    8       touched, no scaling   0.048   0.054   0.02           1/18

(In corpus order, seeds 0..9: one copy 0.918 / 0.981 / 0.85, 30/30; touched 0.033 / 0.042, 0/30.)

The band is precision >= BAND (below mean - 6 sd of one copy and of the default 8 copies) with every
planted pair found; plain averaging's best seed is far below it. A seed takes about a minute on local[2]
(the 8-copy runs are 48 Spark rounds each), so the test runs two.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.trainer import train_sentences
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, when run as a script
from quality.test_model_quality import N_PAIRS, planted_corpus, quality  # noqa: E402

BAND = 0.80
COPIES = 8
SEEDS = (0, 1)
RULES = {"one copy": dict(num_partitions=1),
         "scaled (default)": dict(num_partitions=COPIES),
         "touched, no scaling": dict(num_partitions=COPIES, averaging="touched", scale_alpha=False)}


def copies_config(seed: int, **rule) -> TrainConfig:
    return TrainConfig(architecture="skipgram", loss="ns", vector_size=16, window=3, min_count=1, sample=0.0,
                       epochs=3, seed=seed + 100, local_copy="partition", **rule)


def train_copies(spark, sentences, config: TrainConfig):
    rdd = spark.sparkContext.parallelize(sentences, COPIES)
    return train_sentences(spark, rdd, config)


@pytest.mark.spark
@pytest.mark.parametrize("seed", SEEDS)
def test_eight_copies_keep_one_copys_quality_where_plain_averaging_does_not(spark, seed):
    sentences, topics, pairs = planted_corpus(seed)
    scores = {}
    for name, rule in RULES.items():
        result = train_copies(spark, sentences, copies_config(seed, **rule))
        assert result.params.all_finite()
        scores[name] = (*quality(result.vocab.index, result.params.syn0, topics, pairs),
                        max(r["copies"] for r in result.metrics))
    assert scores["scaled (default)"][2] == COPIES and scores["touched, no scaling"][2] == COPIES
    for name in ("one copy", "scaled (default)"):
        precision, found, _ = scores[name]
        assert precision >= BAND and found == len(pairs), (name, scores)
    assert scores["touched, no scaling"][0] < BAND, scores


def calibrate(n_seeds: int, rules: list[str]) -> None:
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for name in rules:
        rule = RULES[name]
        started = time.perf_counter()
        precisions, found_total = [], 0
        for seed in range(n_seeds):
            sentences, topics, pairs = planted_corpus(seed)
            result = train_copies(spark, sentences, copies_config(seed, **rule))
            precision, found = quality(result.vocab.index, result.params.syn0, topics, pairs)
            precisions.append(precision)
            found_total += found
        p = np.array(precisions)
        print(f"{name:22s} min {p.min():.3f} median {np.median(p):.3f} mean-6sd {p.mean() - 6 * p.std():.2f} "
              f"pairs {found_total}/{N_PAIRS * n_seeds} ({time.perf_counter() - started:.0f} s)", flush=True)
    spark.stop()


if __name__ == "__main__":
    calibrate(int(sys.argv[1]) if len(sys.argv) > 1 else 10, sys.argv[2:] or list(RULES))
