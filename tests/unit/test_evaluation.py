"""Analogy accuracy and word-pair correlations must equal gensim's, question for question."""
from __future__ import annotations

import numpy as np
import pytest

from sparkw2v.evaluation import evaluate_analogies, evaluate_word_pairs, pearson, spearman
from sparkw2v.vectors import WordVectors

KeyedVectors = pytest.importorskip("gensim.models").KeyedVectors
stats = pytest.importorskip("scipy.stats")

SECTIONS = {
    "capital-common-countries": [("Athens", "Greece"), ("Berlin", "Germany"), ("Paris", "France"),
                                 ("Madrid", "Spain"), ("Rome", "Italy"), ("Oslo", "Norway"), ("Tokyo", "Japan")],
    "family": [("boy", "girl"), ("brother", "sister"), ("king", "queen"), ("man", "woman"),
               ("father", "mother"), ("son", "daughter"), ("Prince", "Princess")],
    "gram-plural": [("cat", "cats"), ("dog", "dogs"), ("car", "cars"), ("tree", "trees"), ("eye", "eyes")],
}


def structured_vectors(words: list[str], pairs_by_section: dict, seed: int, dim: int = 24,
                       noise: float = 0.6) -> np.ndarray:
    """Random vectors where each section's pairs share an offset, blurred by noise.

    The noise keeps accuracy well away from 0% and 100%, so both outcomes and many near misses
    occur. Case variants ("athens" next to "Athens") get a vector close to the original's, so
    they crowd the top of the rankings and exercise gensim's rule of skipping them.
    """
    rng = np.random.default_rng(seed)
    index = {w: i for i, w in enumerate(words)}
    matrix = rng.standard_normal((len(words), dim))
    for pairs in pairs_by_section.values():
        offset = rng.standard_normal(dim) * 1.5
        for first, second in pairs:
            if first in index and second in index:
                matrix[index[second]] = matrix[index[first]] + offset + noise * rng.standard_normal(dim)
    for word, row in index.items():
        for variant in (word.lower(), word.upper(), word.capitalize()):
            if variant != word and variant in index and index[variant] > row:
                matrix[index[variant]] = matrix[row] + 0.05 * rng.standard_normal(dim)
    return matrix.astype(np.float32)


def gensim_copy(wv: WordVectors) -> "KeyedVectors":
    kv = KeyedVectors(wv.vector_size)
    kv.add_vectors(wv.words, wv.vectors.copy())
    return kv


def assert_same_analogies(ours: dict, theirs) -> None:
    score, sections = theirs
    total = sections[-1]
    assert total["section"] == "Total accuracy"
    assert (ours["correct"], ours["incorrect"]) == (len(total["correct"]), len(total["incorrect"]))
    assert ours["total"] == pytest.approx(score, abs=1e-6)
    assert [s["section"] for s in ours["sections"]] == [s["section"] for s in sections[:-1]]
    for mine, gensims in zip(ours["sections"], sections[:-1]):
        assert (mine["correct"], mine["incorrect"]) == (len(gensims["correct"]), len(gensims["incorrect"])), mine
        expected = len(gensims["correct"]) / max(1, len(gensims["correct"]) + len(gensims["incorrect"]))
        assert mine["accuracy"] == pytest.approx(expected, abs=1e-6)


def assert_same_pairs(ours: dict, theirs) -> None:
    (r, r_p), (rho, rho_p), oov_ratio = theirs
    assert ours["pearson"][0] == pytest.approx(r, abs=1e-6)
    assert ours["pearson"][1] == pytest.approx(r_p, abs=1e-6)
    assert ours["spearman"][0] == pytest.approx(rho, abs=1e-6)
    assert ours["spearman"][1] == pytest.approx(rho_p, abs=1e-6)
    assert ours["oov_ratio"] == pytest.approx(oov_ratio, abs=1e-6)


# -- a small hand-made case ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    directory = tmp_path_factory.mktemp("eval")
    lines = []
    for name, pairs in SECTIONS.items():
        lines.append(f": {name}")
        for a, b in pairs:
            for c, d in pairs:
                if (a, b) != (c, d):
                    lines.append(f"{a} {b} {c} {d}")
        lines.append(f"{pairs[0][0]} {pairs[0][1]} Atlantis Nowhere")        # OOV: skipped
        lines.append(f"{pairs[0][0].lower()} {pairs[0][1].upper()} {pairs[1][0]} {pairs[1][1]}")  # mixed case
        lines.append(f"{pairs[0][0]} {pairs[0][1]} {pairs[1][0]}")          # three words: ignored
        lines.append("")                                                     # blank: ignored
    lines += [": only-unknown-words", "Foo Bar Baz Qux"]                     # a section with nothing to answer
    analogies = directory / "questions.txt"
    analogies.write_text("\n".join(lines) + "\n", encoding="utf-8")

    words = []
    for pairs in SECTIONS.values():
        for pair in pairs:
            words += pair
    # Case variants: "athens" before "Athens" (the more frequent spelling wins when folding),
    # "KING" after "king"; plus filler words.
    words = ["athens", "paris"] + words + ["KING", "Dogs", "Cat"] + [f"filler{i}" for i in range(40)]
    rng = np.random.default_rng(2)
    rng.shuffle(words[10:])
    wv = WordVectors(words, structured_vectors(words, SECTIONS, seed=3))

    pair_lines = ["# A word-similarity file", "# Word 1\tWord 2\tHuman (mean)"]
    for i in range(45):
        a, b = rng.choice(words[:50], size=2)
        pair_lines.append(f"{a}\t{b}\t{rng.uniform(0, 10):.2f}")
    pair_lines += ["Athens\tGREECE\t7.50", "athens\tgreece\t7.50", "tiger\ttiger\t10.00",  # duplicates, OOV
                   "boy\tUnknownword\t3.0", "no tabs here", "cat\tdog\tnot-a-number", "a\tb\tc\t4.0",
                   "king\tqueen\t8.5", "King\tQueen\t8.5", "cat\tdog\t7"]
    pairs = directory / "pairs.tsv"
    pairs.write_text("\n".join(pair_lines) + "\n", encoding="utf-8")
    return wv, gensim_copy(wv), analogies, pairs


@pytest.mark.parametrize("restrict_vocab", [None, 1000, 45])
@pytest.mark.parametrize("case_insensitive", [True, False])
def test_analogies_match_gensim(small_case, restrict_vocab, case_insensitive):
    wv, kv, analogies, _ = small_case
    ours = evaluate_analogies(wv, analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    theirs = kv.evaluate_word_analogies(str(analogies), restrict_vocab=restrict_vocab or len(wv),
                                        case_insensitive=case_insensitive)
    assert_same_analogies(ours, theirs)
    assert ours["sections"][-1] == {"section": "only-unknown-words", "correct": 0, "incorrect": 0, "accuracy": 0.0}
    if restrict_vocab is None and case_insensitive:
        # The case is not degenerate: some right, some wrong, some skipped.
        assert ours["correct"] > 10 and ours["incorrect"] > 10 and ours["oov"] >= 4
        assert ours["questions"] == ours["correct"] + ours["incorrect"] + ours["oov"]


def test_analogy_answers_question_by_question_match_gensim(small_case):
    """Each answered question is right exactly when gensim lists it among its correct ones."""
    from sparkw2v.evaluation import analogy_answers
    wv, kv, analogies, _ = small_case
    names, questions, correct, _, _ = analogy_answers(wv, analogies)
    theirs = kv.evaluate_word_analogies(str(analogies), restrict_vocab=30000, case_insensitive=True)[1]
    right = {(names.index(section["section"]), *words) for section in theirs[:-1] for words in section["correct"]}
    ours = {(int(q[4]), *(wv.words[i].upper() for i in q[:4])) for q in questions[correct]}
    assert ours == right and 0 < len(right) < len(questions)


def test_analogies_with_blocks_of_one_question(small_case, monkeypatch):
    """The block size must not matter: each question scored alone gives the same totals."""
    from sparkw2v import evaluation
    wv, kv, analogies, _ = small_case
    expected = evaluate_analogies(wv, analogies)
    monkeypatch.setattr(evaluation, "_BLOCK_VALUES", 1)
    assert evaluate_analogies(wv, analogies) == expected


def test_exact_rescoring_path_matches_gensim(small_case, monkeypatch):
    """Near ties are re-scored one question at a time; force that path for every question."""
    from sparkw2v import evaluation
    wv, kv, analogies, _ = small_case
    monkeypatch.setattr(evaluation, "_NEAR_TIE", np.inf)
    for case_insensitive in (True, False):
        ours = evaluate_analogies(wv, analogies, restrict_vocab=None, case_insensitive=case_insensitive)
        theirs = kv.evaluate_word_analogies(str(analogies), restrict_vocab=len(wv), case_insensitive=case_insensitive)
        assert_same_analogies(ours, theirs)


def test_analogies_need_a_section_header(tmp_path, small_case):
    path = tmp_path / "headless.txt"
    path.write_text("Athens Greece Paris France\n", encoding="utf-8")
    with pytest.raises(ValueError, match="headless.txt: line 1"):
        evaluate_analogies(small_case[0], path)


@pytest.mark.parametrize("restrict_vocab", [300000, 30])
@pytest.mark.parametrize("case_insensitive", [True, False])
def test_word_pairs_match_gensim(small_case, restrict_vocab, case_insensitive):
    wv, kv, _, pairs = small_case
    ours = evaluate_word_pairs(wv, pairs, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    theirs = kv.evaluate_word_pairs(str(pairs), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive)
    assert_same_pairs(ours, theirs)
    assert ours["oov"] >= 1 and ours["pairs"] >= 10


def test_word_pairs_with_another_delimiter(tmp_path, small_case):
    wv, kv, _, pairs = small_case
    commas = tmp_path / "pairs.csv"
    commas.write_text(pairs.read_text(encoding="utf-8").replace("\t", ","), encoding="utf-8")
    assert_same_pairs(evaluate_word_pairs(wv, commas, delimiter=","),
                      kv.evaluate_word_pairs(str(commas), delimiter=","))


def test_word_pairs_all_unknown_is_an_error(tmp_path, small_case):
    path = tmp_path / "unknown.tsv"
    path.write_text("Foo\tBar\t1.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no usable word pairs"):
        evaluate_word_pairs(small_case[0], path)


# -- the statistics without scipy -----------------------------------------------------------------------
@pytest.mark.parametrize("n, strength, ties", [(3, 0.5, False), (4, -1.0, False), (10, 0.0, True),
                                               (353, 0.3, True), (999, 0.9, False), (60, -0.7, True)])
def test_pearson_and_spearman_match_scipy(n, strength, ties):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    y = strength * x + rng.standard_normal(n) * (1 - abs(strength))
    if ties:
        x = np.round(x, 1)
    r, p = pearson(x, y)
    expected = stats.pearsonr(x, y)
    assert r == pytest.approx(expected[0], abs=1e-12)
    assert p == pytest.approx(expected[1], rel=1e-9, abs=1e-12)
    rho, p = spearman(x, y)
    expected = stats.spearmanr(x, y)
    assert rho == pytest.approx(expected[0], abs=1e-12)
    assert p == pytest.approx(expected[1], rel=1e-9, abs=1e-12)


# -- the real evaluation files, when the shared data is there -----------------------------------------
def real_case(shared_data):
    """Every word of questions-words.txt and wordsim353.tsv (plus lower-case variants and fillers,
    about 3000 words), in shuffled order, with section-structured random vectors."""
    eval_dir = shared_data / "eval"
    analogies, pairs = eval_dir / "questions-words.txt", eval_dir / "wordsim353.tsv"
    sections: dict[str, list[tuple[str, str]]] = {}
    words: dict[str, None] = {}
    name = ""
    for line in analogies.read_text(encoding="utf-8").splitlines():
        if line.startswith(": "):
            name = line[2:].strip()
            continue
        a, b, c, d = line.split()
        sections.setdefault(name, []).extend([(a, b), (c, d)])
        words.update(dict.fromkeys([a, b, c, d, a.lower(), d.lower()]))
    for line in pairs.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(dict.fromkeys(line.split("\t")[:2]))
    ordered = list(words) + [f"filler{i}" for i in range(max(0, 3000 - len(words)))]
    np.random.default_rng(9).shuffle(ordered)
    matrix = structured_vectors(ordered, {k: list(dict.fromkeys(v)) for k, v in sections.items()},
                                seed=10, dim=50, noise=1.0)
    return WordVectors(ordered, matrix), analogies, pairs


def test_real_files_match_gensim(shared_data):
    wv, analogies, pairs = real_case(shared_data)
    kv = gensim_copy(wv)
    assert 2500 <= len(wv) <= 3500
    ours = evaluate_analogies(wv, analogies, restrict_vocab=2800)
    assert_same_analogies(ours, kv.evaluate_word_analogies(str(analogies), restrict_vocab=2800))
    assert ours["correct"] > 100 and ours["incorrect"] > 100
    assert len(ours["sections"]) == 14
    assert_same_pairs(evaluate_word_pairs(wv, pairs), kv.evaluate_word_pairs(str(pairs)))
