"""One NS or HS step for an input vector `x` and a target word (MATH.md, word2vec.c's conventions).

Each step updates the output vectors in place and adds the input gradient (already scaled by the
learning rate) to `grad`; the caller applies `grad` to the input vector(s) afterwards. Each returns
the step's negative log-likelihood (0 when `compute_loss` is off) and the advanced RNG state.
"""
import math

import numpy as np
from numba import njit

from ._cache import CACHE
from .rng import below, next_u64, uniform

# word2vec.c's sigmoid table spans [-MAX_EXP, MAX_EXP]: HS skips a node outside it, NS uses the
# saturated gradient there. Inside the range we compute the sigmoid exactly, in float32 (expf is
# cheaper than exp, and the result is rounded to float32 anyway).
MAX_EXP = 6.0


# The output vectors are addressed as (matrix, row) rather than as row views: a view of a row costs a
# reference-count increment and decrement (two calls with atomic operations) per HS node or NS sample.
@njit(inline="always", cache=CACHE, fastmath=True)
def dot_row(x, matrix, row):
    total = np.float32(0.0)
    for i in range(x.shape[0]):
        total += x[i] * matrix[row, i]
    return total


@njit(inline="always", cache=CACHE, fastmath=True)
def axpy_pair(g, x, matrix, row, grad):
    """grad += g * matrix[row] and matrix[row] += g * x in one pass, both from the row's old value."""
    for i in range(x.shape[0]):
        old = matrix[row, i]
        grad[i] += g * old
        matrix[row, i] = old + g * x[i]


@njit(inline="always", cache=CACHE)
def softplus(f):
    """log(1 + e^f) without overflow: the NLL of a label is softplus(-f) for 1, softplus(f) for 0."""
    if f > 0:
        return f + math.log1p(math.exp(-f))
    return math.log1p(math.exp(f))


@njit(inline="always", cache=CACHE)
def draw_noise(state, noise_prob, noise_alias):
    """One word of the noise distribution from its alias table: (new state, word)."""
    state, bits = next_u64(state)
    word = below(bits, noise_prob.shape[0])
    state, bits = next_u64(state)
    if uniform(bits) >= noise_prob[word]:
        word = noise_alias[word]
    return state, word


@njit(inline="always", cache=CACHE, fastmath=True)
def ns_gradient(f, label, alpha, compute_loss, loss, likelihood):
    """The learning-rate-scaled gradient of one NS sample with product f, and the loss bookkeeping.

    The NLL comes from the sigmoid the update needs anyway: the samples' likelihoods are multiplied and
    their log taken once per step (softplus per sample cost an exp and a log1p each: 9-25% of SGNS
    training). Inside (-MAX_EXP, MAX_EXP) each factor is at least sigmoid(-6), so the product cannot
    underflow between flushes; it is flushed before it could. Returns (g as float32, loss, likelihood).
    """
    if f > MAX_EXP:
        g = (label - 1.0) * alpha
        if compute_loss:
            loss += softplus(-f) if label > 0.0 else softplus(f)
    elif f < -MAX_EXP:
        g = label * alpha
        if compute_loss:
            loss += softplus(-f) if label > 0.0 else softplus(f)
    else:
        sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-f))
        g = (label - sig) * alpha
        if compute_loss:
            likelihood *= sig if label > 0.0 else np.float32(1.0) - sig
            if likelihood < 1e-200:
                loss -= math.log(likelihood)
                likelihood = 1.0
    return np.float32(g), loss, likelihood


@njit(cache=CACHE, fastmath=True)
def ns_step(x, target, syn1neg, grad, alpha, negative, noise_prob, noise_alias, state, compute_loss):
    loss = 0.0
    likelihood = 1.0  # see ns_gradient
    for k in range(negative + 1):
        if k == 0:
            word = target
            label = 1.0
        else:
            state, word = draw_noise(state, noise_prob, noise_alias)
            if word == target:
                continue
            label = 0.0
        g32, loss, likelihood = ns_gradient(dot_row(x, syn1neg, word), label, alpha, compute_loss, loss, likelihood)
        axpy_pair(g32, x, syn1neg, word, grad)
    if compute_loss:
        loss -= math.log(likelihood)
    return loss, state


@njit(cache=CACHE, fastmath=True)
def hs_step(x, target, syn1, grad, alpha, code_offsets, codes, points, compute_loss):
    loss = 0.0
    for j in range(code_offsets[target], code_offsets[target + 1]):
        node = points[j]
        f = dot_row(x, syn1, node)
        code = codes[j]
        if f <= -MAX_EXP or f >= MAX_EXP:
            if compute_loss:
                loss += softplus(f) if code else softplus(-f)
            continue
        sig = np.float32(1.0) / (np.float32(1.0) + np.exp(-f))
        if compute_loss:
            # The NLL from the sigmoid the update needs anyway: one log per node, where softplus
            # costs an exp and a log1p. That made SG-HS with the loss on about 30% faster.
            loss -= math.log(np.float32(1.0) - sig if code else sig)
        g32 = (np.float32(1.0 - code) - sig) * np.float32(alpha)
        axpy_pair(g32, x, syn1, node, grad)
    return loss



@njit(cache=CACHE, fastmath=True)
def ns_window_step(syn0, contexts, n_contexts, target, syn1neg, grads, coefs, delta, alpha, negative,
                   noise_prob, noise_alias, state, compute_loss):
    """Skip-gram NS for all the contexts of one centre word at once, with one set of negatives
    (HogBatch: Ji et al. 2016, IntelLabs/pWord2Vec): the context rows and each output row stay in L1
    while all their products are taken, and the noise is drawn once per window, not once per context.

    `contexts[:n_contexts]` are rows of syn0; `grads` (>= n_contexts, d), `coefs` (>= n_contexts) and
    `delta` (d) are scratch. An output row's update and its part of the input gradients both come from
    its value before that update; the context rows are updated after all samples, from their values at
    the start of the window. Returns the negative log-likelihood (0 when `compute_loss` is off) and the
    advanced RNG state.
    """
    size = syn0.shape[1]
    for b in range(n_contexts):
        for i in range(size):
            grads[b, i] = 0.0
    loss = 0.0
    likelihood = 1.0  # see ns_gradient: one log per window
    for k in range(negative + 1):
        if k == 0:
            word = target
            label = 1.0
        else:
            state, word = draw_noise(state, noise_prob, noise_alias)
            if word == target:
                continue
            label = 0.0
        for b in range(n_contexts):
            f = np.float32(0.0)
            context = contexts[b]
            for i in range(size):
                f += syn0[context, i] * syn1neg[word, i]
            coefs[b], loss, likelihood = ns_gradient(f, label, alpha, compute_loss, loss, likelihood)
        for b in range(n_contexts):  # row-wise loops over i, so that each vectorises
            coef = coefs[b]
            for i in range(size):
                grads[b, i] += coef * syn1neg[word, i]
        for i in range(size):
            delta[i] = 0.0
        for b in range(n_contexts):
            coef, context = coefs[b], contexts[b]
            for i in range(size):
                delta[i] += coef * syn0[context, i]
        for i in range(size):
            syn1neg[word, i] += delta[i]
    for b in range(n_contexts):
        for i in range(size):
            syn0[contexts[b], i] += grads[b, i]
    if compute_loss:
        loss -= math.log(likelihood)
    return loss, state
