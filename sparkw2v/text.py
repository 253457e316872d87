"""Turning lines of text into sentences of tokens: the rules every reader shares.

The Spark reader (`corpus.py`) and the single-process trainer both go through these functions, so
both see the same sentences from the same file. No Spark here.
"""
from __future__ import annotations

import bz2
import glob
import gzip
import io
import os
from collections.abc import Iterable, Iterator

REPLACEMENT_CHAR = "\ufffd"


def tokenize(line: str, lowercase: bool = False) -> list[str]:
    """Whitespace tokenisation, as word2vec.c and Spark's `split()` users expect."""
    return (line.lower() if lowercase else line).split()


def split_sentence(tokens: list[str], max_length: int) -> Iterator[list[str]]:
    """Cut a long sentence into pieces of at most `max_length` tokens; nothing is dropped."""
    if len(tokens) <= max_length:
        if tokens:
            yield tokens
        return
    for start in range(0, len(tokens), max_length):
        yield tokens[start:start + max_length]


def sentences_from_lines(lines: Iterable[str], lowercase: bool, max_length: int) -> Iterator[list[str]]:
    for line in lines:
        yield from split_sentence(tokenize(line, lowercase), max_length)


def expand_local_paths(paths: Iterable[str]) -> list[str]:
    """Files named by `paths`: plain files, globs and folders (recursively, hidden files skipped), sorted."""
    found: list[str] = []
    for path in paths:
        path = path[len("file://"):] if path.startswith("file://") else path
        matches = sorted(glob.glob(path)) or ([path] if os.path.exists(path) else [])
        for match in matches:
            if os.path.isdir(match):
                for root, dirs, files in os.walk(match):
                    dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                    found.extend(os.path.join(root, f) for f in sorted(files)
                                 if not f.startswith((".", "_")))
            else:
                found.append(match)
    return found


def open_text(path: str) -> io.TextIOBase:
    """Open a plain, .gz or .bz2 file as UTF-8 text; undecodable bytes become U+FFFD.

    A byte-order mark at the start of the file is dropped, as Hadoop's LineRecordReader does.
    """
    if path.endswith(".gz"):
        raw = gzip.open(path, "rb")
    elif path.endswith(".bz2"):
        raw = bz2.open(path, "rb")
    else:
        raw = open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace")


def read_local_sentences(paths: Iterable[str], lowercase: bool = False,
                         max_length: int = 10_000) -> Iterator[list[str]]:
    """Sentences of local text files in path order, without Spark (tests and the local trainer)."""
    files = expand_local_paths(paths)
    if not files:
        raise FileNotFoundError(f"no input file matches {list(paths)}")
    for path in files:
        with open_text(path) as handle:
            yield from sentences_from_lines(handle, lowercase, max_length)
