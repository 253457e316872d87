"""Every hyperparameter of a training job, validated in one place.

`TrainConfig` is frozen: the trainer, the checkpoint and the output's `config.json` all see the same
values. `validate()` runs before Spark starts, so a typo costs a second, not a cluster allocation.
No Spark here.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

ARCHITECTURES = ("skipgram", "cbow")
LOSSES = ("ns", "hs", "ns+hs")
AVERAGING = ("scaled", "touched", "mean", "sum")
LOCAL_COPIES = ("partition", "executor")
KERNELS = ("auto", "classic", "batched")
INPUT_FORMATS = ("text", "parquet")

# The highest block momentum the scaled averaging picks by itself (TrainConfig.block_momentum_for), and
# the lower one for hierarchical softmax with Nesterov's look-ahead.
AUTO_MOMENTUM_LIMIT = 0.75
AUTO_MOMENTUM_LIMIT_HS_NESTEROV = 0.5
# Hierarchical softmax with the look-ahead raises its copies' rate by a quarter of the copies up to 16 and
# by their square root beyond (the square-root scaling rule), at least by this much, up to copy_alpha_limit.
# benchmarks/sim_copies.py on wiki-aa (SG-HS, sample 0, 3 epochs; docs/scale-out.md), analogies: 8 copies at
# alpha x 2 36.07% and 35.65% (seeds 1, 2) against 34.13% at x 4 and 35.42% at x 2.67; 4 copies 35.05% on the
# mean of seeds 1-3 against 34.40% at x 4 (one copy: 36.43%); 16 copies x 4 34.82% (x 2: 31.72%); 32 copies
# x 5.66 33.29% (x 2: 26.62%, x 8: 30.55%, x 4 on Spark: 32.34%); 64 copies x 8 29.02% and 28.47% (seeds 1, 2)
# against 26.94% at x 4.
HS_LEAST_RATE_FACTOR = 2.0
# ... and at most by this much: with the output rows at full pace (most_divisor), 64 SG-HS copies scored 37.00%
# at x5.66 against 33.84% at x8 (benchmarks/sim_copies.py, seed 1; one copy 36.49%; momentum 0.6 at x8: 33.06%).
HS_MOST_RATE_FACTOR = math.sqrt(32)
# At full pace (TrainConfig.most_divisor), a faster step on an output row may be this many times the mean
# length of the copies' steps on it (TrainConfig.full_pace_bound): negative sampling alone takes a longer
# one than hierarchical softmax. benchmarks/sim_copies.py, 64 SGNS copies, output rows at full pace: 33.17%
# analogies at 1.25 against 31.64% at 1 (seed 1; all three matrices: 32.27% at 1.25, 31.76% at 1, 26.10% at
# 1.5); SG-HS, all three matrices: 31.30% at 1.25 against 31.65% at 1 (64 copies), 32.83% against 33.73% (32).
FULL_PACE_BOUND_NS = 1.25
# Window-order shuffle block of negative sampling (TrainConfig.shuffle_block).
DEFAULT_SHUFFLE_WORDS = 2_000_000
# Shuffled windows move in runs of this many neighbours, which share most of their context rows and
# so find them in cache: per CPU-second the kernels lost 8% to the shuffle in runs of 4, 15-23% with
# single windows, and scored the same (README, "Window order").
SHUFFLE_RUN = 4

# Longest Huffman code the kernels accept. word2vec.c uses 40; a code this long needs a count
# ratio of about phi^64 between the most and least frequent word, far beyond any real corpus.
MAX_CODE_LENGTH = 64


class ConfigError(ValueError):
    """A parameter is outside its valid range. The message names the parameter, value and range."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one word2vec training job.

    The defaults follow word2vec.c and gensim where they agree. `alpha=None` picks 0.025 for
    skip-gram and 0.05 for CBOW; `num_partitions=None` uses Spark's default parallelism;
    `syncs_per_epoch=None` picks by the number of copies (syncs_for).
    """

    architecture: str = "skipgram"
    loss: str = "ns"
    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    max_vocab_size: int | None = None
    sample: float = 1e-3
    negative: int = 5
    ns_exponent: float = 0.75
    alpha: float | None = None
    min_alpha: float = 0.0001
    epochs: int = 5
    cbow_mean: bool = True
    max_sentence_length: int = 10_000
    lowercase: bool = False
    num_partitions: int | None = None
    syncs_per_epoch: int | None = None
    interleave: int = 4
    averaging: str = "scaled"
    local_copy: str = "executor"
    scale_alpha: bool | None = None
    max_copy_alpha: float | None = None
    block_momentum: float | None = None
    nesterov: bool = True
    full_pace: bool = True
    seed: int = 1
    compute_loss: bool = True
    kernel: str = "auto"
    shuffle_words: int | None = None

    # -- derived values -------------------------------------------------------------------------
    @property
    def start_alpha(self) -> float:
        if self.alpha is not None:
            return self.alpha
        return 0.025 if self.architecture == "skipgram" else 0.05

    @property
    def use_ns(self) -> bool:
        return self.loss in ("ns", "ns+hs")

    @property
    def use_hs(self) -> bool:
        return self.loss in ("hs", "ns+hs")

    def alpha_factor(self, copies: int) -> float:
        """How much each local copy's learning rate is raised over the global schedule.

        averaging="scaled" (the default): by the number of copies, up to `copy_alpha_limit / alpha`
        (hierarchical softmax with the look-ahead: by a quarter of them up to 16 and their square root beyond,
        at least HS_LEAST_RATE_FACTOR and at most HS_MOST_RATE_FACTOR); a
        block momentum makes up the rest (block_momentum_for) and the combine divides each row's summed
        update by the copies that changed it or by combine_divisor, whichever is larger (README, "Many
        copies"). Measured in one process with E partition copies of the
        kernel (4M tokens of wiki-aa, 3 epochs, 16 syncs per epoch; one copy: SGNS 10.5%, SG-HS 16.5%
        analogies): at E=8 SGNS 8.7% (per-row mean without scaling 1.3%, with the scaling below 6.9%),
        SG-HS 14.9%; copies trained at 0.8 (SG, E=32 unlimited) diverged, at 0.4 did not.

        The other averagings, by `scale_alpha`:
        Averaging `copies` copies that each took a step of size alpha moves the shared rows by about one
        such step, not `copies` of them. Measured on wiki-aa (SGNS, 3 epochs): without scaling, P=2
        lands where a single copy at alpha/2 does (20.1% analogies against 30.1%), and P=8 at 3.2%;
        scaling each copy's rate by P (the linear scaling rule of data-parallel SGD) gives 27.2% and
        16.3%. For hierarchical softmax the same scaling at P=8 without subsampling wrecked the model
        (0.02%), so `scale_alpha=None` (auto) scales negative sampling alone; True or False force it.
        The copies are the partitions, or the executors with `local_copy="executor"`.
        """
        if self.averaging == "scaled":
            factor = max(1.0, self.copy_alpha_limit / self.start_alpha)
            if self.use_hs and self.nesterov:
                factor = min(factor, HS_MOST_RATE_FACTOR,
                             max(HS_LEAST_RATE_FACTOR, min(copies / 4, math.sqrt(copies))))
            return float(min(max(copies, 1), factor))
        scale = self.loss == "ns" if self.scale_alpha is None else self.scale_alpha
        if not scale or self.averaging == "sum":
            return 1.0
        return float(max(copies, 1))

    def kernel_for(self, copies: int) -> str:
        """kernel, or where "auto": the batched kernel for skip-gram NS trained as one copy, else classic.

        On one copy the batched kernel is both faster and better (wiki-aa, 3 epochs, seeds 1-3: 32.8% analogies
        and WS353 0.656 against 30.4% and 0.619, 2.3x gensim's words per CPU-second against 1.3x), but it
        loses more when copies are averaged (8 copies: 27.98% against its one copy's 32.70%; the classic
        kernel 29.4% against 30.6%; with the windows shuffled, 31.81% against the classic kernel's 33.63%),
        so several copies train with the classic kernel.
        """
        if self.kernel != "auto":
            return self.kernel
        return "batched" if (self.architecture, self.loss) == ("skipgram", "ns") and copies <= 1 else "classic"

    @property
    def shuffle_block(self) -> int:
        """shuffle_words, or where None (auto): 2,000,000 words for negative sampling alone, else 0.

        Trained in corpus order, the windows of one article follow each other, and its frequent words
        take many similar steps in a row. Shuffling the windows within blocks of 2M words (wiki-aa, 3
        epochs, seed 1, `benchmarks/sim_copies.py`): one copy of SGNS (batched kernel) 33.8% analogies
        against 32.7%, CBOW-NS 32.2% against 29.0%; 8 SGNS copies 33.6% against 25.6-30.6% (seeds 1-3).
        Hierarchical softmax lost: one SG-HS copy 34.3% against 36.5%, 8 copies 28.5% against 33.5%.
        A block costs 20 bytes per word of working memory in each task (40 MB at 2M).
        """
        if self.shuffle_words is not None:
            return self.shuffle_words
        return DEFAULT_SHUFFLE_WORDS if self.loss == "ns" else 0

    @property
    def copy_alpha_limit(self) -> float:
        """max_copy_alpha, or where None: 0.2, and 0.1 with hierarchical softmax, whose copies fell apart at
        0.2 (wiki-aa, 8 SG-HS copies at 8 x alpha, 16 syncs per epoch: 0.3% analogies; at 0.1 with the
        momentum making up the rest, 33.4%; one copy 36.5%; 16 CBOW-HS copies with the look-ahead at 0.2:
        14.96%, at 0.1: 17.51%, one copy 22.11%). Skip-gram HS with the look-ahead keeps 0.2: its copies
        reach it only from 64 copies on (alpha_factor), where x8 scored 29.14% against 26.60% at x4."""
        if self.max_copy_alpha is not None:
            return self.max_copy_alpha
        skipgram_hs_ahead = self.nesterov and self.architecture == "skipgram"
        return 0.1 if self.use_hs and not skipgram_hs_ahead else 0.2

    def syncs_for(self, copies: int) -> int:
        """syncs_per_epoch, or where None (auto): 1 for one copy, else 16. How far the copies drift apart
        between syncs is what costs quality: 8 SGNS copies on wiki-aa (16M tokens, plain mean) scored
        23.0% analogies with 4 syncs per epoch, 25.8% with 16, 24.9% with 64; 8 SG-HS copies 33.4% with
        16, 35.1% with 64 (one copy: 30.6% and 36.5%); on a 4M-token prefix, 32 SGNS copies with the
        momentum 5.2% with 4 syncs per epoch, 7.8% with 8, 9.3% with 16."""
        if self.syncs_per_epoch is not None:
            return self.syncs_per_epoch
        return 1 if copies <= 1 else 16

    def block_momentum_for(self, copies: int) -> float:
        """The momentum of the combined update across syncs (BMUF, Chen & Huo 2016), averaging="scaled" only.

        None (auto): 1 - alpha_factor / copies, so that the copies' rate factor and the momentum's
        long-run gain 1 / (1 - momentum) together make up the copies' number: 0 where the factor alone
        reaches it (copies <= copy_alpha_limit / alpha), 0.75 for 32 skip-gram NS copies, and at most
        AUTO_MOMENTUM_LIMIT: 0.875 lost most of what it should have made up (4M tokens, 64 copies:
        SGNS 4.1%, SG-HS 3.7% analogies, against 10.5% and 16.5% for one copy). With hierarchical softmax
        and the look-ahead (nesterov), at most AUTO_MOMENTUM_LIMIT_HS_NESTEROV: 16 SG-HS copies on wiki-aa
        (sample 0, 3 epochs) scored 34.82% with 0.5, 28.91% with 0.75 and 30.80% with 0.75 and no
        look-ahead (one copy 36.5%; benchmarks/sim_copies.py, docs/scale-out.md).
        """
        if self.averaging != "scaled" or copies <= 1:
            return 0.0
        if self.block_momentum is not None:
            return self.block_momentum
        limit = AUTO_MOMENTUM_LIMIT_HS_NESTEROV if self.use_hs and self.nesterov else AUTO_MOMENTUM_LIMIT
        return min(limit, 1.0 - self.alpha_factor(copies) / copies)

    def copies_made_up(self, copies: int) -> float:
        """How many of the copies the rate factor and the momentum's gain 1 / (1 - momentum) make up together."""
        gain = 1.0 / (1.0 - self.block_momentum_for(copies))
        return min(float(max(copies, 1)), self.alpha_factor(copies) * gain)

    def combine_divisor(self, copies: int) -> float:
        """The least divisor of a row's summed update in the scaled combine, at most the number of copies.

        Hierarchical softmax: copies_made_up, so a row one copy touched moves by one step at the global
        rate (and the copies' plain mean where the two make up their number).
        Negative sampling alone: the momentum's gain only, so such a row keeps its copy's faster step,
        as in a per-row mean: on wiki-aa, 8 SGNS copies at 8 x alpha scored 28.9% analogies so, 25.8%
        with the plain mean (one copy 30.6%).
        """
        if self.loss != "ns":
            return self.copies_made_up(copies)
        return min(float(max(copies, 1)), 1.0 / (1.0 - self.block_momentum_for(copies)))

    def most_divisor(self, copies: int, matrix: int = 1) -> float:
        """The largest divisor of a row's summed update in the scaled combine (params.combined_values), for
        `matrix` 0 (syn0, the input vectors), 1 (syn1) or 2 (syn1neg).

        With full_pace (the default), for skip-gram's output rows (syn1, syn1neg): the copies the rate and the
        momentum make up (copies_made_up), so that a row more copies changed moves at one copy's pace instead
        of at their mean's, its step bounded by full_pace_bound times the mean length of the copies' steps.
        That is below the number of copies only where the rule makes up fewer: negative sampling from 33
        copies, hierarchical softmax from 5. The input vectors keep the copies' mean. Measured in one process
        (wiki-aa's first 17M tokens, 3 epochs, seed 1 unless stated; docs/scale-out.md), analogies with the
        output rows at full pace, with all three matrices at full pace, and with the copies' mean:
        64 SGNS copies 33.17% (bound 1.25), 31.76% / 29.73% (seeds 1, 2; bound 1), 28.35% / 28.10% (one copy
        33.66% / 33.38%); SG-HS at 8 copies 36.04%, 35.02%, 36.07%; at 16 35.84%, 34.07%, 34.82%; at 32
        34.78%, 33.73%, 33.29% (x5.66); at 64 33.84%, 31.65%, 29.02% (one copy 36.49%). So the input vectors
        at full pace lost (8 SG-HS copies: 33.35% with them alone), and unbounded the faster step wrecked both
        losses at 64 copies (0.19%, 1.68%). CBOW's copies were not measured with it.
        Otherwise: the number of copies (their plain mean for the rows all of them changed).
        """
        copies = max(copies, 1)
        if matrix == 0 or not self.full_pace or self.averaging != "scaled" or self.architecture != "skipgram":
            return float(copies)
        return self.copies_made_up(copies)  # never below combine_divisor: the gain alone (NS) or this (HS)

    def full_pace_bound(self) -> float:
        """How many times the mean length of the copies' steps a faster step may be (FULL_PACE_BOUND_NS)."""
        return 1.0 if self.use_hs else FULL_PACE_BOUND_NS

    def alpha_at(self, progress: float) -> float:
        """Learning rate after `progress` (0..1) of all epochs: linear from alpha to min_alpha."""
        progress = min(max(progress, 0.0), 1.0)
        return self.start_alpha - (self.start_alpha - self.min_alpha) * progress

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> "TrainConfig":
        """Raise ConfigError for the first parameter outside its range; return self otherwise."""
        _choice("architecture", self.architecture, ARCHITECTURES)
        _choice("loss", self.loss, LOSSES)
        _choice("averaging", self.averaging, AVERAGING)
        _choice("local_copy", self.local_copy, LOCAL_COPIES)
        _choice("kernel", self.kernel, KERNELS)
        if self.kernel == "batched" and (self.architecture, self.loss) != ("skipgram", "ns"):
            raise ConfigError(f"kernel='batched' with architecture={self.architecture!r}, loss={self.loss!r}: "
                              "the batched kernel trains skip-gram with negative sampling only")
        if self.local_copy == "executor" and self.averaging == "mean":
            raise ConfigError("averaging='mean' with local_copy='executor': the number of executor copies is "
                              "only known per row, so choose averaging='touched' or 'sum'")
        if self.averaging == "scaled" and self.scale_alpha is not None:
            raise ConfigError(f"scale_alpha={self.scale_alpha!r} with averaging='scaled': the scaled averaging "
                              "sets each copy's rate itself (max_copy_alpha); scale_alpha applies to "
                              "averaging 'touched' and 'mean'")
        if self.max_copy_alpha is not None:
            _float_range("max_copy_alpha", self.max_copy_alpha, 0.0, 10.0, "0 < max_copy_alpha <= 10",
                         lower_open=True)
        if self.block_momentum is not None:
            _float_range("block_momentum", self.block_momentum, 0.0, 1.0, "0 <= block_momentum < 1",
                         upper_open=True)
        _int_range("vector_size", self.vector_size, 1, 10_000)
        _int_range("window", self.window, 1, 1_000)
        _int_range("min_count", self.min_count, 1, None)
        if self.max_vocab_size is not None:
            _int_range("max_vocab_size", self.max_vocab_size, 1, None)
        _float_range("sample", self.sample, 0.0, 1.0, "0 <= sample < 1 (0 turns subsampling off)",
                     upper_open=True)
        _int_range("negative", self.negative, 0, 1_000)
        if self.use_ns and self.negative == 0:
            raise ConfigError(f"negative=0 with loss={self.loss!r}: negative sampling needs "
                              "negative >= 1 (or choose loss='hs')")
        _float_range("ns_exponent", self.ns_exponent, -10.0, 10.0, "-10 <= ns_exponent <= 10")
        if self.alpha is not None:
            _float_range("alpha", self.alpha, 0.0, 10.0, "0 < alpha <= 10", lower_open=True)
        _float_range("min_alpha", self.min_alpha, 0.0, self.start_alpha,
                     f"0 <= min_alpha <= alpha ({self.start_alpha})")
        _int_range("epochs", self.epochs, 1, 100_000)
        _int_range("max_sentence_length", self.max_sentence_length, 1, None)
        if self.num_partitions is not None:
            _int_range("num_partitions", self.num_partitions, 1, 100_000)
        if self.syncs_per_epoch is not None:
            _int_range("syncs_per_epoch", self.syncs_per_epoch, 1, 10_000)
        _int_range("interleave", self.interleave, 1, 1_000)
        if self.shuffle_words is not None:
            _int_range("shuffle_words", self.shuffle_words, 0, 2**30)
        _int_range("seed", self.seed, 0, 2**63 - 1)
        if self.scale_alpha is not None and not isinstance(self.scale_alpha, bool):
            raise ConfigError(f"scale_alpha={self.scale_alpha!r}: must be true, false or unset (auto)")
        for name in ("cbow_mean", "lowercase", "compute_loss", "nesterov", "full_pace"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}={getattr(self, name)!r}: must be true or false")
        return self

    # -- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    # -- memory ---------------------------------------------------------------------------------
    def parameter_bytes(self, vocab_size: int) -> int:
        """Bytes of one copy of the trainable parameters (syn0, plus syn1 and/or syn1neg)."""
        matrices = 1 + int(self.use_ns) + int(self.use_hs)
        return vocab_size * self.vector_size * 4 * matrices


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: must be one of {', '.join(allowed)}")


def _int_range(name: str, value: Any, low: int, high: int | None) -> None:
    valid = f">= {low}" if high is None else f"in [{low}, {high}]"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}={value!r}: must be an integer {valid}")
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name}={value}: must be {valid}")


def _float_range(name: str, value: Any, low: float, high: float, valid: str, *,
                 lower_open: bool = False, upper_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name}={value!r}: must be a finite number, {valid}")
    too_low = value <= low if lower_open else value < low
    too_high = value >= high if upper_open else value > high
    if too_low or too_high:
        raise ConfigError(f"{name}={value}: must be {valid}")

