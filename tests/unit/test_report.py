"""report.html (self-contained, with SVG charts), the evaluation summary and its text table."""
from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from sparkw2v.evaluation import evaluate_analogies
from sparkw2v.report import EvaluationFileError, evaluate_files, format_evaluation, render_report, write_report
from sparkw2v.vectors import WordVectors

WORDS = ["the", "king", "queen", "man", "woman", "boy", "girl", "cat", "cats", "dog", "dogs", "car", "cars"]


def _metrics(rounds_per_epoch: int = 2, epochs: int = 3) -> dict:
    rounds = []
    for epoch in range(1, epochs + 1):
        for number in range(1, rounds_per_epoch + 1):
            i = len(rounds)
            rounds.append({"epoch": epoch, "round": number, "loss": 3.0 - 0.2 * i, "words": 1000,
                           "words_per_sec": 50_000.0 + 1000 * i, "seconds": 0.02, "alpha_start": 0.025,
                           "alpha_end": 0.02, "driver_bytes_in": 4096, "partitions": 2})
    return {"vocab_size": 13, "corpus_words": 12_345, "train_words": 12_000, "vocabulary_seconds": 1.5,
            "encode_seconds": 0.5, "train_seconds": 2.25, "total_seconds": 5.0, "master": "local[2]",
            "python": "3.11.7", "rounds": rounds}


CONFIG = {"architecture": "skipgram", "loss": "ns", "vector_size": 8, "window": 5, "alpha": None,
          "cbow_mean": True, "sample": 0.001}


@pytest.fixture
def wv() -> WordVectors:
    return WordVectors(WORDS, np.random.default_rng(1).standard_normal((len(WORDS), 8)).astype(np.float32))


@pytest.fixture
def eval_files(tmp_path):
    analogies = tmp_path / "questions.txt"
    analogies.write_text(": family\nking queen man woman\nman woman boy girl\nboy girl king queen\n"
                         ": plural\ncat cats dog dogs\ndog dogs car cars\ncat cats nosuch words\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t9\nman\twoman\t8\ncat\tdog\t6\ncar\tcat\t2\ndogs\tthe\t1\nfoo\tbar\t3\n")
    return analogies, pairs


def _svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.S)]


def test_report_is_self_contained_with_two_charts(tmp_path, wv, eval_files):
    evaluation = evaluate_files(wv, *eval_files[:1], pairs=[eval_files[1]])
    metrics = {**_metrics(), "evaluation": evaluation}
    path = write_report(tmp_path, metrics, CONFIG, evaluation)
    assert path == str(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for external in ("src=", "href=", "<link", "<script", "url(", "@import"):
        assert external not in page, external

    loss, speed = _svgs(page)
    for chart, values in ((loss, [r["loss"] for r in metrics["rounds"]]),
                          (speed, [r["words_per_sec"] for r in metrics["rounds"]])):
        points = [tuple(map(float, p.split(","))) for p in chart.find("polyline").get("points").split()]
        assert len(points) == len(values) == len(chart.findall("circle"))
        xs, ys = zip(*points)
        assert list(xs) == sorted(xs)
        # y grows downwards in SVG: the order of the heights mirrors the order of the values.
        assert np.argsort(ys, kind="stable").tolist() == np.argsort([-v for v in values], kind="stable").tolist()
        assert len([line for line in chart.findall("line") if line.get("stroke-dasharray")]) == 2  # epochs 2, 3
    assert "Training loss per round" in page and "Throughput per round" in page

    # Summary, configuration and evaluation are all there.
    for text in ("12,345", "local[2]", "skipgram", "vector_size", "cbow_mean", "final loss", "2.25"):
        assert text in page, text
    expected = evaluate_analogies(wv, eval_files[0], restrict_vocab=30000)
    assert f"Accuracy <strong>{100 * expected['total']:.1f}%</strong>" in page
    assert "family" in page and "plural" in page and "Spearman" in page


def test_report_escapes_html_and_survives_odd_metrics(tmp_path):
    metrics = _metrics(rounds_per_epoch=1, epochs=1)
    metrics["master"] = "spark://<host>&co"
    page = render_report(metrics, {**CONFIG, "architecture": "<b>cbow</b>"})
    assert "<b>cbow</b>" not in page and "&lt;b&gt;cbow&lt;/b&gt;" in page
    assert "spark://&lt;host&gt;&amp;co" in page
    [loss, speed] = _svgs(page)   # one round: one point, still a valid chart
    assert len(loss.findall("circle")) == 1

    no_rounds = render_report({**metrics, "rounds": []}, CONFIG)
    assert all(svg.findtext("text[last()]") == "no data" for svg in _svgs(no_rounds))

    bad = _metrics()
    bad["rounds"][2]["loss"] = math.nan
    for r in bad["rounds"]:
        r["words_per_sec"] = 1000.0   # a flat line
    loss, speed = _svgs(render_report(bad, CONFIG))
    assert len(loss.findall("circle")) == len(bad["rounds"]) - 1
    assert len(speed.findall("circle")) == len(bad["rounds"])


def test_evaluate_files_is_json_ready_and_records_or_raises_errors(tmp_path, wv, eval_files):
    analogies, pairs = eval_files
    evaluation = evaluate_files(wv, analogies, [pairs, tmp_path / "missing.tsv"], restrict_vocab=None,
                                errors="record")
    json.dumps(evaluation, allow_nan=False)
    assert evaluation["analogies"]["restrict_vocab"] is None
    assert evaluation["analogies"]["oov"] == 1 and evaluation["analogies"]["questions"] == 6
    good, missing = evaluation["pairs"]
    assert good["pairs"] == 5 and good["oov"] == 1 and -1 <= good["spearman"] <= 1
    assert missing == {"file": str(tmp_path / "missing.tsv"),
                       "error": f"{tmp_path / 'missing.tsv'}: no such file or directory"}
    table = format_evaluation(evaluation)
    assert f"error: {tmp_path / 'missing.tsv'}: no such file or directory" in table
    assert "answers searched among all words" in table

    with pytest.raises(EvaluationFileError, match="missing.tsv: no such file"):
        evaluate_files(wv, None, [tmp_path / "missing.tsv"])
    too_few = tmp_path / "two.tsv"
    too_few.write_text("king\tqueen\t9\nman\twoman\t8\n")
    undefined = evaluate_files(wv, pairs=[too_few])["pairs"][0]
    assert undefined["pearson"] is None and undefined["spearman"] is None   # NaN: fewer than 3 pairs
    assert "n/a" in format_evaluation({"analogies": None, "pairs": [undefined]})
