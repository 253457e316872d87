"""Wall time of the Spark vocabulary job on the benchmark corpus.

    python benchmarks/bench_vocab.py [--corpus ../shared/data/corpus/wiki-aa.txt.gz] [--master local[2]]
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(REPO.parent / "shared/data/corpus/wiki-aa.txt.gz"))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/vocab.json"))
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from sparkw2v.corpus import read_corpus
    from sparkw2v.vocab import build_vocabulary

    spark = (SparkSession.builder.master(args.master).config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        vocab = build_vocabulary(read_corpus(spark, [args.corpus]).sentences, args.min_count)
        times.append(time.perf_counter() - started)
        print(f"vocabulary job: {times[-1]:.1f} s, {len(vocab)} words, {vocab.corpus_words} tokens", flush=True)
    spark.stop()
    result = {"corpus": args.corpus, "master": args.master, "min_count": args.min_count,
              "seconds": times, "median_seconds": sorted(times)[len(times) // 2], "vocab_size": len(vocab),
              "corpus_words": vocab.corpus_words, "train_words": vocab.train_words,
              "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count()}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
