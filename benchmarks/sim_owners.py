#!/usr/bin/env python
"""One writer per row, simulated in one process: skip-gram NS over P partitions without averaging.

The scheme of ezamyatin/distributed-word2vec (proposed to Spark as apache/spark PR 37967), measured here
before anyone builds it into the trainer. Each word's input row (syn0) and output row (syn1neg) are
hashed to one of P buckets. An epoch is P sub-rounds; in sub-round s, partition p owns the input rows
of bucket p and the output rows of bucket (p + s) mod P, and trains exactly the (context, centre) pairs
whose rows it owns, drawing its negatives from the output rows it owns (the unigram^0.75 distribution
restricted to that bucket). So every pair is trained once per epoch and no row is ever averaged.

The partitions of a sub-round touch disjoint rows, so training them one after another here gives what
P executors would compute at once. Pairs are generated per epoch from the whole corpus (subsampling and
word2vec.c's shrunk window), in the interleaved corpus order the job uses; within a (sub-round,
partition) block they keep that order. The learning rate falls linearly with the epoch's sub-rounds
run in lockstep: a pair at fraction f of its block in sub-round s is at progress (s + f) / P.
P = 1 is plain sequential skip-gram NS over the same pairs, the baseline. `--rehash` draws new buckets
for every slice of the epoch (`--slices R` cuts each epoch's pairs into R slices in corpus order, each run
as its own P sub-rounds: R x P shuffles an epoch on a cluster); `--global-negatives` draws the negatives
from the whole vocabulary, which breaks the one-writer rule and only shows what the restriction does.

    python benchmarks/sim_owners.py --tokens 17000000 --partitions 1
    python benchmarks/sim_owners.py --tokens 17000000 --partitions 64 --rehash --out benchmarks/results/sim-owners.jsonl

Prints one JSON line: the settings, analogy accuracy (30,000 words), WS353 and the seconds.
"""
import os
import sys
import time

import numpy as np
from numba import njit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from sim_copies import read_prefix, report, simulator_parser  # noqa: E402

from sparkw2v.config import TrainConfig  # noqa: E402
from sparkw2v.local import vocabulary_from_sentences  # noqa: E402
from sparkw2v.params import init_params  # noqa: E402
from sparkw2v.sampling import keep_probabilities, noise_distribution  # noqa: E402
from sparkw2v.training import encode_sentences, interleave  # noqa: E402


@njit(cache=True)
def make_pairs(ids, offsets, keep_prob, window, seed):
    """(context, centre, window number) of each pair of one epoch, in corpus order, after subsampling."""
    np.random.seed(seed)
    ctx = np.empty(ids.shape[0] * 2 * window, np.int32)
    centre = np.empty_like(ctx)
    window_of = np.empty_like(ctx)
    windows = 0
    sentence = np.empty(ids.shape[0], np.int32)
    n = 0
    for s in range(offsets.shape[0] - 1):
        length = 0
        for j in range(offsets[s], offsets[s + 1]):
            if keep_prob[ids[j]] >= 1.0 or np.random.random() < keep_prob[ids[j]]:
                sentence[length] = ids[j]
                length += 1
        for pos in range(length):
            reach = window - np.random.randint(window)
            for c in range(max(0, pos - reach), min(length, pos + reach + 1)):
                if c != pos:
                    ctx[n] = sentence[c]
                    centre[n] = sentence[pos]
                    window_of[n] = windows
                    n += 1
            windows += 1
    return ctx[:n], centre[:n], window_of[:n]


@njit(cache=True, fastmath=True)
def train_pairs(ctx, centre, order, block_of, block_start, parts, syn0, syn1neg, neg_bucket, noise_cum,
                bucket_start, bucket_words, negative, alpha_hi, alpha_lo, seed):
    """Train the pairs in `order`; block b = sub-round b // parts. The rate falls from alpha_hi to
    alpha_lo with the sub-rounds' lockstep progress. Negatives come from the centre's output bucket."""
    np.random.seed(seed)
    d = syn0.shape[1]
    grad = np.empty(d, np.float32)
    for k in range(order.shape[0]):
        i = order[k]
        b = block_of[k]
        size = block_start[b + 1] - block_start[b]
        progress = ((b // parts) + (k - block_start[b]) / size) / parts
        alpha = np.float32(alpha_hi + (alpha_lo - alpha_hi) * progress)
        w, t = ctx[i], centre[i]
        q = neg_bucket[t]
        lo, hi = bucket_start[q], bucket_start[q + 1]
        grad[:] = 0.0
        for j in range(negative + 1):
            if j == 0:
                target, label = t, 1.0
            else:
                u = np.random.random() * noise_cum[hi - 1]
                target = bucket_words[lo + np.searchsorted(noise_cum[lo:hi], u, side="right")]
                if target == t:
                    continue
                label = 0.0
            f = np.float32(0.0)
            for x in range(d):
                f += syn0[w, x] * syn1neg[target, x]
            g = np.float32((label - 1.0 / (1.0 + np.exp(-f))) * alpha)
            for x in range(d):
                grad[x] += g * syn1neg[target, x]
                syn1neg[target, x] += g * syn0[w, x]
        for x in range(d):
            syn0[w, x] += grad[x]


def buckets(n_words: int, parts: int, rng: np.random.Generator) -> np.ndarray:
    """A random, balanced assignment of the words to `parts` buckets (hashing, in a cluster)."""
    return (rng.permutation(n_words) % parts).astype(np.int32)


def noise_by_bucket(noise: np.ndarray, bucket: np.ndarray, n_buckets: int):
    """The words sorted by bucket, where each bucket starts, and the noise distribution's running sum
    within each bucket: what train_pairs draws a bucket's negatives from."""
    words = np.argsort(bucket, kind="stable").astype(np.int32)
    starts = np.searchsorted(bucket[words], np.arange(n_buckets + 1)).astype(np.int64)
    cumulative = np.empty(len(noise), np.float64)
    for q in range(n_buckets):
        lo, hi = starts[q], starts[q + 1]
        cumulative[lo:hi] = np.cumsum(noise[words[lo:hi]])
    return words, starts, cumulative


def main(argv=None) -> dict:
    p = simulator_parser(__doc__)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--sample", type=float, default=1e-4)
    p.add_argument("--alpha", type=float, default=0.025)
    p.add_argument("--global-negatives", action="store_true",
                   help="draw negatives from the whole vocabulary (breaks one writer per row; isolates its cost)")
    p.add_argument("--slices", type=int, default=1,
                   help="each epoch's pairs in this many slices run one after another, each as P sub-rounds")
    p.add_argument("--rehash", action="store_true", help="new buckets every slice (else one assignment for all)")
    p.add_argument("--shuffle", choices=("pairs", "windows"), default=None,
                   help="with --partitions 1: train each slice's pairs, or its windows (a centre word with all "
                        "its contexts), in a random order (a control)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="append the result line to this file")
    args = p.parse_args(argv)

    config = TrainConfig(architecture="skipgram", loss="ns", sample=args.sample, epochs=args.epochs,
                         alpha=args.alpha, seed=args.seed).validate()
    started = time.time()
    sentences = read_prefix(args.corpus, args.tokens)
    vocab = vocabulary_from_sentences(sentences, config.min_count)
    ids, offsets = encode_sentences(sentences, vocab.index)
    del sentences
    ids, offsets = interleave(ids, offsets, config.interleave)
    keep = keep_probabilities(vocab.counts, config.sample)
    noise = noise_distribution(vocab.counts, config.ns_exponent)
    params = init_params(len(vocab), config)
    syn0, syn1neg = params.syn0, params.syn1neg
    rng = np.random.default_rng(args.seed)
    parts = args.partitions
    if args.shuffle and parts != 1:
        p.error("--shuffle is a one-partition control")
    pairs_per_epoch = []
    span = config.alpha - config.min_alpha
    for epoch in range(config.epochs):
        ctx, centre, window_of = make_pairs(ids, offsets, keep, config.window, args.seed * 1000 + epoch)
        pairs_per_epoch.append(len(ctx))
        cuts = np.linspace(0, len(ctx), args.slices + 1).astype(np.int64)
        for piece in range(args.slices):
            if (epoch == 0 and piece == 0) or args.rehash:
                in_bucket, out_bucket = buckets(len(vocab), parts, rng), buckets(len(vocab), parts, rng)
                neg_bucket = np.zeros_like(out_bucket) if args.global_negatives else out_bucket
                bucket_words, bucket_start, noise_cum = noise_by_bucket(noise, neg_bucket, int(neg_bucket.max()) + 1)
            piece_ctx, piece_centre = ctx[cuts[piece]:cuts[piece + 1]], centre[cuts[piece]:cuts[piece + 1]]
            sub_round = (out_bucket[piece_centre] - in_bucket[piece_ctx]) % parts
            block = sub_round.astype(np.int64) * parts + in_bucket[piece_ctx]
            if args.shuffle == "pairs":
                order = rng.permutation(len(block))
            elif args.shuffle == "windows":  # a window's pairs stay together, in their order
                piece_windows = window_of[cuts[piece]:cuts[piece + 1]]
                first = piece_windows[0] if len(piece_windows) else 0
                rank = rng.permutation(int(piece_windows[-1] - first) + 1 if len(piece_windows) else 0)
                order = np.argsort(rank[piece_windows - first], kind="stable")
            else:
                order = np.argsort(block, kind="stable")
            block_of = block[order]
            block_start = np.searchsorted(block_of, np.arange(parts * parts + 1)).astype(np.int64)
            at = (epoch + piece / args.slices) / config.epochs, (epoch + (piece + 1) / args.slices) / config.epochs
            train_pairs(piece_ctx, piece_centre, order, block_of, block_start, parts, syn0, syn1neg, neg_bucket,
                        noise_cum, bucket_start, bucket_words, config.negative, config.alpha - span * at[0],
                        config.alpha - span * at[1], args.seed * 7919 + epoch * args.slices + piece)
            del order, block_of, sub_round, block
        del ctx, centre, window_of
    result = {k: v for k, v in vars(args).items() if k not in ("corpus", "eval_dir", "out")}
    result["pairs_per_epoch"] = pairs_per_epoch
    result["finite"] = bool(np.isfinite(syn0).all())
    return report(result, vocab, syn0, args, started)


if __name__ == "__main__":
    main()
