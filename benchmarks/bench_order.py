#!/usr/bin/env python
"""Visiting order: sparkw2v's single-process trainer with the corpus read in different orders, paired by seed.

Orders (`--orders`, the first is the baseline):
    K               the library's --interleave K (1: front to back)
    shuffle-lines   the lines in a random order (drawn once from the seed), read front to back
    random-blocks   the 65,536-word blocks of --interleave in a random order (drawn once), front to back

Same settings as bench_kernels.py (vector size 100, window 5, min_count 5, 3 epochs, skip-gram alpha
0.025, CBOW 0.05), except that `sghs` trains without subsampling, as in the MLlib comparison of
bench_spark.py. Each (model, seed) is trained once per order; everything else, the initial vectors
and every random draw included, is the same, so the paired difference is the effect of the order
alone. Runs are deterministic: a rerun gives the same numbers.

    python benchmarks/bench_order.py                                  # sghs x seeds 1-3, orders 1 and 4
    python benchmarks/bench_order.py --models sgns,cbowns --seeds 1,2 --orders 1,4,shuffle-lines --jobs 2

Writes benchmarks/results/order.{json,md} (--name to change the stem).
"""
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_kernels as bk  # noqa: E402  (corpus preparation, machine and version description)

MODELS = {
    "sghs": dict(architecture="skipgram", loss="hs", negative=0, sample=0.0, alpha=0.025),
    "sgns": dict(architecture="skipgram", loss="ns", negative=5, sample=1e-4, alpha=0.025),
    "cbowns": dict(architecture="cbow", loss="ns", negative=5, sample=1e-4, alpha=0.05),
    "cbowhs": dict(architecture="cbow", loss="hs", negative=0, sample=1e-4, alpha=0.05),
}


ORDERS = ("shuffle-lines", "random-blocks")  # besides an integer K


def reordered(ids, offsets, order: str, seed: int):
    """The encoded corpus with its lines in one of the random ORDERS."""
    import numpy as np

    from sparkw2v.training import INTERLEAVE_BLOCK_WORDS
    n_lines = len(offsets) - 1
    rng = np.random.default_rng([seed, 7])
    if order == "shuffle-lines":
        visit = rng.permutation(n_lines)
    else:
        block = offsets[:-1] // INTERLEAVE_BLOCK_WORDS
        visit = np.lexsort((np.arange(n_lines), rng.permutation(int(block[-1]) + 1)[block]))
    new_offsets = np.zeros(n_lines + 1, dtype=np.int64)
    np.cumsum(np.diff(offsets)[visit], out=new_offsets[1:])
    return np.concatenate([ids[offsets[s]:offsets[s + 1]] for s in visit]), new_offsets


def run_one(path: str, eval_dir: str, model: str, seed: int, order: str, epochs: int) -> dict:
    from sparkw2v.config import TrainConfig
    from sparkw2v.evaluation import evaluate_analogies, evaluate_word_pairs
    from sparkw2v.local import train_encoded, train_local, vocabulary_from_sentences
    from sparkw2v.text import read_local_sentences
    from sparkw2v.training import encode_sentences
    from sparkw2v.vectors import WordVectors

    config = TrainConfig(**MODELS[model], vector_size=100, window=5, min_count=5, epochs=epochs, seed=seed,
                         interleave=1 if order in ORDERS else int(order), compute_loss=False)
    started = time.perf_counter()
    if order in ORDERS:
        def corpus():
            return read_local_sentences([path], config.lowercase, config.max_sentence_length)

        vocab = vocabulary_from_sentences(corpus(), config.min_count)
        ids, offsets = encode_sentences(corpus(), vocab.index)
        result = train_encoded(*reordered(ids, offsets, order, seed), vocab, config)
    else:
        result = train_local(config=config, paths=[path])
    seconds = time.perf_counter() - started
    vectors = WordVectors(list(result.vocab.words), result.params.syn0, result.vocab.counts)
    analogies = evaluate_analogies(vectors, os.path.join(eval_dir, "questions-words.txt"), restrict_vocab=30000,
                                   case_insensitive=True)
    ws353 = evaluate_word_pairs(vectors, os.path.join(eval_dir, "wordsim353.tsv"))
    return {"model": model, "seed": seed, "order": order, "analogy": 100 * analogies["total"],
            "ws353": float(ws353["spearman"][0]), "seconds": seconds}


def markdown(results: dict) -> str:
    values = results["settings"]["orders"]
    base = values[0]
    label = {k: k if k in ORDERS else f"K={k}" for k in values}
    lines = [f"# Visiting order: {', '.join(label[k] for k in values)}", "",
             f"- Corpus: `{results['corpus']['source']}`, {results['corpus']['tokens']:,} tokens; "
             f"{results['settings']['epochs']} epochs; invocation {results['date']}: `{results['command']}`",
             f"- sparkw2v {results['versions'].get('sparkw2v')} @ {results['versions'].get('sparkw2v_git', '')[:10]}; "
             f"single-process trainer (`train_local`), one thread per run. Quality: Google analogies (30,000 most "
             "frequent words, case-insensitive) and Spearman on WordSim-353", ""]
    for model in results["settings"]["models"]:
        runs = [r for r in results["runs"] if r["model"] == model]
        seeds = sorted({r["seed"] for r in runs})
        header = ["seed"] + [f"analogy % {label[k]}" for k in values] + [f"WS353 {label[k]}" for k in values]
        header += [f"Δ analogy {label[k]}" for k in values[1:]]
        spec = ", ".join(f"{k} {v}" for k, v in MODELS[model].items())
        lines += [f"## {model} ({spec})", "", "| " + " | ".join(header) + " |",
                  "|" + "---:|" * len(header)]
        deltas: dict[str, list[float]] = {k: [] for k in values[1:]}
        for seed in seeds:
            by_k = {r["order"]: r for r in runs if r["seed"] == seed}
            if any(k not in by_k for k in values):
                continue
            cells = [str(seed)] + [f"{by_k[k]['analogy']:.2f}" for k in values] + \
                    [f"{by_k[k]['ws353']:.3f}" for k in values]
            for k in values[1:]:
                deltas[k].append(by_k[k]["analogy"] - by_k[base]["analogy"])
                cells.append(f"{deltas[k][-1]:+.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        for k in values[1:]:
            if deltas[k]:
                lines.append(f"\n{label[k]} against {label[base]}: mean analogy difference {statistics.mean(deltas[k]):+.2f} "
                             f"points over {len(deltas[k])} seed(s), {sum(d > 0 for d in deltas[k])} of them positive.")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=bk.DEFAULT_CORPUS)
    parser.add_argument("--eval-dir", default=bk.DEFAULT_EVAL)
    parser.add_argument("--models", default="sghs", help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--orders", default="1,4",
                        help=f"comma-separated: an integer K (--interleave K) or one of {', '.join(ORDERS)}; the "
                             "first is the baseline")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="order")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}")
    seeds = [int(s) for s in args.seeds.split(",")]
    values = [k for k in args.orders.split(",") if k]
    bad = [k for k in values if k not in ORDERS and not (k.isdigit() and int(k) >= 1)]
    if bad:
        parser.error(f"unknown orders {bad}")
    corpus = bk.prepare_corpus(args.corpus, None)
    results = {"benchmark": "bench_order", "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
               "command": " ".join([os.path.relpath(sys.executable), *sys.argv]),
               "machine": bk.machine(), "versions": bk.versions(),
               "corpus": {"source": args.corpus, "tokens": corpus["tokens"]},
               "settings": {"models": models, "seeds": seeds, "orders": values, "epochs": args.epochs},
               "runs": []}
    plan = [(m, s, k) for m in models for s in seeds for k in values]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, corpus["path"], args.eval_dir, m, s, k, args.epochs) for m, s, k in plan]
        for future in futures:
            run = future.result()
            results["runs"].append(run)
            bk.log(f"{run['model']} seed {run['seed']} order {run['order']}: analogy {run['analogy']:.2f}%, "
                   f"WS353 {run['ws353']:.3f} ({run['seconds']:.0f} s)")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as handle:
        json.dump(bk.clean_json(results), handle, indent=2)
    with open(os.path.join(args.out, f"{args.name}.md"), "w") as handle:
        handle.write(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
