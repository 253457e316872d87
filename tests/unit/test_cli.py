"""The `sparkw2v` command run as a user runs it, in a subprocess: eval, neighbors, convert, errors, --help.

`sparkw2v train` needs Spark: see tests/spark/test_cli_train.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sparkw2v.evaluation import evaluate_analogies, evaluate_word_pairs
from sparkw2v.vectors import WordVectors, load_parquet, load_word2vec

SECTIONS = {
    "capital-common-countries": [("Athens", "Greece"), ("Berlin", "Germany"), ("Paris", "France"),
                                 ("Madrid", "Spain"), ("Rome", "Italy")],
    "family": [("boy", "girl"), ("brother", "sister"), ("king", "queen"), ("man", "woman"), ("father", "mother")],
    "gram-plural": [("cat", "cats"), ("dog", "dogs"), ("car", "cars"), ("tree", "trees")],
}
WORDS = ["the", "of", "and"] + [w for pairs in SECTIONS.values() for pair in pairs for w in pair]
WORDS += ["café", "日本"] + [f"w{i}" for i in range(30)]
PAIRS = [("king", "queen", 8.6), ("man", "woman", 8.3), ("cat", "dog", 7.4), ("car", "tree", 1.2),
         ("Paris", "France", 8.9), ("boy", "car", 2.5), ("sister", "brother", 8.0), ("dogs", "the", 0.9),
         ("unknownword", "king", 5.0)]


def sparkw2v(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sparkw2v.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def wv() -> WordVectors:
    """Random vectors with a shared offset per analogy section, so some analogies come out right."""
    rng = np.random.default_rng(3)
    index = {w: i for i, w in enumerate(WORDS)}
    matrix = rng.standard_normal((len(WORDS), 12))
    for pairs in SECTIONS.values():
        offset = 2.0 * rng.standard_normal(12)
        for first, second in pairs:
            matrix[index[second]] = matrix[index[first]] + offset + 0.5 * rng.standard_normal(12)
    # Values over several orders of magnitude and float32 edge cases test the exactness of conversions.
    matrix *= rng.choice([1e-6, 1e-2, 1.0, 1e3], size=matrix.shape)
    matrix = matrix.astype(np.float32)
    matrix[-1, :4] = [np.float32(1e-45), np.float32(1.2345678e18), np.finfo(np.float32).tiny, -0.0]
    counts = np.arange(len(WORDS), 0, -1, dtype=np.int64) * 7
    return WordVectors(WORDS, matrix, counts)


@pytest.fixture(scope="module")
def files(tmp_path_factory, wv) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    paths = {"binary": root / "vectors.bin", "text": root / "vectors.txt", "parquet": root / "vectors.parquet",
             "folder": root / "parts", "training": root / "training-output"}
    wv.save_word2vec(paths["binary"], binary=True)
    wv.save_word2vec(paths["text"], binary=False)
    wv.save_parquet(paths["parquet"])
    paths["folder"].mkdir()
    wv.save_parquet(paths["folder"] / "part-00000.parquet")
    (paths["folder"] / "_SUCCESS").write_text("")
    paths["training"].mkdir()
    wv.save_word2vec(paths["training"] / "vectors.bin", binary=True)
    (paths["training"] / "vocab.tsv").write_text("".join(f"{w}\t{c}\n" for w, c in zip(wv.words, wv.counts)),
                                                encoding="utf-8")

    analogies = []
    for section, pairs in SECTIONS.items():
        analogies.append(f": {section}")
        analogies += [f"{a} {b} {c} {d}" for a, b in pairs for c, d in pairs if (a, b) != (c, d)]
    analogies.append("king queen unknownword sister")   # out of vocabulary: skipped and counted
    paths["analogies"] = root / "questions.txt"
    paths["analogies"].write_text("\n".join(analogies) + "\n", encoding="utf-8")
    paths["pairs"] = root / "pairs.tsv"
    paths["pairs"].write_text("# word1\tword2\tscore\n" + "".join(f"{a}\t{b}\t{s}\n" for a, b, s in PAIRS),
                              encoding="utf-8")
    paths["pairs2"] = root / "pairs-reversed.tsv"
    paths["pairs2"].write_text("".join(f"{b}\t{a}\t{10 - s}\n" for a, b, s in PAIRS), encoding="utf-8")
    return paths


# -- --help -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command,expected", [
    ([], ["train", "eval", "neighbors", "convert", "exit codes:"]),
    (["eval"], ["--analogies FILE", "--pairs FILE", "--restrict-vocab N", "(default: 30000)", "--json",
                "exit codes:", "3  unusable input"]),
    (["neighbors"], ["--topn N", "(>= 1) (default: 10)", "exit codes:", "1  neighbors: a word is not"]),
    (["convert"], ["--from {text,binary,parquet}", "--to {text,binary,parquet}", ".bin binary", "exit codes:",
                   "4  convert: the output cannot be written"]),
    (["train"], ["--input PATH", "--eval-analogies FILE", "--eval-pairs FILE", "(default: 100)",
                 "exit codes: 0 done", "4 the output exists"]),
])
def test_help_documents_every_command(command, expected):
    done = sparkw2v(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: " + " ".join(["sparkw2v"] + command))
    help_text = " ".join(done.stdout.split())  # argparse wraps lines to the terminal width
    for text in expected:
        assert " ".join(text.split()) in help_text, text


def test_version_and_python_m_sparkw2v():
    from sparkw2v import __version__

    done = subprocess.run([sys.executable, "-m", "sparkw2v", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, f"sparkw2v {__version__}")


def test_installed_console_script(files):
    script = Path(sys.executable).with_name("sparkw2v")
    if not script.exists():
        pytest.skip(f"the console script is not installed next to {sys.executable} (pip install -e .)")
    done = subprocess.run([str(script), "neighbors", str(files["binary"]), "king", "--topn", "2"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("king ")


def test_no_command_prints_help_and_fails():
    done = sparkw2v()
    assert done.returncode == 2
    assert "usage: sparkw2v" in done.stderr and "eval" in done.stderr


# -- eval ---------------------------------------------------------------------------------------------------
def test_eval_prints_a_table_of_every_score(files, wv):
    done = sparkw2v("eval", files["binary"], "--analogies", files["analogies"],
                    "--pairs", files["pairs"], files["pairs2"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{files['binary']}: {len(wv)} words, 12 dimensions"

    expected = evaluate_analogies(wv, files["analogies"], restrict_vocab=30000)
    assert 0 < expected["correct"] and 0 < expected["incorrect"]   # a table with both outcomes
    for section in expected["sections"]:
        answered = section["correct"] + section["incorrect"]
        row = next(line.split() for line in lines if line.split()[:1] == [section["section"]])
        assert row == [section["section"], f"{100 * section['accuracy']:.1f}%", str(section["correct"]), "/",
                       str(answered)]
    total = next(line.split() for line in lines if line.split()[:1] == ["total"])
    assert total == ["total", f"{100 * expected['total']:.1f}%", str(expected["correct"]), "/",
                     str(expected["correct"] + expected["incorrect"])]
    assert f"out-of-vocabulary words: 1 of {expected['questions']}" in done.stdout

    assert any(line.split() == ["word", "pairs", "Spearman", "Pearson", "pairs", "OOV"] for line in lines)
    for name in ("pairs", "pairs2"):
        scores = evaluate_word_pairs(wv, files[name])
        row = next(line.split() for line in lines if line.startswith(str(files[name]) + " "))
        assert row == [str(files[name]), f"{scores['spearman'][0]:.4f}", f"{scores['pearson'][0]:.4f}",
                       str(scores["pairs"]), f"{scores['oov_ratio']:.1f}%"]
        assert scores["pairs"] == len(PAIRS) - 1


def test_eval_json_holds_the_evaluation_results(files, wv):
    done = sparkw2v("eval", files["binary"], "--analogies", files["analogies"], "--pairs", files["pairs"],
                    "--restrict-vocab", "20", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["vectors"], result["words"], result["vector_size"]) == (str(files["binary"]), len(wv), 12)

    expected = evaluate_analogies(wv, files["analogies"], restrict_vocab=20)
    analogies = result["analogies"]
    assert analogies["file"] == str(files["analogies"]) and analogies["restrict_vocab"] == 20
    for key in ("total", "correct", "incorrect", "questions", "oov", "oov_ratio", "sections"):
        assert analogies[key] == expected[key], key
    assert expected["oov"] > 1   # the restriction to 20 words took effect

    scores = evaluate_word_pairs(wv, files["pairs"])
    [pairs] = result["pairs"]
    assert pairs == {"file": str(files["pairs"]), "spearman": scores["spearman"][0],
                     "spearman_p": scores["spearman"][1], "pearson": scores["pearson"][0],
                     "pearson_p": scores["pearson"][1], "pairs": scores["pairs"], "oov": scores["oov"],
                     "oov_ratio": scores["oov_ratio"]}


def test_eval_restrict_vocab_zero_searches_every_word(files, wv):
    done = sparkw2v("eval", files["text"], "--analogies", files["analogies"], "--restrict-vocab", "0", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["analogies"]["restrict_vocab"] is None and result["pairs"] == []
    assert result["analogies"]["correct"] == evaluate_analogies(wv, files["analogies"], restrict_vocab=None)["correct"]
    assert "answers searched among all words" in sparkw2v(
        "eval", files["text"], "--analogies", files["analogies"], "--restrict-vocab", "0").stdout


@pytest.mark.parametrize("kind", ["binary", "text", "parquet", "folder", "training"])
def test_eval_reads_every_kind_of_vectors(files, kind):
    done = sparkw2v("eval", files[kind], "--analogies", files["analogies"], "--pairs", files["pairs"], "--json")
    assert done.returncode == 0, done.stderr
    reference = sparkw2v("eval", files["binary"], "--analogies", files["analogies"], "--pairs", files["pairs"],
                         "--json")
    ours, theirs = json.loads(done.stdout), json.loads(reference.stdout)
    assert {k: v for k, v in ours.items() if k != "vectors"} == {k: v for k, v in theirs.items() if k != "vectors"}


# -- neighbors --------------------------------------------------------------------------------------------
def _parse_neighbors(stdout: str) -> dict[str, list[tuple[str, float]]]:
    """{word: [(neighbour, cosine), ...]} from blocks of 'word (...)' then '  rank  word  cosine' lines."""
    result: dict[str, list[tuple[str, float]]] = {}
    for block in stdout.strip().split("\n\n"):
        header, *rows = block.splitlines()
        word = header.split(" (")[0]
        parsed = [row.split() for row in rows]
        assert [int(rank) for rank, _, _ in parsed] == list(range(1, len(rows) + 1))
        result[word] = [(other, float(score)) for _, other, score in parsed]
    return result


@pytest.mark.parametrize("kind", ["binary", "parquet", "training"])
def test_neighbors_are_most_similar_in_order(files, wv, kind):
    words = ["king", "Paris", "café", "日本"]
    done = sparkw2v("neighbors", files[kind], *words, "--topn", "7")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    shown = _parse_neighbors(done.stdout)
    assert list(shown) == words
    for word in words:
        expected = wv.most_similar(positive=[word], topn=7)
        assert [w for w, _ in shown[word]] == [w for w, _ in expected]
        assert [s for _, s in shown[word]] == pytest.approx([s for _, s in expected], abs=5e-5)
    assert done.stdout.splitlines()[0] == f"king (frequency rank {wv.row('king') + 1} of {len(wv)})"


def test_neighbors_default_topn_is_ten(files):
    done = sparkw2v("neighbors", files["text"], "queen")
    assert done.returncode == 0, done.stderr
    assert len(_parse_neighbors(done.stdout)["queen"]) == 10


def test_neighbors_of_an_unknown_word_exit_1_and_show_the_others(files, wv):
    done = sparkw2v("neighbors", files["binary"], "king", "KING", "nosuchword", "queen", "--topn", "3")
    assert done.returncode == 1
    shown = _parse_neighbors(done.stdout)
    assert list(shown) == ["king", "queen"]
    assert [w for w, _ in shown["queen"]] == [w for w, _ in wv.most_similar("queen", topn=3)]
    messages = done.stderr.splitlines()
    assert len(messages) == 2 and "Traceback" not in done.stderr
    assert "'KING' is not in the vocabulary" in messages[0] and "did you mean 'king'?" in messages[0]
    assert "'nosuchword' is not in the vocabulary" in messages[1] and "case-sensitive" in messages[1]


# -- convert -----------------------------------------------------------------------------------------------
SUFFIX = {"text": ".txt", "binary": ".bin", "parquet": ".parquet"}
LOAD = {"text": lambda p: load_word2vec(p, binary=False), "binary": lambda p: load_word2vec(p, binary=True),
        "parquet": load_parquet}


def _same_vectors(a: WordVectors, b: WordVectors) -> bool:
    """Same words and bit-identical float32 values (so -0.0 and subnormals count too)."""
    return a.words == b.words and np.array_equal(a.vectors.view(np.uint32), b.vectors.view(np.uint32))


@pytest.mark.parametrize("source", ["text", "binary", "parquet"])
@pytest.mark.parametrize("target", ["text", "binary", "parquet"])
def test_convert_round_trips_exactly(files, wv, tmp_path, source, target):
    there = tmp_path / f"there{SUFFIX[target]}"
    back = tmp_path / f"back{SUFFIX[source]}"
    done = sparkw2v("convert", files[source], there)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {target} {there}: {len(wv)} words, 12 dimensions"
    assert _same_vectors(LOAD[target](there), wv)
    done = sparkw2v("convert", there, back)
    assert done.returncode == 0, done.stderr
    assert _same_vectors(LOAD[source](back), wv)
    if source != "parquet" or target == "parquet":   # the word2vec formats hold no counts
        assert back.read_bytes() == files[source].read_bytes()
    else:
        assert np.array_equal(load_parquet(back).vectors, wv.vectors) and load_parquet(back).counts is None


def test_convert_through_all_three_formats_gives_back_the_same_bytes(files, tmp_path):
    chain = [files["binary"], tmp_path / "a.txt", tmp_path / "b.parquet", tmp_path / "c.vec",
             tmp_path / "d.bin.gz", tmp_path / "e.bin"]
    for source, target in zip(chain, chain[1:]):
        done = sparkw2v("convert", source, target)
        assert done.returncode == 0, done.stderr
    assert chain[-1].read_bytes() == files["binary"].read_bytes()


def test_convert_with_explicit_formats_and_folders(files, wv, tmp_path):
    odd = tmp_path / "vectors.data"
    assert sparkw2v("convert", files["binary"], odd, "--to", "text").returncode == 0
    assert odd.read_bytes() == files["text"].read_bytes()
    back = tmp_path / "back.bin"
    assert sparkw2v("convert", odd, back, "--from", "text").returncode == 0
    assert back.read_bytes() == files["binary"].read_bytes()

    # An existing folder receives a Parquet part file; a training output keeps its vocab.tsv counts.
    folder = tmp_path / "parquet-out"
    folder.mkdir()
    done = sparkw2v("convert", files["training"], folder)
    assert done.returncode == 0, done.stderr
    loaded = load_parquet(folder)
    assert _same_vectors(loaded, wv) and np.array_equal(loaded.counts, wv.counts)
    assert sparkw2v("convert", folder, tmp_path / "from-folder.txt").returncode == 0
    assert (tmp_path / "from-folder.txt").read_bytes() == files["text"].read_bytes()


# -- errors ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, files) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    paths = {"garbage": root / "garbage.bin", "truncated": root / "truncated.bin", "notparquet": root / "x.parquet",
             "badtext": root / "bad.txt", "bad_analogies": root / "questions.txt", "bad_pairs": root / "pairs.tsv",
             "empty_folder": root / "empty"}
    paths["garbage"].write_bytes(b"this is not a vector file\n")
    paths["truncated"].write_bytes(files["binary"].read_bytes()[:150])
    paths["notparquet"].write_bytes(b"PAR1 not really")
    paths["badtext"].write_text("2 3\nking 1 2 3\nqueen 1 two 3\n")
    paths["bad_analogies"].write_text("king queen man woman\n")
    paths["bad_pairs"].write_text("nosuch\tword\t1.0\n")
    paths["empty_folder"].mkdir()
    return paths


@pytest.mark.parametrize("args,code,message", [
    (["eval", "{tmp}/missing.bin", "--pairs", "{pairs}"], 3, "{tmp}/missing.bin: no such file or directory"),
    (["neighbors", "{garbage}", "king"], 3, "malformed vectors: {garbage}: line 1: expected a header"),
    (["eval", "{truncated}", "--pairs", "{pairs}"], 3, "malformed vectors: {truncated}: byte offset"),
    (["convert", "{badtext}", "{tmp}/out.bin"], 3, "malformed vectors: {badtext}: line 3: value b'two' is not"),
    (["convert", "{notparquet}", "{tmp}/out.bin"], 3, "malformed vectors: {notparquet}: not a readable Parquet"),
    (["neighbors", "{empty_folder}", "king"], 3, "{empty_folder}: a folder without vectors.bin"),
    (["eval", "{binary}", "--pairs", "{tmp}/missing.tsv"], 3, "{tmp}/missing.tsv: no such file"),
    (["eval", "{binary}", "--analogies", "{bad_analogies}"], 3,
     "{bad_analogies}: line 1: a question before the first ': section' line"),
    (["eval", "{binary}", "--pairs", "{bad_pairs}"], 3, "no usable word pairs in {bad_pairs}"),
    (["eval", "{binary}"], 2, "nothing to evaluate"),
    (["convert", "{binary}", "{tmp}/out.unknown"], 2, "cannot tell the output format"),
    (["convert", "{binary}", "{tmp}/no/such/folder/out.bin"], 4, "cannot write: no such file or directory"),
])
def test_errors_are_one_line_with_an_exit_code(files, bad_files, tmp_path, args, code, message):
    names = {"tmp": tmp_path, "binary": files["binary"], "pairs": files["pairs"], **bad_files}
    done = sparkw2v(*[arg.format(**names) for arg in args])
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"sparkw2v {args[0]}: error: ")
    assert message.format(**names) in line


@pytest.mark.parametrize("args", [["neighbors", "x.bin", "king", "--topn", "0"],
                                  ["eval", "x.bin", "--restrict-vocab", "-1"],
                                  ["convert", "a.bin", "b.txt", "--to", "csv"],
                                  ["nosuchcommand"]])
def test_bad_command_lines_exit_2_with_usage(args):
    done = sparkw2v(*args)
    assert done.returncode == 2
    assert "usage: sparkw2v" in done.stderr and "error:" in done.stderr and "Traceback" not in done.stderr
