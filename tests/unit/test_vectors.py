"""WordVectors: exact round trips through every format, compatibility with gensim and word2vec.c,
clear errors on malformed files, and similarity queries that agree with gensim."""
from __future__ import annotations

import io
import struct

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparkw2v import vectors as vectors_module
from sparkw2v.vectors import VectorFormatError, WordVectors, load_parquet, load_word2vec, save_word2vec

gensim_models = pytest.importorskip("gensim.models")
KeyedVectors = gensim_models.KeyedVectors

WORDS = ["the", "café", "naïve", "King", "king", "queen", "man", "woman", "日本", "a.b-c"]
WORDS += [f"w{i}" for i in range(40)]


@pytest.fixture
def wv() -> WordVectors:
    rng = np.random.default_rng(7)
    # Values over several orders of magnitude, so the text format's precision is really exercised.
    values = rng.standard_normal((len(WORDS), 16)) * rng.choice([1e-6, 1e-2, 1.0, 1e3], size=(len(WORDS), 16))
    counts = np.arange(len(WORDS), 0, -1, dtype=np.int64) * 10
    return WordVectors(WORDS, values.astype(np.float32), counts)


def gensim_copy(wv: WordVectors) -> "KeyedVectors":
    kv = KeyedVectors(wv.vector_size)
    kv.add_vectors(wv.words, wv.vectors.copy())
    return kv


# -- the container -------------------------------------------------------------------------------------
def test_basic_container(wv):
    assert len(wv) == len(WORDS)
    assert wv.vector_size == 16
    assert "café" in wv and "cafe" not in wv
    assert wv.index["naïve"] == 2
    assert np.array_equal(wv.vector("queen"), wv.vectors[5])
    assert np.array_equal(wv["queen"], wv.vectors[5])
    assert wv.vectors.dtype == np.float32 and not wv.vectors.flags.writeable


def test_unknown_word_message_names_the_word_and_hints(wv):
    with pytest.raises(KeyError) as info:
        wv.vector("Queen")
    message = str(info.value)
    assert "'Queen'" in message and "case" in message and "min_count" in message


@pytest.mark.parametrize("words, matrix, counts, fragment", [
    (["a", "b"], np.zeros((3, 2)), None, "2 words but 3 vector rows"),
    (["a", "a"], np.zeros((2, 2)), None, "duplicate word 'a'"),
    (["a", "b"], np.zeros(2), None, "2-D"),
    (["a", "b"], np.zeros((2, 2)), [1, 2, 3], "counts must have shape"),
    (["a", 3], np.zeros((2, 2)), None, "expected str"),
])
def test_constructor_validates(words, matrix, counts, fragment):
    with pytest.raises(ValueError, match=fragment):
        WordVectors(words, matrix, counts)


def test_unit_vectors_are_cached_and_zero_rows_stay_zero():
    wv = WordVectors(["a", "b", "c"], np.array([[3.0, 4.0], [0.0, 0.0], [0.0, -2.0]], dtype=np.float32))
    unit = wv.unit_vectors
    assert unit is wv.unit_vectors
    np.testing.assert_allclose(unit, [[0.6, 0.8], [0.0, 0.0], [0.0, -1.0]], rtol=1e-7)
    assert wv.similarity("a", "b") == 0.0


# -- exact round trips -----------------------------------------------------------------------------------
@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_round_trip_is_exact(tmp_path, wv, binary):
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    wv.save_word2vec(path, binary=binary)
    for loaded in (load_word2vec(path, binary=binary), WordVectors.load_word2vec(str(path))):  # explicit, guessed
        assert loaded.words == WORDS
        assert np.array_equal(loaded.vectors, wv.vectors)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_gzip_round_trip(tmp_path, wv, binary):
    path = tmp_path / "vectors.gz"
    save_word2vec(wv, path, binary=binary)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    loaded = load_word2vec(path, binary=binary)
    assert loaded.words == WORDS and np.array_equal(loaded.vectors, wv.vectors)


def test_text_values_round_trip_for_every_kind_of_float32(tmp_path):
    """Shortest round-trip formatting must survive subnormals, extremes and negative zero."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2**32, size=5000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    special = np.array([0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, 1.0, 0.1], np.float32)
    values = np.concatenate([bits[np.isfinite(bits)][:3991], special]).reshape(-1, 10)
    wv = WordVectors([f"w{i}" for i in range(len(values))], values)
    path = tmp_path / "v.txt"
    wv.save_word2vec(path, binary=False)
    loaded = load_word2vec(path, binary=False)
    assert np.array_equal(loaded.vectors.view(np.uint32), values.view(np.uint32))  # bit-exact, -0.0 included


def test_parquet_round_trip_is_exact(tmp_path, wv):
    path = tmp_path / "vectors.parquet"
    wv.save_parquet(path)
    schema = pq.read_schema(path)
    assert schema.field("word").type == pa.string()
    assert schema.field("vector").type == pa.list_(pa.float32())
    assert schema.field("count").type == pa.int64()
    loaded = load_parquet(path)
    assert loaded.words == WORDS
    assert np.array_equal(loaded.vectors, wv.vectors)
    assert np.array_equal(loaded.counts, wv.counts)


def test_parquet_without_counts_and_empty(tmp_path):
    plain = WordVectors(["x", "y"], np.ones((2, 3), np.float32))
    plain.save_parquet(tmp_path / "plain.parquet")
    assert load_parquet(tmp_path / "plain.parquet").counts is None
    empty = WordVectors([], np.zeros((0, 5), np.float32))
    empty.save_parquet(tmp_path / "empty.parquet")
    assert load_parquet(tmp_path / "empty.parquet").vectors.shape == (0, 5)


def test_parquet_directory_of_part_files_keeps_part_order(tmp_path, wv):
    """A Spark output directory: part files read in name order, bookkeeping files ignored."""
    out = tmp_path / "spark-output"
    out.mkdir()
    table = pa.table({"word": pa.array(wv.words), "vector": pa.array(wv.vectors.tolist(), pa.list_(pa.float32()))})
    # Written out of order on purpose; the names decide.
    pq.write_table(table.slice(30), out / "part-00002-abc.snappy.parquet")
    pq.write_table(table.slice(0, 10), out / "part-00000-abc.snappy.parquet")
    pq.write_table(table.slice(10, 20), out / "part-00001-abc.snappy.parquet")
    (out / "_SUCCESS").write_bytes(b"")
    (out / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"junk")
    loaded = load_parquet(out)
    assert loaded.words == WORDS
    assert np.array_equal(loaded.vectors, wv.vectors)
    assert loaded.counts is None


def test_parquet_missing_column_is_a_format_error(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"word": ["a"], "embedding": [[1.0]]}), path)
    with pytest.raises(VectorFormatError, match=r"bad\.parquet.*missing column.*vector"):
        load_parquet(path)


def test_parquet_ragged_vectors_is_a_format_error(tmp_path):
    path = tmp_path / "ragged.parquet"
    ragged = pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float32()))
    pq.write_table(pa.table({"word": ["a", "b"], "vector": ragged}), path)
    with pytest.raises(VectorFormatError, match=r"row 1 \(word 'b'\) has 1 values"):
        load_parquet(path)


def test_large_vectors_are_written_in_row_groups(tmp_path):
    words = [f"w{i}" for i in range(3000)]
    wv = WordVectors(words, np.random.default_rng(1).standard_normal((3000, 8000), dtype=np.float32))
    wv.save_parquet(tmp_path / "v.parquet")
    assert pq.ParquetFile(tmp_path / "v.parquet").num_row_groups == 2  # 2,097 rows of 8,000 values per group
    loaded = load_parquet(tmp_path / "v.parquet")
    assert loaded.words == words and np.array_equal(loaded.vectors, wv.vectors)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, wv, monkeypatch):
    path = tmp_path / "vectors.parquet"
    wv.save_parquet(path)
    before = path.read_bytes()

    def broken_write(writer, batch, **kwargs):  # the header is out, the first row group fails
        raise OSError("disk full")

    monkeypatch.setattr(vectors_module.pq.ParquetWriter, "write_batch", broken_write)
    with pytest.raises(OSError, match="disk full"):
        wv.save_parquet(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.parquet"]


def test_words_with_whitespace_cannot_be_written_as_word2vec(tmp_path):
    wv = WordVectors(["new york"], np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="'new york'.*whitespace"):
        wv.save_word2vec(tmp_path / "v.txt", binary=False)
    assert not list(tmp_path.iterdir())


def test_writes_to_a_binary_file_object(wv):
    buffer = io.BytesIO()
    wv.save_word2vec(buffer, binary=True)
    buffer.seek(0)
    loaded = load_word2vec(buffer, binary=True)
    assert loaded.words == WORDS and np.array_equal(loaded.vectors, wv.vectors)


# -- compatibility with gensim and word2vec.c --------------------------------------------------------
@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files_exactly(tmp_path, wv, binary):
    path = tmp_path / "ours"
    wv.save_word2vec(path, binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == WORDS
    assert np.array_equal(kv.vectors, wv.vectors)


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_gensim_files_exactly(tmp_path, wv, binary):
    path = tmp_path / "gensim"
    gensim_copy(wv).save_word2vec_format(str(path), binary=binary)
    loaded = load_word2vec(path, binary=binary)
    assert loaded.words == WORDS
    # gensim writes float32 values with str(), the shortest round-trip form: exact in text too.
    assert np.array_equal(loaded.vectors, wv.vectors)
    assert load_word2vec(path).words == WORDS  # the format guess works on gensim's files too


def test_our_text_file_is_byte_identical_to_gensims(tmp_path, wv):
    wv.save_word2vec(tmp_path / "ours.txt", binary=False)
    gensim_copy(wv).save_word2vec_format(str(tmp_path / "gensim.txt"), binary=False)
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "gensim.txt").read_bytes()


def word2vec_c_binary(words, matrix) -> bytes:
    """What word2vec.c's `-binary 1` output is: header, then word, space, raw float32s, newline."""
    out = f"{len(words)} {matrix.shape[1]}\n".encode()
    for word, row in zip(words, matrix):
        out += word.encode("utf-8") + b" " + struct.pack(f"<{len(row)}f", *row) + b"\n"
    return out


def test_binary_output_is_byte_identical_to_word2vec_c(tmp_path):
    words = ["</s>", "the", "café"]
    matrix = np.array([[0.5, -1.25, 3.0], [1e-3, 2.0, -0.0], [7.0, 8.5, -9.75]], dtype=np.float32)
    WordVectors(words, matrix).save_word2vec(tmp_path / "v.bin", binary=True)
    expected = word2vec_c_binary(words, matrix)
    assert expected.startswith(b"3 3\n</s> \x00\x00\x00?")  # 0.5 little-endian
    assert (tmp_path / "v.bin").read_bytes() == expected


def test_reads_word2vec_c_files(tmp_path):
    words = ["</s>", "the", "naïve"]
    matrix = np.array([[0.123456789, -1.5], [2.0, 1e-7], [-3.25, 0.0]], dtype=np.float32)
    (tmp_path / "c.bin").write_bytes(word2vec_c_binary(words, matrix))
    binary = load_word2vec(tmp_path / "c.bin")
    assert binary.words == words and np.array_equal(binary.vectors, matrix)
    # word2vec.c text: "%s " then "%lf " per value (a trailing space), then "\n".
    text = f"{len(words)} 2\n" + "".join(
        word + " " + "".join("%lf " % value for value in row) + "\n" for word, row in zip(words, matrix))
    (tmp_path / "c.txt").write_bytes(text.encode("utf-8"))
    loaded = load_word2vec(tmp_path / "c.txt")
    assert loaded.words == words
    np.testing.assert_allclose(loaded.vectors, matrix, rtol=0, atol=5e-7)  # %lf keeps 6 decimals


# -- malformed files --------------------------------------------------------------------------------------
def test_truncated_binary_names_file_and_offset(tmp_path, wv):
    path = tmp_path / "cut.bin"
    wv.save_word2vec(path, binary=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    with pytest.raises(VectorFormatError, match=r"cut\.bin: byte offset \d+: the file ends inside vector 50 of the 50 "):
        load_word2vec(path, binary=True)


def test_bad_header(tmp_path):
    path = tmp_path / "header.txt"
    path.write_bytes(b"abc\nword 1.0 2.0\n")
    with pytest.raises(VectorFormatError, match=r"header\.txt: line 1: expected a header"):
        load_word2vec(path)


def test_wrong_number_of_values_names_the_line(tmp_path):
    path = tmp_path / "dims.txt"
    path.write_bytes(b"3 2\na 1.0 2.0\nb 1.0 2.0 3.0\nc 1.0 2.0\n")
    with pytest.raises(VectorFormatError, match=r"dims\.txt: line 3: expected a word and 2 values, found 3"):
        load_word2vec(path, binary=False)


def test_non_numeric_value_names_the_line_and_value(tmp_path):
    path = tmp_path / "nan.txt"
    path.write_bytes(b"2 2\na 1.0 2.0\nb 1.0 x2\n")
    with pytest.raises(VectorFormatError, match=r"nan\.txt: line 3: value b'x2' is not a number"):
        load_word2vec(path, binary=False)


def test_format_guess_still_reports_text_errors_as_text(tmp_path):
    path = tmp_path / "guess.txt"
    path.write_bytes(b"2 3\na 1.0 2.0\nb 1.0 2.0 3.0\n")  # line 2 has one value too few
    with pytest.raises(VectorFormatError, match=r"guess\.txt: line 2: expected a word and 3 values, found 2"):
        load_word2vec(path)


def test_format_guess_on_many_random_binary_files(tmp_path):
    """Raw float bytes must not pass for text, whatever the first values happen to be."""
    rng = np.random.default_rng(0)
    for trial in range(200):
        matrix = (rng.standard_normal((2, 8)) * 10.0 ** rng.integers(-3, 4)).astype(np.float32)
        path = tmp_path / f"{trial}.bin"
        WordVectors(["x", "y"], matrix).save_word2vec(path, binary=True)
        assert np.array_equal(load_word2vec(path).vectors, matrix)


def test_truncated_text_and_excess_data(tmp_path):
    short = tmp_path / "short.txt"
    short.write_bytes(b"3 2\na 1 2\nb 3 4\n")
    with pytest.raises(VectorFormatError, match=r"short\.txt: line 4: the file ends after 2 of the 3"):
        load_word2vec(short, binary=False)
    long = tmp_path / "long.txt"
    long.write_bytes(b"1 2\na 1 2\nb 3 4\n")
    with pytest.raises(VectorFormatError, match=r"long\.txt: line 3: unexpected data after the last vector"):
        load_word2vec(long, binary=False)


def test_empty_file_and_invalid_utf8(tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(VectorFormatError, match="empty.bin: line 1"):
        load_word2vec(empty)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(word2vec_c_binary(["ok"], np.ones((1, 2), np.float32)).replace(b"ok", b"o\xc3"))
    with pytest.raises(VectorFormatError, match="not valid UTF-8"):
        load_word2vec(broken, binary=True)
    assert load_word2vec(broken, binary=True, errors="replace").words == ["o\ufffd"]


def test_repeated_word_keeps_the_first_vector_like_gensim(tmp_path):
    path = tmp_path / "dup.txt"
    path.write_bytes(b"3 1\na 1\nb 2\na 3\n")
    loaded = load_word2vec(path, binary=False)
    assert loaded.words == ["a", "b"] and loaded.vectors[:, 0].tolist() == [1.0, 2.0]


# -- similarity queries against gensim -------------------------------------------------------------------
@pytest.fixture
def similar_pair():
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(300)]
    matrix = rng.standard_normal((300, 24)).astype(np.float32)
    wv = WordVectors(words, matrix)
    return wv, gensim_copy(wv)


def assert_same_ranking(ours, theirs, atol=1e-6, rtol=0.0):
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=rtol, atol=atol)


@pytest.mark.parametrize("positive, negative, restrict", [
    (["w3"], [], None),
    (["w3", "w10"], ["w7"], None),
    ([], ["w42"], None),
    (["w5", "w6", "w9"], ["w1", "w2"], 150),
])
def test_most_similar_matches_gensim(similar_pair, positive, negative, restrict):
    wv, kv = similar_pair
    ours = wv.most_similar(positive=positive, negative=negative, topn=5, restrict_vocab=restrict)
    theirs = kv.most_similar(positive=positive, negative=negative, topn=5, restrict_vocab=restrict)
    assert len(ours) == 5
    assert_same_ranking(ours, theirs)
    assert not set(positive + negative) & {w for w, _ in ours}


def test_most_similar_accepts_a_single_word_and_small_vocabularies(similar_pair):
    wv, kv = similar_pair
    assert_same_ranking(wv.most_similar("w0", topn=5), kv.most_similar("w0", topn=5))
    tiny = WordVectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    assert [w for w, _ in tiny.most_similar("a", topn=10)] == ["b", "c"]
    assert tiny.most_similar("a", topn=0) == []


def test_similarity_matches_gensim(similar_pair):
    wv, kv = similar_pair
    for a, b in [("w1", "w2"), ("w3", "w3"), ("w100", "w299")]:
        assert wv.similarity(a, b) == pytest.approx(float(kv.similarity(a, b)), abs=1e-6)


def test_analogy_3cosadd_matches_gensim(similar_pair):
    wv, kv = similar_pair
    # a : b :: c : ?  is  b - a + c
    assert_same_ranking(wv.analogy("w1", "w2", "w3", topn=5),
                        kv.most_similar(positive=["w2", "w3"], negative=["w1"], topn=5))
    assert len(wv.analogy("w1", "w2", "w3")) == 1


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`:DeprecationWarning")
def test_analogy_3cosmul_matches_gensim(similar_pair):
    wv, kv = similar_pair
    for a, b, c in [("w1", "w2", "w3"), ("w50", "w60", "w70")]:
        # gensim's most_similar_cosmul uses epsilon 1e-6 where the paper uses 1e-3.
        ours = wv.analogy(a, b, c, topn=5, method="3cosmul", epsilon=1e-6)
        assert_same_ranking(ours, kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=5),
                            atol=0.0, rtol=1e-6)  # scores are ratios, up to ~1/epsilon
    default = wv.analogy("w1", "w2", "w3", topn=3, method="3cosmul")
    assert len(default) == 3 and not {"w1", "w2", "w3"} & {w for w, _ in default}


def test_analogy_rejects_unknown_method(similar_pair):
    with pytest.raises(ValueError, match="3cosadd"):
        similar_pair[0].analogy("w1", "w2", "w3", method="pairdirection")
