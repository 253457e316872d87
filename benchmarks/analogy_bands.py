#!/usr/bin/env python
"""Where one model loses analogies against another: accuracy by section and by how rare the question words are.

    python benchmarks/analogy_bands.py one-copy.bin many-copies.bin

Both files are word2vec vectors (binary or text, sorted by frequency as sparkw2v, gensim and word2vec.c write
them; `benchmarks/sim_copies.py --save` writes one). Questions are scored as evaluate_analogies scores them
(restrict_vocab 30000, case-insensitive) and compared on the questions both models answered; a question's
band is the frequency rank, in the first file, of its rarest word.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sparkw2v.evaluation import analogy_answers  # noqa: E402
from sparkw2v.vectors import load_word2vec  # noqa: E402

BANDS = (0, 1_000, 3_000, 6_000, 10_000, 20_000, 30_000)


def answers(path: str, questions_path: str) -> tuple[list[str], dict[tuple, bool], dict[str, int]]:
    wv = load_word2vec(path)
    names, questions, correct, _, _ = analogy_answers(wv, questions_path)
    by_question = {(names[q[4]], *(wv.words[i].upper() for i in q[:4])): bool(ok) for q, ok in zip(questions, correct)}
    return names, by_question, {word.upper(): rank for rank, word in reversed(list(enumerate(wv.words)))}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("first")
    p.add_argument("second")
    p.add_argument("--eval-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "eval"))
    args = p.parse_args(argv)
    questions_path = os.path.join(args.eval_dir, "questions-words.txt")
    names, first, ranks = answers(args.first, questions_path)
    _, second, _ = answers(args.second, questions_path)
    common = sorted(first.keys() & second.keys())
    a = np.array([first[q] for q in common])
    b = np.array([second[q] for q in common])
    rarest = np.array([max(ranks[w] for w in q[1:]) for q in common])
    section = np.array([q[0] for q in common])
    print(f"{len(common)} questions both answered: {100 * a.mean():.2f}% against {100 * b.mean():.2f}%\n")
    print("| rarest word's rank | questions | first % | second % | lost |\n|---|---:|---:|---:|---:|")
    for low, high in zip(BANDS, BANDS[1:]):
        m = (rarest >= low) & (rarest < high)
        if m.any():
            print(f"| {low:,}-{high:,} | {m.sum()} | {100 * a[m].mean():.2f} | {100 * b[m].mean():.2f} | "
                  f"{int(a[m].sum() - b[m].sum())} |")
    print("\n| section | questions | first % | second % | lost |\n|---|---:|---:|---:|---:|")
    for name in names:
        m = section == name
        if m.any():
            print(f"| {name} | {m.sum()} | {100 * a[m].mean():.2f} | {100 * b[m].mean():.2f} | "
                  f"{int(a[m].sum() - b[m].sum())} |")


if __name__ == "__main__":
    main()
