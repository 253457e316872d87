#!/usr/bin/env python
"""E parameter copies simulated in one process: the research tool behind the scaled averaging.

No Spark. The corpus prefix is cut into chunks of 65,536 words dealt round-robin to E copies, as the Spark
job deals one input split's chunks, and each copy's data is interleaved as the job does. Every sync, each
copy trains its slice of the round with the project's kernel on its own copy of the parameters (one after
another: the result is what E one-core executors compute, only slower), then the copies are combined by
one of these rules:

    touched   each row: the mean over the copies that changed it (the old default; Spark MLlib's rule)
    sum       each row: the sum of the copies' updates
    scaled    copies train at alpha x --rate; each row's summed update divided by max(copies that
              changed it, --rate), or by E with --divide-by-all; then --momentum (block momentum)
    adaptive  each row's mean update times (1 - s^k) / (1 - s), s = exp(-lam x alpha x expected
              updates of the row per copy and sync): the sum for rarely updated rows, the mean for hot ones
    library   what TrainConfig's defaults do at E copies (alpha_factor, combine_divisor, block_momentum_for)

    python benchmarks/sim_copies.py --copies 8 --rule touched                  # 1.3% (one copy: 10.5%)
    python benchmarks/sim_copies.py --copies 32 --rule scaled --rate 8 --momentum 0.75
    python benchmarks/sim_copies.py --copies 64 --rule library --loss hs --sample 0
    python benchmarks/sim_copies.py --copies 8 --loss hs --sample 0 --hot-rows 4096 --hot-syncs 8

--hot-rows K --hot-syncs H adds frequency-tiered syncs (pWord2Vec's scheme): each sync's slice is cut into H
pieces, and after each piece the K hottest rows of every matrix (the most frequent words; the inner nodes
nearest the root) are combined by the same rule, so they sync H times as often as the rest.

Prints one JSON line (and appends it to --out): the settings, analogy accuracy (30,000 words) and WS353.
benchmarks/results/sim-copies.jsonl holds the runs the README's "Many copies" section cites.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from sparkw2v.config import SHUFFLE_RUN, TrainConfig  # noqa: E402
from sparkw2v.evaluation import evaluate_analogies, evaluate_word_pairs  # noqa: E402
from sparkw2v.kernels import train_slice  # noqa: E402
from sparkw2v.local import vocabulary_from_sentences  # noqa: E402
from sparkw2v.params import Params, RoundUpdate, bounded_steps, global_model, init_params, touched_rows  # noqa: E402
from sparkw2v.sampling import noise_distribution  # noqa: E402
from sparkw2v.text import read_local_sentences  # noqa: E402
from sparkw2v.training import (build_kernel_tables, encode_sentences, interleave, kernel_settings,  # noqa: E402
                               round_bounds, round_seed, schedule)
from sparkw2v.vectors import WordVectors  # noqa: E402

SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
CHUNK_WORDS = 1 << 16


def read_prefix(path: str, tokens: int) -> list[list[str]]:
    sentences, seen = [], 0
    for sentence in read_local_sentences([path], False, 10_000):
        sentences.append(sentence)
        seen += len(sentence)
        if seen >= tokens:
            break
    return sentences


def deal(ids: np.ndarray, offsets: np.ndarray, copies: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Chunks of at least CHUNK_WORDS words (whole sentences), dealt round-robin."""
    spans: list[list[tuple[int, int]]] = [[] for _ in range(copies)]
    n, start, chunk = len(offsets) - 1, 0, 0
    while start < n:
        end = min(n, max(start + 1, int(np.searchsorted(offsets, offsets[start] + CHUNK_WORDS))))
        spans[chunk % copies].append((start, end))
        start, chunk = end, chunk + 1
    out = []
    for own in spans:
        part_ids = np.concatenate([ids[offsets[a]:offsets[b]] for a, b in own]) if own else np.zeros(0, np.int32)
        lengths = np.concatenate([np.diff(offsets[a:b + 1]) for a, b in own]) if own else np.zeros(0, np.int64)
        part_offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=part_offsets[1:])
        out.append((part_ids, part_offsets))
    return out


def expected_updates(counts: np.ndarray, tables, config: TrainConfig) -> list[np.ndarray]:
    """Per matrix, the expected updates of each row in one epoch (for the adaptive rule)."""
    kept = counts * tables.keep_prob.astype(np.float64)
    contexts = config.window + 1  # the mean of 2 x a window shrunk uniformly to 1..window
    per_centre = contexts if config.architecture == "skipgram" else 1
    updates = [kept * contexts, np.zeros(0), np.zeros(0)]
    if config.use_hs:
        weights = np.repeat(kept * per_centre, np.diff(tables.code_offsets))
        updates[1] = np.bincount(tables.points, weights=weights, minlength=len(counts) - 1)
    if config.use_ns:
        noise = noise_distribution(counts, config.ns_exponent)
        updates[2] = kept * per_centre + config.negative * noise * kept.sum() * per_centre
    return updates


def hot_rows(params: Params, k: int) -> list[np.ndarray]:
    """The k hottest rows of each matrix: the most frequent words (ids are sorted by count) and, in syn1,
    the inner nodes nearest the root (the root is row V-2)."""
    out = []
    for m, matrix in enumerate(params):
        n = matrix.shape[0]
        kk = min(k, n)
        out.append(np.arange(n - kk, n) if m == 1 else np.arange(kk))
    return out


def simulator_parser(doc: str) -> argparse.ArgumentParser:
    """The simulators' common flags: the corpus prefix read_prefix takes and the evaluation report uses."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--corpus", default=os.path.join(SHARED, "corpus", "wiki-aa.txt.gz"))
    p.add_argument("--eval-dir", default=os.path.join(SHARED, "eval"))
    p.add_argument("--tokens", type=int, default=4_000_000, help="corpus prefix (default %(default)s)")
    p.add_argument("--save", default=None, help="write the scored vectors here (word2vec binary; "
                                                "benchmarks/analogy_bands.py compares two)")
    return p


def main(argv=None) -> dict:
    p = simulator_parser(__doc__)
    p.add_argument("--copies", type=int, default=8)
    p.add_argument("--syncs", type=int, default=16, help="syncs per epoch (default %(default)s)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--architecture", default="skipgram")
    p.add_argument("--loss", default="ns")
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--rule", default="library", choices=("touched", "sum", "scaled", "adaptive", "library"))
    p.add_argument("--rate", type=float, default=1.0, help="the copies' learning-rate factor (scaled, adaptive)")
    p.add_argument("--momentum", type=float, default=0.0, help="block momentum (scaled)")
    p.add_argument("--warmup", type=float, default=0.0,
                   help="scaled: epochs over which the copies' rate factor rises linearly from 1 to --rate")
    p.add_argument("--divisor-power", type=float, default=None,
                   help="scaled: divide each row's summed update by (copies that changed it) ** this instead "
                        "(1: the touched mean, 0: the sum, 0.5: between)")
    p.add_argument("--divide-by-all", action="store_true", help="scaled: divide every row by E")
    p.add_argument("--max-divisor", type=float, default=None,
                   help="scaled/library: divide a row's summed update by at most this (hot rows move faster)")
    p.add_argument("--max-divisor-matrices", default=None,
                   help="the matrices --max-divisor and --clip-step apply to (0 syn0, 1 syn1, 2 syn1neg; default: "
                        "12 where the library rule sets them, as TrainConfig.most_divisor does, else 012)")
    p.add_argument("--least-divisor", type=float, default=None,
                   help="library: divide a row's summed update by at least this instead of TrainConfig.combine_divisor")
    p.add_argument("--clip-step", type=float, default=None,
                   help="bound each row's combined step to this many times the mean length of its copies' steps "
                        "(library: TrainConfig.full_pace_bound where full_pace divides by fewer than the copies; else 0, off)")
    p.add_argument("--no-full-pace", dest="full_pace", action="store_false",
                   help="library: TrainConfig.full_pace=False (the rows all copies changed take their mean)")
    p.add_argument("--nesterov", action="store_true",
                   help="block momentum with Nesterov's look-ahead (CNTK's BMUF default): the copies start each "
                        "round from the global model plus momentum x velocity; the global model is scored")
    p.add_argument("--lam", type=float, default=1.0, help="adaptive: curvature per update")
    p.add_argument("--max-copy-alpha", type=float, default=TrainConfig.max_copy_alpha, help="library: the rate cap")
    p.add_argument("--block-momentum", type=float, default=TrainConfig.block_momentum,
                   help="library: TrainConfig.block_momentum (default: auto)")
    p.add_argument("--kernel", default="classic", help="classic, batched (skip-gram NS only) or auto")
    p.add_argument("--hot-rows", type=int, default=0, help="rows per matrix synced --hot-syncs times per sync")
    p.add_argument("--hot-syncs", type=int, default=1, help="hot-row syncs per full sync (default %(default)s)")
    p.add_argument("--shuffle-words", type=int, default=0,
                   help="train each block of this many words' windows in a random order (0: corpus order)")
    p.add_argument("--shuffle-run", type=int, default=SHUFFLE_RUN,
                   help="shuffled windows move in runs of this many neighbours")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="append the result line to this file")
    args = p.parse_args(argv)

    config = TrainConfig(architecture=args.architecture, loss=args.loss, sample=args.sample, epochs=args.epochs,
                         syncs_per_epoch=args.syncs, seed=args.seed, compute_loss=False, kernel=args.kernel,
                         max_copy_alpha=args.max_copy_alpha, block_momentum=args.block_momentum,
                         full_pace=args.full_pace).validate()
    rate, momentum, least_divisor = args.rate, args.momentum, args.rate
    if args.rule == "library":
        rate, momentum = config.alpha_factor(args.copies), config.block_momentum_for(args.copies)
        least_divisor = config.combine_divisor(args.copies) if args.least_divisor is None else args.least_divisor
        if args.max_divisor is None and config.most_divisor(args.copies) < args.copies:
            args.max_divisor = config.most_divisor(args.copies)
            args.clip_step = config.full_pace_bound() if args.clip_step is None else args.clip_step
            args.max_divisor_matrices = args.max_divisor_matrices or "12"
    elif args.divide_by_all:
        least_divisor = args.copies
    args.clip_step = args.clip_step or 0.0
    args.max_divisor_matrices = args.max_divisor_matrices or "012"
    started = time.time()
    sentences = read_prefix(args.corpus, args.tokens)
    vocab = vocabulary_from_sentences(sentences, config.min_count)
    ids, offsets = encode_sentences(sentences, vocab.index)
    del sentences
    parts = [interleave(i, o, config.interleave) for i, o in deal(ids, offsets, args.copies)]
    tables = build_kernel_tables(vocab.counts, config)
    settings = kernel_settings(config, args.copies)._replace(shuffle_words=args.shuffle_words,
                                                             shuffle_run=args.shuffle_run)
    params = init_params(len(vocab), config)
    updates = expected_updates(vocab.counts.astype(np.float64), tables, config)
    velocity = None
    diverged = None
    hot = hot_rows(params, args.hot_rows)
    for index, step in enumerate(schedule(config)):
        base = params
        warm = min(1.0, (index + 1) / (args.warmup * config.syncs_per_epoch)) if args.warmup > 0 else 1.0
        round_rate = 1.0 + (rate - 1.0) * warm
        pieces = max(1, args.hot_syncs)

        def weights(m: int, touched: np.ndarray, rows=slice(None)) -> np.ndarray:
            k = np.maximum(touched, 1).astype(np.float64)
            if args.rule == "touched":
                return 1.0 / k
            if args.rule == "sum":
                return np.ones_like(k)
            if args.rule == "adaptive":
                x = args.lam * step.alpha_start * rate * updates[m][rows] / (args.copies * config.syncs_per_epoch)
                gain = np.where(x < 1e-9, k, -np.expm1(-x * k) / np.maximum(-np.expm1(-x), 1e-300))
                return gain / k
            if args.divisor_power is not None:
                return 1.0 / k ** args.divisor_power
            if args.max_divisor is not None and str(m) in args.max_divisor_matrices:
                return 1.0 / np.maximum(np.minimum(k, args.max_divisor), least_divisor)
            return 1.0 / np.maximum(k, least_divisor)

        def combine(m: int, base_rows: np.ndarray, copies_rows: list[np.ndarray], rows=slice(None)) -> np.ndarray:
            """base_rows plus the copies' changes to them, weighted by the rule."""
            total = np.zeros(base_rows.shape, np.float64)
            touched = np.zeros(base_rows.shape[0], np.int64)
            lengths = np.zeros(base_rows.shape[0], np.float64)
            for local_rows in copies_rows:
                changed = touched_rows(local_rows, base_rows)
                delta = local_rows[changed].astype(np.float64) - base_rows[changed]
                total[changed] += delta
                touched[changed] += 1
                if args.clip_step > 0:
                    lengths[changed] += np.sqrt(np.einsum("ij,ij->i", delta, delta))
            step = total * weights(m, touched, rows)[:, None]
            if args.clip_step > 0 and str(m) in args.max_divisor_matrices:
                bounded_steps(step, args.clip_step * lengths / np.maximum(touched, 1))
            return (base_rows + step).astype(np.float32)

        locals_ = [base.copy() for _ in parts]
        hot_base = [m[h].copy() for m, h in zip(base, hot)]
        for piece in range(pieces):
            a0 = step.alpha_start + (step.alpha_end - step.alpha_start) * piece / pieces
            a1 = step.alpha_start + (step.alpha_end - step.alpha_start) * (piece + 1) / pieces
            for copy, (part_ids, part_offsets) in enumerate(parts):
                first, last = round_bounds(part_offsets, step.round * pieces + piece, config.syncs_per_epoch * pieces)
                train_slice(part_ids, part_offsets[first:last + 1], *locals_[copy], tables, settings,
                            a0 * round_rate, a1 * round_rate,
                            round_seed(config, step.epoch, step.round, copy * pieces + piece))
            for m in range(3):
                if hot[m].size == 0:
                    continue
                hot_base[m] = combine(m, hot_base[m], [local[m][hot[m]] for local in locals_], hot[m])
                for local in locals_:
                    local[m][hot[m]] = hot_base[m]
        combined = []
        for m in range(3):
            new = combine(m, base[m], [local[m] for local in locals_])
            new[hot[m]] = hot_base[m]
            combined.append(new)
        del locals_
        update = RoundUpdate(params, velocity, momentum, args.nesterov)  # the trainer's update, in place
        for m in range(3):
            update.rows(m, slice(None), combined[m])
        velocity = update.finish()
        if not params.all_finite():
            diverged = f"epoch {step.epoch + 1} sync {step.round + 1}"
            break
    result = {k: v for k, v in vars(args).items() if k not in ("corpus", "eval_dir", "out")}
    result.update(rate=rate, momentum=momentum, least_divisor=least_divisor, diverged=diverged)
    scored = global_model(params, velocity, momentum).syn0 if args.nesterov else params.syn0
    return report(result, vocab, None if diverged else scored, args, started)


def report(result: dict, vocab, syn0, args, started: float) -> dict:
    """Score syn0 (None: diverged, not scored), print the result as one JSON line and append it to --out."""
    if syn0 is not None:
        wv = WordVectors(list(vocab.words), syn0, vocab.counts)
        result["analogy"] = evaluate_analogies(wv, os.path.join(args.eval_dir, "questions-words.txt"))["total"]
        result["ws353"] = evaluate_word_pairs(wv, os.path.join(args.eval_dir, "wordsim353.tsv"))["spearman"][0]
        if args.save:
            wv.save_word2vec(args.save, binary=True)
    result["seconds"] = round(time.time() - started, 1)
    line = json.dumps(result)
    print(line)
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(line + "\n")
    return result


if __name__ == "__main__":
    main()
