"""Skip-gram and CBOW over one slice of sentences, on a local copy of the parameters, in place.

Sentences arrive as int32 word ids `ids` with `offsets` (sentence `s` is `ids[offsets[s]:offsets[s+1]]`).
Per sentence: subsample each occurrence, then for each position draw a shrunk window and run the NS
and/or HS steps. The learning rate falls linearly from `alpha_start` to `alpha_end` across the slice's
input words (or along a counter shared with other tasks), recomputed at each sentence start.

Determinism: every random draw comes from `seed` (see rng.derive_seed), so the same arrays and seed
give bit-identical parameters.
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from ._cache import CACHE
from .rng import below, next_u64, uniform
from .steps import hs_step, ns_step, ns_window_step


class KernelTables(NamedTuple):
    """Read-only tables, built once on the driver and broadcast."""

    keep_prob: np.ndarray     # float32[V]   subsampling keep-probability per word
    noise_prob: np.ndarray    # float64[V]   alias table: acceptance probability
    noise_alias: np.ndarray   # int32[V]     alias table: the alternative word
    code_offsets: np.ndarray  # int64[V+1]   Huffman path of word w: [code_offsets[w], code_offsets[w+1])
    codes: np.ndarray         # uint8[...]
    points: np.ndarray        # int32[...]   rows of syn1


class KernelSettings(NamedTuple):
    """Integer switches; all int64 so Numba sees one homogeneous tuple type."""

    skipgram: int
    use_ns: int
    use_hs: int
    negative: int
    window: int
    cbow_mean: int
    compute_loss: int
    batched: int  # skip-gram NS: all contexts of a centre word in one ns_window_step
    shuffle_words: int = 0  # > 0: train each block of this many input words' windows in a random order
    shuffle_run: int = 1  # the windows move in runs of this many neighbours, which share context rows


class SliceResult(NamedTuple):
    loss: float    # summed negative log-likelihood over every NS/HS term
    words: int     # input words read, before subsampling (word2vec.c's convention)
    examples: int  # skip-gram (context, centre) pairs, or CBOW centre words, trained


def train_slice(ids, offsets, syn0, syn1, syn1neg, tables: KernelTables, settings: KernelSettings,
                alpha_start: float, alpha_end: float, seed: int, progress: np.ndarray | None = None,
                progress_total: float | None = None) -> SliceResult:
    """Train in place on sentences `offsets[0]..offsets[-1]` of `ids`. See the module docstring.

    By default the learning rate falls over this slice's own words. Tasks that train one shared copy
    pass a shared int64[1] `progress` counter and the words it will reach (`progress_total`): each adds
    its words to the counter and takes the rate from the counter, as word2vec.c's threads share one.
    """
    if progress is None:
        progress = np.zeros(1, dtype=np.int64)
        progress_total = offsets[-1] - offsets[0]
    loss, words, examples = _train(ids, offsets, syn0, syn1, syn1neg, tables, settings,
                                   float(alpha_start), float(alpha_end), np.uint64(seed), progress,
                                   float(progress_total))
    return SliceResult(float(loss), int(words), int(examples))


@njit(nogil=True, cache=CACHE, fastmath=True)
def _train(ids, offsets, syn0, syn1, syn1neg, tables, settings, alpha_start, alpha_end, state, progress,
           progress_total):
    size = syn0.shape[1]
    n_sentences = offsets.shape[0] - 1
    longest = 0
    for s in range(n_sentences):
        longest = max(longest, offsets[s + 1] - offsets[s])
    block = settings.shuffle_words
    # Shuffled: the kept words of a block of sentences, each tagged with its sentence's bounds in `kept`.
    capacity = min(offsets[-1] - offsets[0], block + longest) if block > 0 else longest
    kept = np.empty(capacity, dtype=np.int32)
    sentence_of = np.empty(capacity if block > 0 else 0, dtype=np.int32)
    bounds = np.empty(capacity + 1 if block > 0 else 0, dtype=np.int64)
    order = np.empty(capacity if block > 0 else 0, dtype=np.int32)
    scratch = _Scratch(np.empty(size, dtype=np.float32), np.empty(size, dtype=np.float32),
                       np.empty(2 * settings.window, dtype=np.int32),
                       np.empty((2 * settings.window if settings.batched else 0, size), dtype=np.float32),
                       np.empty(2 * settings.window, dtype=np.float32))
    loss = 0.0
    words_done = 0
    examples = 0
    s = 0
    while s < n_sentences:
        alpha = _alpha(alpha_start, alpha_end, progress[0], progress_total)
        if block == 0:  # corpus order: one sentence, its windows left to right
            length, state = _subsample(ids, offsets[s], offsets[s + 1], kept, 0, tables.keep_prob, state)
            words = offsets[s + 1] - offsets[s]
            words_done += words
            progress[0] += words
            s += 1
            for pos in range(length):
                step_loss, step_examples, state = _window(kept, 0, length, pos, syn0, syn1, syn1neg, tables,
                                                          settings, alpha, state, scratch)
                loss += step_loss
                examples += step_examples
            continue
        # Shuffled: whole sentences until the block holds `block` input words, then its windows in a
        # random order, so that the windows of one article are not trained one after another. They move
        # in runs of a few neighbours, which share most context rows: those stay in cache.
        length = 0
        n_block = 0
        first = offsets[s]
        while s < n_sentences and offsets[s] - first < block:
            bounds[n_block] = length
            end, state = _subsample(ids, offsets[s], offsets[s + 1], kept, length, tables.keep_prob, state)
            for pos in range(length, end):
                sentence_of[pos] = n_block
            length = end
            n_block += 1
            s += 1
        bounds[n_block] = length
        words = offsets[s] - first
        words_done += words
        run = settings.shuffle_run
        n_runs = (length + run - 1) // run
        for r in range(n_runs):
            order[r] = r
        for i in range(n_runs - 1, 0, -1):  # Fisher-Yates
            state, bits = next_u64(state)
            j = below(bits, i + 1)
            order[i], order[j] = order[j], order[i]
        credited = 0
        i = 0
        for k in range(n_runs):
            start = order[k] * run
            for pos in range(start, min(start + run, length)):
                if i % 1024 == 0:  # the rate falls within the block as its windows are trained
                    share = words * i // length
                    progress[0] += share - credited
                    credited = share
                    alpha = _alpha(alpha_start, alpha_end, progress[0], progress_total)
                i += 1
                sentence = sentence_of[pos]
                step_loss, step_examples, state = _window(kept, bounds[sentence], bounds[sentence + 1], pos,
                                                          syn0, syn1, syn1neg, tables, settings, alpha, state,
                                                          scratch)
                loss += step_loss
                examples += step_examples
        progress[0] += words - credited
    return loss, words_done, examples


class _Scratch(NamedTuple):
    grad: np.ndarray
    hidden: np.ndarray
    contexts: np.ndarray
    grads: np.ndarray
    coefs: np.ndarray


@njit(inline="always", cache=CACHE)
def _alpha(alpha_start, alpha_end, done, total):
    if total > 0:
        return alpha_start + (alpha_end - alpha_start) * min(done / total, 1.0)
    return alpha_start


@njit(inline="always", cache=CACHE)
def _subsample(ids, begin, end, kept, length, keep_prob, state):
    """Append the occurrences in ids[begin:end] that subsampling keeps to kept[length:]; the new length."""
    for j in range(begin, end):
        word = ids[j]
        keep = keep_prob[word]
        if keep < 1.0:
            state, bits = next_u64(state)
            if uniform(bits) >= keep:
                continue
        kept[length] = word
        length += 1
    return length, state


@njit(inline="always", cache=CACHE, fastmath=True)
def _window(sentence, first, stop, pos, syn0, syn1, syn1neg, tables, settings, alpha, state, scratch):
    """Train the window around sentence[pos], within the sentence sentence[first:stop]."""
    size = syn0.shape[1]
    window = settings.window
    grad, hidden, contexts = scratch.grad, scratch.hidden, scratch.contexts
    loss = 0.0
    examples = 0
    state, bits = next_u64(state)
    reach = window - below(bits, window)  # word2vec.c's shrunk window, 1..window
    lo = max(first, pos - reach)
    hi = min(stop, pos + reach + 1)
    centre = sentence[pos]
    if settings.batched:
        n_contexts = 0
        for c in range(lo, hi):
            if c != pos:
                contexts[n_contexts] = sentence[c]
                n_contexts += 1
        if n_contexts > 0:
            loss, state = ns_window_step(syn0, contexts, n_contexts, centre, syn1neg, scratch.grads,
                                         scratch.coefs, grad, alpha, settings.negative, tables.noise_prob,
                                         tables.noise_alias, state, settings.compute_loss)
            examples = n_contexts
    elif settings.skipgram:
        for c in range(lo, hi):
            if c == pos:
                continue
            context = sentence[c]
            for i in range(size):  # a copy, not a row view (see steps.py)
                hidden[i] = syn0[context, i]
            grad[:] = 0.0
            step_loss, state = _steps(hidden, centre, syn1, syn1neg, grad, alpha, tables, settings, state)
            loss += step_loss
            for i in range(size):
                syn0[context, i] += grad[i]
            examples += 1
    elif hi - lo > 1:
        hidden[:] = 0.0
        for c in range(lo, hi):
            if c != pos:
                context = sentence[c]
                for i in range(size):
                    hidden[i] += syn0[context, i]
        if settings.cbow_mean:
            scale = np.float32(1.0 / (hi - lo - 1))
            for i in range(size):
                hidden[i] *= scale
        grad[:] = 0.0
        step_loss, state = _steps(hidden, centre, syn1, syn1neg, grad, alpha, tables, settings, state)
        loss += step_loss
        for c in range(lo, hi):
            if c != pos:
                context = sentence[c]
                for i in range(size):
                    syn0[context, i] += grad[i]
        examples = 1
    return loss, examples, state


@njit(inline="always", cache=CACHE)
def _steps(x, target, syn1, syn1neg, grad, alpha, tables, settings, state):
    loss = 0.0
    if settings.use_hs:
        loss += hs_step(x, target, syn1, grad, alpha, tables.code_offsets, tables.codes,
                        tables.points, settings.compute_loss)
    if settings.use_ns:
        ns_loss, state = ns_step(x, target, syn1neg, grad, alpha, settings.negative,
                                 tables.noise_prob, tables.noise_alias, state, settings.compute_loss)
        loss += ns_loss
    return loss, state
