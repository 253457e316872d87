"""Standard quality scores for word vectors: analogy accuracy and word-pair similarity correlation.

Both functions reproduce gensim 4.4's `KeyedVectors.evaluate_word_analogies` and
`evaluate_word_pairs` number for number, so a sparkw2v model and a gensim model trained on the same
corpus are compared on exactly the same footing: the same vocabulary restriction, the same case
folding, the same skipped lines, the same tie-breaking among case variants.

The analogy score is computed differently from gensim: gensim runs one `most_similar` per question;
here questions are scored in blocks, as one matrix product per block. The arithmetic mirrors
gensim's (same float32 means, same ``vectors @ mean / norms``); only the summation order inside the
matrix product differs, which moves a score by about 1e-7. When the best candidates of a question
are closer than 1e-5, the question is re-scored one at a time with gensim's own matrix-vector
product, so the predictions - not just the accuracy - are the same. (Exact ties are broken by row
order; gensim's partial sort leaves their order unspecified.)

numpy only: the p-values use a small incomplete-beta routine instead of scipy, which is not a
runtime dependency.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable

import numpy as np

from .vectors import WordVectors

log = logging.getLogger(__name__)

# gensim looks at the 5 best answers of `most_similar` and takes the first that is not a case
# variant of a question word.
_ANSWERS_CONSIDERED = 5
# Questions whose top candidates are closer than this are re-scored the way gensim does.
_NEAR_TIE = 1e-5
# Score at most this many float32 values at once (questions x searched words): 16 MiB.
_BLOCK_VALUES = 1 << 22


def _folding(case_insensitive: bool) -> Callable[[str], str]:
    return str.upper if case_insensitive else (lambda word: word)


def _allowed_vocabulary(wv: WordVectors, restrict_vocab: int | None, fold) -> dict[str, int]:
    """gensim's `ok_vocab`: folded word -> row, over the first `restrict_vocab` rows.

    When several words fold to the same form ("Paris", "paris"), the first (most frequent) row wins.
    """
    limit = len(wv) if restrict_vocab is None else min(restrict_vocab, len(wv))
    allowed: dict[str, int] = {}
    for row in range(limit - 1, -1, -1):
        allowed[fold(wv.words[row])] = row
    return allowed


# -- analogies ------------------------------------------------------------------------------------------
def evaluate_analogies(wv: WordVectors, path: str | os.PathLike, restrict_vocab: int | None = 30000,
                       case_insensitive: bool = True) -> dict:
    """Accuracy on an analogy file (``questions-words.txt`` format), exactly as gensim computes it.

    The file has ``: section`` lines followed by ``a b c d`` questions meaning a : b :: c : d. The
    answer to a question is the best word by 3CosAdd (`most_similar(positive=[b, c], negative=[a])`)
    among the first `restrict_vocab` words, skipping the question words and their case variants.
    A question with a word outside those `restrict_vocab` words is skipped (counted in 'oov');
    a line without exactly four words is ignored. With `case_insensitive`, words are compared in
    upper case and each folded form uses the vector of its most frequent spelling.

    The default `restrict_vocab=30000` is word2vec.c's `compute-accuracy` threshold; gensim's
    default is 300000. Pass it explicitly when comparing with gensim.

    Returns ``{'total': accuracy, 'correct': n, 'incorrect': n, 'questions': n, 'oov': n,
    'oov_ratio': percent, 'sections': [{'section', 'correct', 'incorrect', 'accuracy'}, ...]}``.
    'total' is correct / (correct + incorrect) over all sections (0.0 when nothing was answered);
    'questions' counts the well-formed question lines, skipped ones included; 'oov_ratio' is
    100 * oov / questions, as gensim logs it. Unlike gensim, the totals are not appended to
    'sections' as an extra "Total accuracy" section.
    """
    names, questions, correct, question_count, oov = analogy_answers(wv, path, restrict_vocab, case_insensitive)
    sections = []
    section_of = questions[:, 4] if len(questions) else np.zeros(0, dtype=np.int64)
    for number, name in enumerate(names):
        mask = section_of == number
        right = int(np.count_nonzero(correct[mask]))
        wrong = int(np.count_nonzero(mask)) - right
        sections.append({"section": name, "correct": right, "incorrect": wrong,
                         "accuracy": right / (right + wrong) if right + wrong else 0.0})
    total_right = int(np.count_nonzero(correct))
    total_wrong = len(questions) - total_right
    answered = total_right + total_wrong
    for section in sections:
        if section["correct"] + section["incorrect"]:
            log.info("%s: %.1f%% (%d/%d)", section["section"], 100.0 * section["accuracy"],
                     section["correct"], section["correct"] + section["incorrect"])
    result = {
        "total": total_right / answered if answered else 0.0,
        "correct": total_right,
        "incorrect": total_wrong,
        "questions": question_count,
        "oov": oov,
        "oov_ratio": 100.0 * oov / question_count if question_count else 0.0,
        "sections": sections,
    }
    log.info("analogies in %s: %.1f%% (%d/%d), %.1f%% of the questions skipped for out-of-vocabulary words",
             path, 100.0 * result["total"], total_right, answered, result["oov_ratio"])
    return result


def analogy_answers(wv: WordVectors, path: str | os.PathLike, restrict_vocab: int | None = 30000,
                    case_insensitive: bool = True) -> tuple[list[str], np.ndarray, np.ndarray, int, int]:
    """The question-by-question results behind evaluate_analogies (same arguments).

    Returns ``(section names, questions, correct, question count, oov)``: `questions` holds the answered
    questions as rows of vocabulary rows ``(a, b, c, expected, section number)``, `correct` whether each
    was answered right; the counts are as in evaluate_analogies. Rows are ranks by frequency where the
    vectors are sorted so, which lets a caller split the score by how rare the question words are.
    """
    fold = _folding(case_insensitive)
    allowed = _allowed_vocabulary(wv, restrict_vocab, fold)
    names, questions, question_count, oov = _read_analogies(path, allowed, fold)
    searched = len(wv) if restrict_vocab is None else min(restrict_vocab, len(wv))
    return names, questions, _answer(wv, questions, searched, allowed, fold), question_count, oov


def _read_analogies(path, allowed: dict[str, int], fold) -> tuple[list[str], np.ndarray, int, int]:
    """Section names, the answerable questions as rows (a, b, c, expected, section), and counts.

    Parsing follows gensim line for line: ``: `` starts a section (its name is the line with leading
    colons and spaces stripped), lines that do not split into four words are ignored, questions with
    a word outside `allowed` are counted as OOV and skipped.
    """
    names: list[str] = []
    rows: list[tuple[int, int, int, int, int]] = []
    question_count = oov = 0
    with open(path, "rb") as lines:
        for line_number, raw in enumerate(lines, 1):
            line = raw.decode("utf-8")
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                continue
            if not names:
                raise ValueError(f"{path}: line {line_number}: a question before the first ': section' line")
            words = line.split()
            if len(words) != 4:
                log.info("skipping invalid line %d in %s", line_number, path)
                continue
            question_count += 1
            ids = [allowed.get(fold(word), -1) for word in words]
            if min(ids) < 0:
                oov += 1
                continue
            rows.append((*ids, len(names) - 1))
    return names, np.array(rows, dtype=np.int64).reshape(-1, 5), question_count, oov


def _answer(wv: WordVectors, questions: np.ndarray, searched: int, allowed: dict[str, int], fold) -> np.ndarray:
    """For each question row (a, b, c, expected, _): did gensim's procedure predict `expected`?"""
    correct = np.zeros(len(questions), dtype=bool)
    if not len(questions) or searched == 0:
        return correct
    # Only the searched rows matter: every question word is one of them.
    vectors = wv.vectors[:searched]
    norms = np.linalg.norm(vectors, axis=1)  # float32, exactly as gensim's fill_norms
    with np.errstate(invalid="ignore", divide="ignore"):  # an all-zero row gives NaN, as in gensim
        unit = vectors / norms[:, None]       # gensim's get_vector(norm=True)
    # Each searched row's folded form, as a row number: two rows answer the same iff equal here.
    canonical = np.array([allowed[fold(word)] for word in wv.words[:searched]], dtype=np.int64)
    block = max(1, _BLOCK_VALUES // searched)
    for start in range(0, len(questions), block):
        batch = questions[start:start + block]
        means = _gensim_means(unit, batch)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores = (means @ vectors.T) / norms
        correct[start:start + len(batch)] = _predict(scores, batch, canonical, vectors, norms, unit)
    return correct


def _gensim_means(unit: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """gensim's `get_mean_vector([b, c, a], [1, 1, -1], pre_normalize=True, post_normalize=True)`.

    Same operations, in the same order, on operands of the same types (float32 accumulator,
    float64 weights), so numpy's casting rules - which changed in numpy 2 - pick the same precision
    as in gensim; the result is rounded to float32 as gensim's is.
    """
    mean = np.zeros((len(batch), unit.shape[1]), dtype=np.float32)
    for column, weight in ((1, 1.0), (2, 1.0), (0, -1.0)):
        mean += np.float64(weight) * unit[batch[:, column]]
    mean = mean / np.float64(3.0)
    length = np.sqrt(np.einsum("ij,ij->i", mean, mean))[:, None]
    return (mean * (1.0 / np.where(length > 0, length, 1.0))).astype(np.float32)  # a zero mean stays zero


def _predict(scores: np.ndarray, batch: np.ndarray, canonical: np.ndarray, vectors: np.ndarray,
             norms: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Apply gensim's answer rule to a block of scores [questions, searched words].

    gensim's `most_similar` drops the rows of the question words and returns the 5 best others;
    the answer is the first of those that is not a case variant of a question word (or, if all 5
    are, the last of them). The candidates are the 6 best, so the gap that decides whether the 5th
    made the cut is checked too.
    """
    n_questions, searched = scores.shape
    # Question words are always among the searched rows: only those rows can be in `allowed`.
    scores[np.arange(n_questions)[:, None], batch[:, :3]] = -np.inf
    # The 6 best rows in order, by repeated argmax: much faster than argpartition for so few.
    # argmax returns the first of equal maxima, so ties keep row order, like a stable sort.
    keep = min(_ANSWERS_CONSIDERED + 1, searched)
    rows = np.arange(n_questions)
    top = np.empty((n_questions, keep), dtype=np.int64)
    top_scores = np.empty((n_questions, keep), dtype=scores.dtype)
    for rank in range(keep):
        best = scores.argmax(axis=1)
        top[:, rank] = best
        top_scores[:, rank] = scores[rows, best]
        scores[rows, best] = -np.inf
    # A gap next to an excluded row is inf or NaN, never a near tie.
    with np.errstate(invalid="ignore"):
        near_tie = (top_scores[:, :-1] - top_scores[:, 1:] < _NEAR_TIE).any(axis=1)
    predicted = _first_acceptable(top[:, :_ANSWERS_CONSIDERED], top_scores[:, :_ANSWERS_CONSIDERED],
                                  batch, canonical)
    for q in np.flatnonzero(near_tie):
        predicted[q] = _predict_one_exactly(batch[q], canonical, vectors, norms, unit)
    return predicted == batch[:, 3]


def _first_acceptable(top: np.ndarray, top_scores: np.ndarray, batch: np.ndarray,
                      canonical: np.ndarray) -> np.ndarray:
    """The folded row gensim predicts from its ranked candidates (-1 when there is no candidate)."""
    valid = top_scores != -np.inf  # -inf marks the question words' own rows
    folded = canonical[top]
    variant = (folded == batch[:, 0:1]) | (folded == batch[:, 1:2]) | (folded == batch[:, 2:3])
    acceptable = valid & ~variant
    first = np.argmax(acceptable, axis=1)
    last_valid = valid.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1)
    rows = np.arange(len(top))
    return np.where(acceptable.any(axis=1), folded[rows, first],
                    np.where(valid.any(axis=1), folded[rows, last_valid], -1))


def _predict_one_exactly(question: np.ndarray, canonical: np.ndarray, vectors: np.ndarray,
                         norms: np.ndarray, unit: np.ndarray) -> int:
    """One question through gensim's own code path: a matrix-vector product per question."""
    mean = _gensim_means(unit, question[None, :])[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.dot(vectors, mean) / norms
    exclude = sorted({int(r) for r in question[:3]})
    scores = scores.astype(np.float64)
    scores[exclude] = -np.inf
    ranked = np.argsort(-scores, kind="stable")[: _ANSWERS_CONSIDERED]
    ranked_scores = scores[ranked]
    return int(_first_acceptable(ranked[None, :], ranked_scores[None, :], question[None, :], canonical)[0])


# -- word pairs ---------------------------------------------------------------------------------------
def evaluate_word_pairs(wv: WordVectors, path: str | os.PathLike, delimiter: str = "\t",
                        restrict_vocab: int | None = 300000, case_insensitive: bool = True) -> dict:
    """Correlation between cosine similarities and human judgements (WordSim-353, SimLex-999 format).

    Each line is ``word1<delimiter>word2<delimiter>score``; lines starting with ``#`` and lines that
    do not split into exactly three fields with a numeric score are ignored; pairs with a word
    outside the first `restrict_vocab` words are skipped and counted. Case folding works as in
    `evaluate_analogies`. The similarity of each pair is computed with gensim's own float32
    arithmetic, so even the Spearman ranks come out identical.

    Returns ``{'pearson': (r, p), 'spearman': (rho, p), 'pairs': n used, 'oov': n skipped,
    'oov_ratio': percent}`` where p are two-sided p-values (as scipy's pearsonr / spearmanr give)
    and 'oov_ratio' is 100 * oov / (pairs + oov), as gensim returns it.
    """
    fold = _folding(case_insensitive)
    allowed = _allowed_vocabulary(wv, restrict_vocab, fold)
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    with open(path, encoding="utf8") as lines:
        for line_number, line in enumerate(lines, 1):
            if not line or line.startswith("#"):
                continue
            fields = line.split(delimiter)
            try:
                if len(fields) != 3:
                    raise ValueError("not three fields")
                first, second, score = fold(fields[0]), fold(fields[1]), float(fields[2])
            except ValueError:
                log.info("skipping invalid line %d in %s", line_number, path)
                continue
            if first not in allowed or second not in allowed:
                oov += 1
                continue
            gold.append(score)
            model.append(_gensim_similarity(wv.vectors[allowed[first]], wv.vectors[allowed[second]]))
    if not gold:
        raise ValueError(f"no usable word pairs in {path}: the format is wrong or every pair has an "
                         f"out-of-vocabulary word")
    gold_values = np.array(gold, dtype=np.float64)
    model_values = np.array(model, dtype=np.float64)
    result = {
        "pearson": pearson(gold_values, model_values),
        "spearman": spearman(gold_values, model_values),
        "pairs": len(gold),
        "oov": oov,
        "oov_ratio": 100.0 * oov / (len(gold) + oov),
    }
    log.info("word pairs in %s: Pearson %.4f, Spearman %.4f, %.1f%% of the pairs skipped for "
             "out-of-vocabulary words", path, result["pearson"][0], result["spearman"][0], result["oov_ratio"])
    return result


def _gensim_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """gensim's `similarity`: each float32 vector scaled in float64, rounded to float32, float32 dot."""
    def unit(vector: np.ndarray) -> np.ndarray:
        length = np.linalg.norm(vector.astype(np.float64))
        return (vector.astype(np.float64) * (1.0 / length)).astype(np.float32) if length > 0 else vector
    return float(np.dot(unit(a), unit(b)))


# -- correlation statistics (scipy-compatible, numpy only) ---------------------------------------------
def pearson(x, y) -> tuple[float, float]:
    """Pearson's r and its two-sided p-value (t-test with n - 2 degrees of freedom), like scipy's pearsonr.

    NaN for fewer than 3 values or a constant input, where the coefficient is undefined.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"pearson needs two 1-D arrays of the same length, got {x.shape} and {y.shape}")
    if len(x) < 3:
        return math.nan, math.nan
    dx = x - x.mean()
    dy = y - y.mean()
    sxx, syy = float(np.dot(dx, dx)), float(np.dot(dy, dy))
    if sxx == 0 or syy == 0:
        return math.nan, math.nan
    # sqrt(sxx * syy) rather than the product of two roots: identical (or mirrored) inputs give
    # exactly +-1 and p = 0, as scipy reports for perfectly ranked data.
    r = float(np.clip(np.dot(dx, dy) / math.sqrt(sxx * syy), -1.0, 1.0))
    return r, _correlation_p_value(r, len(x))


def spearman(x, y) -> tuple[float, float]:
    """Spearman's rho (Pearson's r of the ranks, ties get their average rank) and its p-value."""
    return pearson(_average_ranks(x), _average_ranks(y))


def _average_ranks(values) -> np.ndarray:
    """Ranks 1..n; tied values share the mean of the ranks they span (scipy's rankdata 'average')."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _correlation_p_value(r: float, n: int) -> float:
    """Two-sided p-value of a correlation r over n samples: I_{1-r^2}((n-2)/2, 1/2)."""
    if abs(r) >= 1.0:
        return 0.0
    return _regularized_incomplete_beta((n - 2) / 2.0, 0.5, 1.0 - r * r)


def _regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) by its continued fraction (modified Lentz), accurate to about 1e-14."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _regularized_incomplete_beta(b, a, 1.0 - x)
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 10000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction / a
