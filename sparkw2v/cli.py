"""The `sparkw2v` command: train on Spark, then evaluate, query and convert the vectors.

    sparkw2v train --input data/wiki-demo.txt.gz --output demo-output --epochs 5
    sparkw2v eval demo-output --analogies questions-words.txt --pairs wordsim353.tsv
    sparkw2v neighbors demo-output king paris --topn 5
    sparkw2v convert demo-output/vectors.bin vectors.txt

Only `train` starts Spark; the other commands need numpy and pyarrow, nothing else.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__

EXIT_OK, EXIT_UNKNOWN_WORD, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT = 0, 1, 2, 3, 4

FORMATS = ("text", "binary", "parquet")
_TEXT_SUFFIXES = (".txt", ".vec", ".txt.gz", ".vec.gz")
_BINARY_SUFFIXES = (".bin", ".bin.gz")
_PARQUET_SUFFIXES = (".parquet",)

_VECTORS_HELP = ("word vectors: a word2vec text (.txt, .vec) or binary (.bin) file, optionally .gz; a Parquet "
                 "file or folder of part files (columns word, vector[, count]); or a training output folder "
                 "(its vectors.bin is read)")

_EXIT_CODES = """\
exit codes:
  0  done
  1  neighbors: a word is not in the vocabulary (the other words are still shown)
  2  bad command line: unknown flag, value out of range, format not given and not
     recognisable from the file name
  3  unusable input: a file that does not exist or cannot be read, a malformed vector,
     analogy or word-pairs file
  4  convert: the output cannot be written
  `sparkw2v train` returns the training job's codes: see `sparkw2v train --help`."""


class CommandError(Exception):
    """A failure to report as one line on stderr, with its exit code (no traceback)."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's real default appended to its help (not None, False or []); a description or
    epilog with line breaks is kept as written, one without is wrapped to the terminal."""

    def _get_help_string(self, action):
        if action.default in (None, False, []) or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 1")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be >= 0")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def build_parser(prog: str = "sparkw2v") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=HelpFormatter, epilog=_EXIT_CODES,
        description="word2vec on Spark: train embeddings, then evaluate, query and convert them.\n"
                    "Run `sparkw2v COMMAND --help` for the flags of each command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    # `train` is parsed by the training job itself (see main); this entry lists it in --help.
    commands.add_parser("train", add_help=False, help="train word vectors on Spark (the training job; "
                                                      "see `sparkw2v train --help`)")

    ev = commands.add_parser(
        "eval", formatter_class=HelpFormatter, epilog=_EXIT_CODES,
        help="score vectors on analogy questions and word-pair similarity sets",
        description="Score word vectors on an analogy file (accuracy overall and per section, as "
                    "word2vec.c's compute-accuracy and gensim count it) and on word-pair files "
                    "(Spearman and Pearson correlation of cosine similarity with human scores). "
                    "Words are compared case-insensitively. No Spark needed.")
    ev.add_argument("vectors", metavar="VECTORS", help=_VECTORS_HELP)
    ev.add_argument("--analogies", metavar="FILE", default=None,
                    help="analogy questions in questions-words.txt format: ': section' lines, then "
                         "'a b c d' lines meaning a : b :: c : d")
    ev.add_argument("--pairs", metavar="FILE", nargs="+", default=[],
                    help="word-pair files, one 'word1<TAB>word2<TAB>score' per line ('#' starts a "
                         "comment), e.g. WordSim-353 or SimLex-999; pairs are looked up among the "
                         "300000 most frequent words, as gensim does")
    ev.add_argument("--restrict-vocab", metavar="N", type=_non_negative_int, default=30000,
                    help="answer analogies among the N most frequent words and skip questions with "
                         "other words (>= 0; 0 = all words; 30000 is compute-accuracy's choice, "
                         "gensim's default is 300000)")
    ev.add_argument("--json", action="store_true", help="print the scores as JSON instead of a table")

    nb = commands.add_parser(
        "neighbors", formatter_class=HelpFormatter, epilog=_EXIT_CODES,
        help="print the nearest neighbours of words by cosine similarity",
        description="Print the nearest neighbours of each WORD by cosine similarity (the input word "
                    "itself is left out). Words are case-sensitive. No Spark needed.")
    nb.add_argument("vectors", metavar="VECTORS", help=_VECTORS_HELP)
    nb.add_argument("words", metavar="WORD", nargs="+", help="words to look up")
    nb.add_argument("--topn", metavar="N", type=_positive_int, default=10,
                    help="neighbours to print per word (>= 1)")

    cv = commands.add_parser(
        "convert", formatter_class=HelpFormatter, epilog=_EXIT_CODES,
        help="convert vectors between word2vec text, word2vec binary and Parquet",
        description="Convert word vectors between word2vec text, word2vec binary and Parquet. Values "
                    "are float32 and every conversion is exact. Formats come from the file names "
                    "unless given: .txt/.vec text, .bin binary (each optionally .gz), .parquet or a "
                    "folder Parquet (an existing output folder gets a part-00000.parquet file). Parquet "
                    "keeps word counts when the input has them; the word2vec formats have no place for "
                    "them. An existing output file is replaced (atomically).")
    cv.add_argument("input", metavar="IN", help=_VECTORS_HELP)
    cv.add_argument("output", metavar="OUT", help="file to write (or folder, for Parquet)")
    cv.add_argument("--from", dest="from_format", choices=FORMATS, default=None,
                    help="format of IN (default: from its name or content)")
    cv.add_argument("--to", dest="to_format", choices=FORMATS, default=None,
                    help="format of OUT (default: from its name)")
    return parser


# -- reading vectors ----------------------------------------------------------------------------------
def _input_format(path: str) -> str | None:
    """The format a file's name (or, failing that, its first bytes) shows; None for word2vec, either kind."""
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if lower.endswith(_BINARY_SUFFIXES):
        return "binary"
    if lower.endswith(_TEXT_SUFFIXES):
        return "text"
    try:
        with open(path, "rb") as handle:
            if handle.read(4) == b"PAR1":
                return "parquet"
    except OSError:
        pass  # reported by the reader, with the reason
    return None


def _locate(path: str) -> tuple[str, str | None]:
    """(file or folder to read, its format) for a VECTORS argument."""
    if not os.path.exists(path):
        raise CommandError(f"{path}: no such file or directory", EXIT_INPUT)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "vectors.bin")):
            return os.path.join(path, "vectors.bin"), "binary"
        if any(name.endswith(".parquet") and not name.startswith(("_", "."))
               for name in os.listdir(path)):
            return path, "parquet"
        raise CommandError(f"{path}: a folder without vectors.bin (a training output) or .parquet "
                           f"part files", EXIT_INPUT)
    return path, _input_format(path)


def load_vectors(path: str, fmt: str | None = None):
    """WordVectors from a VECTORS argument; CommandError(EXIT_INPUT) for a missing or malformed input."""
    from .vectors import VectorFormatError, load_parquet, load_word2vec

    location, guessed = _locate(path)
    fmt = fmt or guessed
    try:
        if fmt == "parquet":
            return load_parquet(location)
        if os.path.isdir(location):
            raise CommandError(f"{location}: a folder cannot be read as {fmt} word2vec vectors", EXIT_INPUT)
        wv = load_word2vec(location, binary=None if fmt is None else fmt == "binary")
        if os.path.isdir(path):
            wv = _with_training_counts(wv, os.path.join(path, "vocab.tsv"))
        return wv
    except VectorFormatError as exc:
        raise CommandError(f"malformed vectors: {exc}", EXIT_INPUT) from None
    except UnicodeDecodeError as exc:
        raise CommandError(f"{location}: not valid UTF-8 ({exc.reason})", EXIT_INPUT) from None
    except (OSError, EOFError, ValueError) as exc:
        raise CommandError(f"{location}: cannot read the vectors: {_reason(exc)}", EXIT_INPUT) from None


def _with_training_counts(wv, vocab_tsv: str):
    """A training output's vectors.bin plus the counts its vocab.tsv lists (same words, same order)."""
    from .vectors import WordVectors

    try:
        with open(vocab_tsv, encoding="utf-8") as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle]
        words, counts = [row[0] for row in rows], [int(row[1]) for row in rows]
    except (OSError, ValueError, IndexError):
        return wv
    return WordVectors(wv.words, wv.vectors, counts) if words == wv.words else wv


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _describe(wv, path: str) -> str:
    return f"{path}: {len(wv):,} words, {wv.vector_size} dimensions"


# -- commands -----------------------------------------------------------------------------------------
def run_eval(args) -> int:
    from .report import EvaluationFileError, evaluate_files, format_evaluation

    if args.analogies is None and not args.pairs:
        raise CommandError("nothing to evaluate: give --analogies FILE and/or --pairs FILE [FILE ...]", EXIT_USAGE)
    for path in ([args.analogies] if args.analogies else []) + args.pairs:
        if not os.path.isfile(path):
            raise CommandError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a file",
                               EXIT_INPUT)
    wv = load_vectors(args.vectors)
    try:
        evaluation = evaluate_files(wv, args.analogies, args.pairs, restrict_vocab=args.restrict_vocab or None)
    except EvaluationFileError as exc:
        raise CommandError(str(exc), EXIT_INPUT) from None
    if args.json:
        print(json.dumps({"vectors": args.vectors, "words": len(wv), "vector_size": wv.vector_size,
                          **evaluation}, indent=2))
    else:
        print(_describe(wv, args.vectors))
        print()
        print(format_evaluation(evaluation))
    return EXIT_OK


def run_neighbors(args) -> int:
    wv = load_vectors(args.vectors)
    code, shown = EXIT_OK, 0
    for word in args.words:
        if word not in wv:
            variants = [v for v in dict.fromkeys((word.lower(), word.capitalize(), word.upper()))
                        if v != word and v in wv]
            hint = f"; did you mean {' or '.join(repr(v) for v in variants)}?" if variants else \
                " (words are case-sensitive, and words rarer than min_count were dropped in training)"
            print(f"sparkw2v neighbors: {word!r} is not in the vocabulary of {len(wv):,} words{hint}",
                  file=sys.stderr)
            code = EXIT_UNKNOWN_WORD
            continue
        if shown:
            print()
        shown += 1
        print(f"{word} (frequency rank {wv.row(word) + 1:,} of {len(wv):,})")
        neighbours = wv.most_similar(positive=[word], topn=args.topn)
        width = max([len(w) for w, _ in neighbours] + [4])
        for rank, (other, score) in enumerate(neighbours, 1):
            print(f"  {rank:>3}  {other:<{width}}  {score:7.4f}")
    return code


def _output_format(path: str) -> str:
    lower = path.lower()
    if lower.endswith(_PARQUET_SUFFIXES) or os.path.isdir(path):
        return "parquet"
    if lower.endswith(_BINARY_SUFFIXES):
        return "binary"
    if lower.endswith(_TEXT_SUFFIXES):
        return "text"
    raise CommandError(f"{path}: cannot tell the output format from the name: use .txt or .vec (text), "
                       f".bin (binary), .parquet (Parquet), or pass --to", EXIT_USAGE)


def run_convert(args) -> int:
    to_format = args.to_format or _output_format(args.output)
    wv = load_vectors(args.input, args.from_format)
    target = args.output
    if to_format == "parquet" and os.path.isdir(target):
        target = os.path.join(target, "part-00000.parquet")
    elif os.path.isdir(target):
        raise CommandError(f"{target}: is a folder; give a file name for {to_format} output", EXIT_OUTPUT)
    try:
        if to_format == "parquet":
            wv.save_parquet(target)
        else:
            wv.save_word2vec(target, binary=to_format == "binary")
    except OSError as exc:
        raise CommandError(f"{target}: cannot write: {_reason(exc)}", EXIT_OUTPUT) from None
    except ValueError as exc:  # a word the word2vec formats cannot hold (whitespace, empty)
        raise CommandError(f"cannot write {to_format} vectors: {exc}", EXIT_OUTPUT) from None
    print(f"wrote {to_format} {_describe(wv, target)}")
    return EXIT_OK


COMMANDS = {"eval": run_eval, "neighbors": run_neighbors, "convert": run_convert}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "train":
        from .job import main as train_main

        return _exit_code(train_main, argv[1:], prog="sparkw2v train")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except CommandError as err:
        print(f"sparkw2v {args.command}: error: {err}", file=sys.stderr)
        return err.code
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def _exit_code(function, *args, **kwargs) -> int:
    """Call an argparse-based main, turning its SystemExit (--help, usage errors) into a return code."""
    try:
        return function(*args, **kwargs)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
