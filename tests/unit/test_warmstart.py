"""Warm start without Spark: the initial parameters, the refusals, the HS node matching, the alignment."""
import json
import random

import numpy as np
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.huffman import build_huffman
from sparkw2v.local import train_local
from sparkw2v.params import init_params
from sparkw2v.storage import LocalFS
from sparkw2v.vectors import WordVectors
from sparkw2v.vocab import Vocabulary
from sparkw2v.warmstart import (EarlierModel, WarmStart, WarmStartError, alignment, check_earlier, load_earlier,
                                map_inner_nodes, save_training_state, shared_rows, warm_params)

EARLIER_WORDS = {"the": 50, "cat": 20, "sat": 12, "mat": 9, "old": 6}   # "old" is dropped later
NEW_WORDS = {"the": 60, "sat": 25, "cat": 10, "mat": 9, "dog": 7, "new": 5}  # "dog" and "new" are new


def _earlier(config: TrainConfig, seed: int = 3) -> EarlierModel:
    vocab = Vocabulary.from_counts(EARLIER_WORDS.items())
    rng = np.random.default_rng(seed)
    d = config.vector_size

    def matrix(rows):
        return rng.normal(size=(rows, d)).astype(np.float32)

    return EarlierModel("day1", config.to_dict(), vocab, matrix(len(vocab)),
                        matrix(len(vocab) - 1) if config.use_hs else None,
                        matrix(len(vocab)) if config.use_ns else None)


@pytest.mark.parametrize("loss", ["ns", "hs", "ns+hs"])
def test_shared_words_start_from_the_earlier_rows_and_new_words_as_in_a_fresh_run(loss):
    config = TrainConfig(vector_size=8, loss=loss, seed=5)
    earlier = _earlier(config)
    vocab = Vocabulary.from_counts(NEW_WORDS.items())
    params, stats = warm_params(vocab, config, earlier)
    fresh = init_params(len(vocab), config)
    for row, word in enumerate(vocab.words):
        if word in earlier.vocab.index:
            old = earlier.vocab.index[word]
            assert np.array_equal(params.syn0[row], earlier.syn0[old]), word
            if config.use_ns:
                assert np.array_equal(params.syn1neg[row], earlier.syn1neg[old]), word
        else:
            assert np.array_equal(params.syn0[row], fresh.syn0[row]), word
            if config.use_ns:
                assert not params.syn1neg[row].any(), word
    if config.use_hs:
        assert params.syn1.shape == (len(vocab) - 1, 8) and not params.syn1.any()  # syn1="zero"
    assert {k: stats[k] for k in ("shared_words", "new_words", "dropped_words")} == {
        "shared_words": 4, "new_words": 2, "dropped_words": 1}


def test_warm_start_callable_records_its_counts(caplog):
    config = TrainConfig(vector_size=8)
    warm = WarmStart(_earlier(config))
    assert warm.stats is None
    with caplog.at_level("INFO", logger="sparkw2v"):
        warm(Vocabulary.from_counts(NEW_WORDS.items()), config)
    assert warm.stats["shared_words"] == 4
    assert "4 shared words start from it, 2 new words start fresh, 1 of its words dropped" in caplog.text


@pytest.mark.parametrize("change,words", [
    ({"vector_size": 9}, ["vector_size 8", "this run 9"]),
    ({"architecture": "cbow"}, ["architecture 'skipgram'", "this run 'cbow'"]),
    ({"loss": "ns+hs"}, None),  # syn1 starts at zero by default: the earlier NS model has all it needs
])
def test_a_model_of_another_shape_is_refused(change, words):
    earlier = _earlier(TrainConfig(vector_size=8, loss="ns"))
    config = TrainConfig(vector_size=8, loss="ns").replace(**change)
    if words is None:
        check_earlier(earlier, config)
        return
    with pytest.raises(WarmStartError) as info:
        check_earlier(earlier, config)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_missing_output_weights_are_refused_naming_the_loss():
    hs_model = _earlier(TrainConfig(vector_size=8, loss="hs", negative=0))
    with pytest.raises(WarmStartError, match=r"trained with --loss hs, so it holds no syn1neg \(for --loss ns\)"):
        check_earlier(hs_model, TrainConfig(vector_size=8, loss="ns"))
    ns_model = _earlier(TrainConfig(vector_size=8, loss="ns"))
    with pytest.raises(WarmStartError, match=r"holds no syn1 \(for --loss hs\)"):
        check_earlier(ns_model, TrainConfig(vector_size=8, loss="hs", negative=0), syn1="matched")


def test_same_counts_reuse_every_inner_node_as_it_was():
    counts = np.array([90, 40, 33, 20, 20, 9, 7, 5, 5, 5], dtype=np.int64)
    rows = np.arange(counts.size)
    source, sign, summary = map_inner_nodes(counts, counts, rows, rows)
    assert np.array_equal(source, np.arange(counts.size - 1)) and (sign == 1).all()
    assert summary["syn1_reused"] == counts.size - 1 and summary["syn1_reused_path_share"] == 1.0


def test_a_node_whose_sides_swapped_is_reused_negated():
    # Two words: the root's branch 1 is the more frequent word. Swapping the counts swaps the sides.
    old_counts, new_counts = np.array([5, 3]), np.array([5, 3])
    old_vocab, new_vocab = ["a", "b"], ["b", "a"]
    new_rows, old_rows = shared_rows(new_vocab, {w: i for i, w in enumerate(old_vocab)})
    source, sign, _ = map_inner_nodes(old_counts, new_counts, old_rows, new_rows)
    assert source.tolist() == [0] and sign.tolist() == [-1]


def test_matched_syn1_predicts_the_same_branches_where_reused():
    """Where a row is reused, the earlier row with the sign applied votes for the new code of most words
    below the node: checked on codes, with syn0 = the branch each word took at the earlier node."""
    rng = np.random.default_rng(0)
    old_counts = np.sort(rng.zipf(1.3, size=300).clip(5, 10_000))[::-1].astype(np.int64)
    new_counts = (old_counts * rng.uniform(0.8, 1.25, size=old_counts.size)).astype(np.int64).clip(5, None)
    rows = np.arange(old_counts.size)
    source, sign, summary = map_inner_nodes(old_counts, new_counts, rows, rows, min_agreement=1.0)
    assert 0 < summary["syn1_reused"] < old_counts.size - 1
    old_tree, new_tree = build_huffman(old_counts), build_huffman(new_counts)
    for w in range(old_counts.size):
        old_path = dict(zip(old_tree.points[old_tree.offsets[w]:old_tree.offsets[w + 1]].tolist(),
                            old_tree.codes[old_tree.offsets[w]:old_tree.offsets[w + 1]].tolist()))
        for pos in range(new_tree.offsets[w], new_tree.offsets[w + 1]):
            node = new_tree.points[pos]
            if source[node] >= 0:
                old_code = old_path[source[node]]  # the earlier node lies on the word's earlier path
                assert (old_code if sign[node] == 1 else 1 - old_code) == new_tree.codes[pos]


def test_matched_policy_fills_the_reused_rows():
    config = TrainConfig(vector_size=8, loss="hs", negative=0)
    earlier = _earlier(config)
    vocab = Vocabulary.from_counts(EARLIER_WORDS.items())  # same words and counts: the same tree
    params, stats = warm_params(vocab, config, earlier, syn1="matched")
    assert np.array_equal(params.syn1, earlier.syn1) and stats["syn1_reused"] == len(vocab) - 1


def test_alignment_over_the_most_frequent_common_words():
    rng = np.random.default_rng(1)
    old = rng.normal(size=(5, 4))
    words = ["a", "b", "c", "d", "e"]
    assert alignment(words, old, words, old)["mean_cosine"] == pytest.approx(1.0)
    assert alignment(words, old, words, -old)["mean_cosine"] == pytest.approx(-1.0)
    new_words, new = ["x", "c", "a", "y"], np.stack([old[0], old[2], -old[0], old[1]])
    result = alignment(words, old, new_words, new, top=1)  # only "c": the first common word in the new order
    assert (result["mean_cosine"], result["words"]) == (pytest.approx(1.0), 1)
    assert alignment(words, old, ["z"], new[:1])["mean_cosine"] is None


def _write_output(folder, words, syn0, config, params=None, training_state=True):
    folder.mkdir()
    WordVectors(words, syn0).save_word2vec(str(folder / "vectors.bin"), binary=True)
    (folder / "vocab.tsv").write_text("".join(f"{w}\t{100 - i}\n" for i, w in enumerate(words)))
    (folder / "config.json").write_text(config.to_json())
    (folder / "_SUCCESS").write_text("")
    if training_state:
        save_training_state(str(folder), params, config)


def test_training_state_round_trips_through_an_output_folder(tmp_path):
    config = TrainConfig(vector_size=6, loss="ns+hs")
    params = init_params(4, config)
    params.syn1neg[:] = np.arange(24, dtype=np.float32).reshape(4, 6)
    params.syn1[:] = -1.5
    words = ["w0", "w1", "w2", "w3"]
    _write_output(tmp_path / "model", words, params.syn0, config, params)
    state = json.loads((tmp_path / "model" / "training-state" / "state.json").read_text())
    assert state == {"format_version": 1, "matrices": {"syn1neg": [4, 6], "syn1": [3, 6]}}
    earlier = load_earlier(LocalFS(), str(tmp_path / "model"))
    assert list(earlier.vocab.words) == words and earlier.config["loss"] == "ns+hs"
    for ours, theirs in zip(params, (earlier.syn0, earlier.syn1, earlier.syn1neg)):
        assert np.array_equal(ours, theirs)


def test_a_folder_without_training_state_or_output_is_refused(tmp_path):
    config = TrainConfig(vector_size=6)
    _write_output(tmp_path / "plain", ["a", "b"], np.ones((2, 6), np.float32), config, training_state=False)
    with pytest.raises(WarmStartError, match="needs --save-training-state"):
        load_earlier(LocalFS(), str(tmp_path / "plain"))
    with pytest.raises(WarmStartError, match="no _SUCCESS there"):
        load_earlier(LocalFS(), str(tmp_path / "nothing"))


def _corpus(seed: int, vocabulary: list[str], lines: int = 300) -> list[list[str]]:
    rng = random.Random(seed)
    return [[rng.choice(vocabulary[:len(vocabulary) // 2 + rng.randrange(len(vocabulary) // 2)])
             for _ in range(12)] for _ in range(lines)]


def test_a_warm_started_run_stays_in_the_earlier_space():
    config = TrainConfig(vector_size=16, epochs=2, min_count=3, sample=0.0, seed=2)
    day1 = train_local(_corpus(1, [f"w{i}" for i in range(60)]), config)
    earlier = EarlierModel("day1", config.to_dict(), day1.vocab, day1.params.syn0, None, day1.params.syn1neg)
    day2_text = _corpus(2, [f"w{i}" for i in range(10, 70)])
    fresh = train_local(day2_text, config.replace(seed=3))
    warm = train_local(day2_text, config.replace(seed=3), initial=WarmStart(earlier))

    def aligned(result):
        return alignment(day1.vocab.words, day1.params.syn0, result.vocab.words, result.params.syn0)["mean_cosine"]

    assert aligned(warm) > 0.5 > abs(aligned(fresh))
