"""Trained word vectors: nearest neighbours, analogies, and the files other tools read.

`WordVectors` is what a finished training job hands to its user: the words, a float32 matrix with
one row per word, and (optionally) the corpus counts. It knows nothing about Spark or training, so it
can be loaded and queried anywhere numpy runs.

Three file formats, each round-tripping the float32 values exactly:

- **word2vec text** (`save_word2vec(path, binary=False)`): a header ``"V d"``, then
  ``word v1 ... vd`` per line. word2vec.c writes ``%lf``, which keeps six decimals and loses
  precision; we write each value's shortest decimal form that parses back to the same float32
  (what numpy prints for a float32, and what gensim writes), so a save/load cycle changes nothing.
- **word2vec binary** (`save_word2vec(path, binary=True)`): the same header, then per word its
  UTF-8 bytes, one space, d little-endian float32 values and ``"\\n"``: byte for byte what
  word2vec.c writes. Files from gensim (no newline after the values) load as well.
- **Parquet** (`save_parquet`): columns ``word: string``, ``vector: list<float32>`` and, when
  known, ``count: int64``; the layout Spark reads and writes as ``(word, array<float>)``.

Every writer writes a temporary file next to the target and renames it over the target, so a crash
never leaves a half-written file under the final name. Readers report malformed input as
`VectorFormatError` naming the file and the line (text) or byte offset (binary). Paths are local
here; Hadoop URIs are handled a layer up. There is no pickle anywhere: all three formats are plain
data that any language can read.
"""
from __future__ import annotations

import gzip
import logging
import mmap
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import BinaryIO, Union

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

PathOrFile = Union[str, os.PathLike, BinaryIO]

ANALOGY_METHODS = ("3cosadd", "3cosmul")

# Parquet schema metadata key recording the vector size, so an empty table still knows its d.
_PARQUET_VECTOR_SIZE_KEY = b"sparkw2v.vector_size"


class VectorFormatError(ValueError):
    """A word-vector file is malformed. The message names the file and where the problem is."""


class WordVectors:
    """Words, their float32 vectors (one row per word) and optionally their corpus counts.

    Rows keep the order they were given in; by convention that is descending frequency, which is
    what `restrict_vocab` arguments rely on ("search only the first N words"). The matrix is made
    read-only because the unit-length copy used for similarities is computed once and cached; a
    float32 array passed in is used without a copy, so don't modify it afterwards either.
    """

    def __init__(self, words: Iterable[str], vectors, counts=None):
        words = list(words)
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-D array [words, dimensions], got shape {vectors.shape}")
        if not (np.issubdtype(vectors.dtype, np.floating) or np.issubdtype(vectors.dtype, np.integer)):
            raise ValueError(f"vectors must be numeric, got dtype {vectors.dtype}")
        if vectors.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but {vectors.shape[0]} vector rows: they must match one to one")
        index: dict[str, int] = {}
        for row, word in enumerate(words):
            if not isinstance(word, str):
                raise ValueError(f"word {row} is {type(word).__name__} {word!r}, expected str")
            if index.setdefault(word, row) != row:
                raise ValueError(f"duplicate word {word!r} at rows {index[word]} and {row}: words must be unique")
        if counts is not None:
            counts = np.asarray(counts)
            if counts.shape != (len(words),):
                raise ValueError(f"counts must have shape ({len(words)},), got {counts.shape}")
            if counts.size and not np.issubdtype(counts.dtype, np.integer):
                raise ValueError(f"counts must be integers, got dtype {counts.dtype}")
            counts = counts.astype(np.int64, copy=False)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).view()
        vectors.flags.writeable = False
        self.words: list[str] = words
        self.vectors: np.ndarray = vectors
        self.counts: np.ndarray | None = counts
        self._index = index

    # -- basic container behaviour ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self._index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vector(word)

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, vector_size={self.vector_size})"

    @property
    def vector_size(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def index(self) -> dict[str, int]:
        """word -> row number. Shared, not copied: do not modify it."""
        return self._index

    def row(self, word: str) -> int:
        """The row of `word`; KeyError with a hint when it is not in the vocabulary."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(
                f"word {word!r} is not in the vocabulary ({len(self)} words). Words are case-sensitive, "
                f"and words rarer than min_count were dropped during training: check the case and min_count."
            ) from None

    def vector(self, word: str) -> np.ndarray:
        """The (read-only) vector of `word`."""
        return self.vectors[self.row(word)]

    @cached_property
    def unit_vectors(self) -> np.ndarray:
        """Each row scaled to unit length (computed once). All-zero rows stay zero instead of NaN."""
        norms = np.linalg.norm(self.vectors.astype(np.float64), axis=1, keepdims=True)
        unit = (self.vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        unit.flags.writeable = False
        return unit

    # -- similarity queries -----------------------------------------------------------------------
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        unit = self.unit_vectors
        return float(np.dot(unit[self.row(a)].astype(np.float64), unit[self.row(b)].astype(np.float64)))

    def most_similar(self, positive: str | Sequence[str] = (), negative: str | Sequence[str] = (),
                     topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """The `topn` words closest by cosine to the mean of the inputs' unit vectors.

        Same semantics as gensim's `KeyedVectors.most_similar`: positive words count +1, negative
        words -1, the mean of the unit vectors is normalised, and the input words themselves are
        never returned. `restrict_vocab=N` searches only the first N rows (the most frequent words).
        """
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word")
        rows = [self.row(w) for w in positive + negative]
        weights = np.array([1.0] * len(positive) + [-1.0] * len(negative))
        mean = weights @ self.unit_vectors[rows].astype(np.float64) / len(rows)
        norm = np.linalg.norm(mean)
        if norm > 0:
            mean /= norm
        scores = self._search_space(restrict_vocab) @ mean.astype(np.float32)
        return self._top(scores, rows, topn)

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: str = "3cosadd",
                restrict_vocab: int | None = None, epsilon: float = 1e-3) -> list[tuple[str, float]]:
        """Solve ``a : b :: c : ?`` ("man : king :: woman : ?" -> queen); returns [(word, score)].

        - ``3cosadd`` (Mikolov et al.): the words closest to ``b - a + c``, i.e. `most_similar`
          with positive ``[b, c]`` and negative ``[a]``.
        - ``3cosmul`` (Levy & Goldberg 2014, eq. 4): ``cos'(x,b) * cos'(x,c) / (cos'(x,a) + epsilon)``
          with cosines shifted to [0, 1] by ``(cos + 1) / 2``, so one large similarity cannot dominate
          the sum. The paper uses ``epsilon=1e-3``; gensim's `most_similar_cosmul` uses 1e-6.

        The three question words are never returned.
        """
        if method == "3cosadd":
            return self.most_similar(positive=[b, c], negative=[a], topn=topn, restrict_vocab=restrict_vocab)
        if method != "3cosmul":
            raise ValueError(f"method must be one of {ANALOGY_METHODS}, got {method!r}")
        rows = [self.row(a), self.row(b), self.row(c)]
        unit = self.unit_vectors
        space = self._search_space(restrict_vocab)
        shifted_a, shifted_b, shifted_c = ((space @ unit[r] + 1.0) / 2.0 for r in rows)
        scores = shifted_b * shifted_c / (shifted_a + np.float32(epsilon))
        return self._top(scores, rows, topn)

    def _search_space(self, restrict_vocab: int | None) -> np.ndarray:
        if restrict_vocab is not None and restrict_vocab < 0:
            raise ValueError(f"restrict_vocab must be >= 0 or None, got {restrict_vocab}")
        return self.unit_vectors if restrict_vocab is None else self.unit_vectors[:restrict_vocab]

    def _top(self, scores: np.ndarray, exclude: Sequence[int], topn: int) -> list[tuple[str, float]]:
        """The `topn` best rows of `scores` (highest first), leaving out the rows in `exclude`."""
        scores = np.array(scores, dtype=np.float64)
        excluded = [r for r in set(exclude) if r < len(scores)]
        scores[excluded] = -np.inf
        available = len(scores) - len(excluded)
        topn = min(int(topn), available)
        if topn <= 0:
            return []
        if topn < len(scores):
            candidates = np.argpartition(-scores, topn - 1)[:topn]
        else:
            candidates = np.arange(len(scores))
        best = candidates[np.argsort(-scores[candidates], kind="stable")][:topn]
        return [(self.words[i], float(scores[i])) for i in best]

    # -- files --------------------------------------------------------------------------------------
    def save_word2vec(self, target: PathOrFile, binary: bool) -> None:
        """Write the word2vec text or binary format (see `save_word2vec`)."""
        save_word2vec(self, target, binary)

    @classmethod
    def load_word2vec(cls, source: PathOrFile, binary: bool | None = None,
                      errors: str = "strict") -> "WordVectors":
        """Read a word2vec text or binary file (see `load_word2vec`)."""
        return load_word2vec(source, binary, errors)

    def save_parquet(self, target: PathOrFile) -> None:
        """Write one Parquet file with columns word, vector (and count); see `save_parquet`."""
        save_parquet(self, target)

    @classmethod
    def load_parquet(cls, source: str | os.PathLike) -> "WordVectors":
        """Read a Parquet file or a directory of part files (see `load_parquet`)."""
        return load_parquet(source)


# -- writing ----------------------------------------------------------------------------------------
@contextmanager
def _open_for_writing(target: PathOrFile) -> Iterator[BinaryIO]:
    """A binary stream for `target`: a file object as is, or an atomically replaced local path.

    A path is written as a temporary file in the same directory (same filesystem, so the rename is
    atomic) and renamed over the target only after everything was written. The temporary file is
    created with mode 0o666 so the umask applies exactly as for a plain `open`. A `.gz` path is
    gzip-compressed (with mtime 0, so the same vectors give the same bytes).
    """
    if hasattr(target, "write"):
        yield target
        return
    path = os.fspath(target)
    directory, name = os.path.split(os.path.abspath(path))
    temp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.endswith(".gz"):
                with gzip.GzipFile(filename=name[:-3], mode="wb", fileobj=raw, mtime=0) as compressed:
                    yield compressed
            else:
                yield raw
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _check_words_for_word2vec(words: Sequence[str]) -> None:
    """A word with whitespace (or an empty word) would split into several fields on reading."""
    for row, word in enumerate(words):
        if not word or any(ch.isspace() for ch in word):
            raise ValueError(f"word {row} ({word!r}) is empty or contains whitespace: the word2vec formats "
                             f"separate fields by spaces and newlines, so it cannot be written in them")


def save_word2vec(wv: WordVectors, target: PathOrFile, binary: bool) -> None:
    """Write `wv` in word2vec.c's text (`binary=False`) or binary (`binary=True`) format.

    `target` is a local path (written atomically; a `.gz` suffix compresses) or a binary file object.
    Text values are the shortest decimal strings that parse back to the same float32 (numpy's float32
    `str`, which is also what gensim writes), not word2vec.c's lossy ``%lf``: a reload is exact.
    Binary output is byte-identical to word2vec.c's, including the newline after each vector.
    """
    _check_words_for_word2vec(wv.words)
    vectors = wv.vectors.astype("<f4", copy=False)
    with _open_for_writing(target) as out:
        out.write(f"{len(wv)} {wv.vector_size}\n".encode("ascii"))
        if binary:
            for word, vector in zip(wv.words, vectors):
                out.write(word.encode("utf-8") + b" " + vector.tobytes() + b"\n")
        else:
            for word, vector in zip(wv.words, vectors):
                values = " ".join([str(value) for value in vector])
                out.write(f"{word} {values}\n".encode("utf-8"))


def save_parquet(wv: WordVectors, target: PathOrFile) -> None:
    """Write one Parquet file: ``word: string``, ``vector: list<float32>`` and ``count: int64`` if known.

    This is the row layout Spark uses for `(word, array<float>)`, so `spark.read.parquet` reads it
    directly. The vector size is also kept in the schema metadata, so an empty file still knows it.
    """
    size = wv.vector_size
    schema = pa.schema([("word", pa.string()), ("vector", pa.list_(pa.float32()))]
                       + ([("count", pa.int64())] if wv.counts is not None else []),
                       metadata={_PARQUET_VECTOR_SIZE_KEY: str(size).encode("ascii")})
    # One row group per batch of about 64 MB of vectors: the writer holds a row group's encoded pages until
    # it closes them, so one group for the whole table doubled the peak memory of a large model (1M x 300:
    # 1.3 GB more). Arrow lists use int32 offsets, which bounds a batch too.
    rows_per_batch = max(1, (1 << 24) // max(size, 1))
    with _open_for_writing(target) as out, pq.ParquetWriter(out, schema, use_dictionary=False) as writer:
        for start in range(0, len(wv), rows_per_batch):
            stop = min(start + rows_per_batch, len(wv))
            offsets = pa.array(np.arange(stop - start + 1, dtype=np.int32) * size)
            flat = pa.array(wv.vectors[start:stop].reshape(-1), type=pa.float32())
            columns = [pa.array(wv.words[start:stop], type=pa.string()),
                       pa.ListArray.from_arrays(offsets, flat, type=pa.list_(pa.float32()))]
            if wv.counts is not None:
                columns.append(pa.array(wv.counts[start:stop], type=pa.int64()))
            writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))


# -- reading word2vec files ----------------------------------------------------------------------------
@contextmanager
def _read_bytes(source: PathOrFile) -> Iterator[tuple[bytes | mmap.mmap, str]]:
    """The whole content of `source` as a bytes-like object, plus a name for error messages.

    A plain local file is memory-mapped rather than read, so a multi-gigabyte file costs no copy
    besides the matrix being built; a `.gz` file or a file object is read into memory.
    """
    if hasattr(source, "read"):
        yield source.read(), str(getattr(source, "name", "<stream>"))
        return
    path = os.fspath(source)
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as compressed:
            yield compressed.read(), path
        return
    with open(path, "rb") as raw:
        if os.fstat(raw.fileno()).st_size == 0:
            yield b"", path
            return
        with mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped, path


def load_word2vec(source: PathOrFile, binary: bool | None = None, errors: str = "strict") -> WordVectors:
    """Read a word2vec text or binary file written by sparkw2v, gensim or word2vec.c.

    `source` is a local path (`.gz` is decompressed) or a binary file object. `binary=None` guesses
    the format from the first vector line (text when its values are printable ASCII); pass it
    explicitly when known. `errors` is how to decode words that are not valid UTF-8 ("strict",
    "replace" or "ignore"): word2vec.c truncates long words at a byte limit, which can cut a
    multi-byte character in half. A word repeated in the file keeps its first vector, as in gensim.
    Malformed input raises `VectorFormatError` with the file name and the line or byte offset.
    """
    with _read_bytes(source) as (data, name):
        vocab_size, vector_size, body = _parse_header(data, name)
        if binary is None:
            binary = not _looks_like_text(data, body, vector_size)
        parse = _parse_binary if binary else _parse_text
        words, vectors = parse(data, body, vocab_size, vector_size, name, errors)
    return _without_duplicates(words, vectors, name)


def _parse_header(data, name: str) -> tuple[int, int, int]:
    """(vocabulary size, vector size, offset of the first record) from the "V d" first line."""
    end = data.find(b"\n")
    line = data[: end if end >= 0 else min(len(data), 200)]
    fields = line.split()
    try:
        vocab_size, vector_size = (int(field) for field in fields)
    except ValueError:
        raise VectorFormatError(f"{name}: line 1: expected a header '<vocabulary size> <vector size>', "
                                f"got {bytes(line[:80])!r}") from None
    if end < 0:
        raise VectorFormatError(f"{name}: line 1: the header line does not end with a newline (truncated file?)")
    if vocab_size < 0 or vector_size < 1:
        raise VectorFormatError(f"{name}: line 1: header sizes must be >= 0 words and >= 1 dimension, "
                                f"got {vocab_size} {vector_size}")
    return vocab_size, vector_size, end + 1


def _looks_like_text(data, start: int, vector_size: int) -> bool:
    """True when the first record's values read as a text line: printable ASCII, at least d bytes.

    A text line with d values has at least 2d - 1 such bytes. Raw float32 bytes almost always hold
    a control or non-ASCII byte early on (0.0 alone is four zero bytes), so this tells the formats
    apart on any real file; a malformed text line is still seen as text and gets a text error
    message, with its line number.
    """
    if start >= len(data):
        return True
    end = data.find(b"\n", start)
    line = data[start: end if end >= 0 else len(data)]
    values = line[line.find(b" ") + 1:] if b" " in line else b""
    return len(values) >= vector_size and all(32 <= byte < 127 or byte in (9, 13) for byte in values)


def _decode_word(raw: bytes, errors: str, where: str) -> str:
    try:
        return raw.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise VectorFormatError(f"{where}: the word is not valid UTF-8 ({exc.reason}); "
                                f"pass errors='replace' or 'ignore' to load it anyway") from None


def _parse_text(data, pos: int, vocab_size: int, vector_size: int, name: str,
                errors: str) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((vocab_size, vector_size), dtype=np.float32)
    for row in range(vocab_size):
        line_number = row + 2
        if pos >= len(data):
            raise VectorFormatError(f"{name}: line {line_number}: the file ends after {row} of the {vocab_size} "
                                    f"vectors its header announces (truncated file?)")
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data)
        fields = data[pos:end].rstrip().split(b" ")
        pos = end + 1
        where = f"{name}: line {line_number}"
        if len(fields) != vector_size + 1:
            raise VectorFormatError(f"{where}: expected a word and {vector_size} values, "
                                    f"found {len(fields) - 1} values")
        words.append(_decode_word(fields[0], errors, where))
        try:
            vectors[row] = [float(field) for field in fields[1:]]
        except ValueError:
            bad = next(f for f in fields[1:] if not _is_number(f))
            raise VectorFormatError(f"{where}: value {bad[:40]!r} is not a number") from None
    _check_trailing(data, pos, name, f"line {vocab_size + 2}")
    return words, vectors


def _is_number(field: bytes) -> bool:
    try:
        float(field)
        return True
    except ValueError:
        return False


def _parse_binary(data, pos: int, vocab_size: int, vector_size: int, name: str,
                  errors: str) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    vectors = np.empty((vocab_size, vector_size), dtype=np.float32)
    vector_bytes = 4 * vector_size
    for row in range(vocab_size):
        space = data.find(b" ", pos)
        if space < 0 or len(data) - (space + 1) < vector_bytes:
            raise VectorFormatError(f"{name}: byte offset {pos}: the file ends inside vector {row + 1} of the "
                                    f"{vocab_size} its header announces (truncated file, or not a binary file?)")
        # word2vec.c ends each vector with "\n" and gensim does not; skip it either way, as both readers do.
        raw_word = data[pos:space].lstrip(b"\n")
        words.append(_decode_word(raw_word, errors, f"{name}: byte offset {pos}"))
        vectors[row] = np.frombuffer(data, dtype="<f4", count=vector_size, offset=space + 1)
        pos = space + 1 + vector_bytes
    _check_trailing(data, pos, name, f"byte offset {pos}")
    return words, vectors


def _check_trailing(data, pos: int, name: str, where: str) -> None:
    """After the announced vectors only whitespace may follow; more data means a wrong header count."""
    rest = data[pos: pos + 4096]
    if rest.strip():
        raise VectorFormatError(f"{name}: {where}: unexpected data after the last vector announced by the header "
                                f"(is the vocabulary size in the header wrong?)")


def _without_duplicates(words: list[str], vectors: np.ndarray, name: str) -> WordVectors:
    seen: dict[str, int] = {}
    keep = [row for row, word in enumerate(words) if seen.setdefault(word, row) == row]
    if len(keep) < len(words):
        log.warning("%s: %d repeated words, keeping the first vector of each", name, len(words) - len(keep))
        words = [words[row] for row in keep]
        vectors = vectors[keep]
    return WordVectors(words, vectors)


# -- reading Parquet -------------------------------------------------------------------------------------
def _parquet_parts(path: str) -> list[str]:
    """Part files of a Spark output directory, sorted by name (Spark's part numbers keep row order).

    Files starting with '_' or '.' are Spark/Hadoop bookkeeping (_SUCCESS, .crc checksums), not data.
    """
    parts = sorted(entry.name for entry in os.scandir(path)
                   if entry.is_file() and not entry.name.startswith(("_", ".")) and entry.name.endswith(".parquet"))
    if not parts:
        raise VectorFormatError(f"{path}: the directory holds no .parquet part files")
    return [os.path.join(path, part) for part in parts]


def load_parquet(source: str | os.PathLike) -> WordVectors:
    """Read vectors from one Parquet file or a directory of part files (as Spark writes them).

    Columns: ``word`` (string), ``vector`` (list of float32; float64 is accepted and rounded) and an
    optional ``count`` (integer). Row order is kept: a single file as stored, a directory part by part
    in file-name order.
    """
    path = os.fspath(source)
    files = _parquet_parts(path) if os.path.isdir(path) else [path]
    tables = []
    for file in files:
        try:
            tables.append(pq.read_table(file))
        except FileNotFoundError:
            raise
        except (pa.ArrowInvalid, OSError) as exc:
            raise VectorFormatError(f"{file}: not a readable Parquet file: {exc}") from None
    for file, table in zip(files, tables):
        missing = {"word", "vector"} - set(table.column_names)
        if missing:
            raise VectorFormatError(f"{file}: missing column(s) {sorted(missing)}; found {table.column_names}")
    has_counts = all("count" in table.column_names for table in tables)
    columns = ["word", "vector"] + (["count"] if has_counts else [])
    try:
        table = pa.concat_tables([t.select(columns) for t in tables], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise VectorFormatError(f"{path}: part files have incompatible schemas: {exc}") from None
    metadata = tables[0].schema.metadata or {}
    return _from_arrow(table, path, metadata.get(_PARQUET_VECTOR_SIZE_KEY))


def _from_arrow(table: pa.Table, name: str, stored_size: bytes | None) -> WordVectors:
    word_column = table.column("word")
    if word_column.null_count:
        raise VectorFormatError(f"{name}: column 'word' has {word_column.null_count} null values")
    words = word_column.to_pylist()
    vector_column = table.column("vector").combine_chunks()
    if not (pa.types.is_list(vector_column.type) or pa.types.is_large_list(vector_column.type)
            or pa.types.is_fixed_size_list(vector_column.type)):
        raise VectorFormatError(f"{name}: column 'vector' must be a list of floats, got {vector_column.type}")
    if not pa.types.is_floating(vector_column.type.value_type):
        raise VectorFormatError(f"{name}: column 'vector' must hold floats, got {vector_column.type}")
    if vector_column.null_count:
        raise VectorFormatError(f"{name}: column 'vector' has {vector_column.null_count} null rows")
    lengths = np.asarray(vector_column.value_lengths()) if not pa.types.is_fixed_size_list(vector_column.type) \
        else np.full(len(vector_column), vector_column.type.list_size)
    if len(words):
        vector_size = int(lengths[0])
    else:
        vector_size = int(stored_size) if stored_size else 0
    if np.any(lengths != vector_size):
        row = int(np.argmax(lengths != vector_size))
        raise VectorFormatError(f"{name}: row {row} (word {words[row]!r}) has {lengths[row]} values, "
                                f"the first row has {vector_size}")
    values = vector_column.flatten()
    if values.null_count:
        raise VectorFormatError(f"{name}: column 'vector' holds {values.null_count} null values")
    vectors = values.to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(len(words), vector_size)
    counts = None
    if "count" in table.column_names:
        count_column = table.column("count")
        if count_column.null_count:
            raise VectorFormatError(f"{name}: column 'count' has {count_column.null_count} null values")
        counts = count_column.to_numpy().astype(np.int64, copy=False)
    try:
        return WordVectors(words, vectors, counts)
    except ValueError as exc:
        raise VectorFormatError(f"{name}: {exc}") from None
