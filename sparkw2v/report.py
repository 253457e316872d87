"""Summaries of a trained model for people: evaluation scores as a table, and an HTML training report.

- `evaluate_files` scores word vectors on an analogy file and/or word-pair files (with
  `sparkw2v.evaluation`) and returns plain JSON-ready data, the same for `sparkw2v eval --json` and
  the "evaluation" entry of a training job's metrics.json.
- `format_evaluation` renders that data as the text table `sparkw2v eval` prints and the job logs.
- `write_report` writes ``report.html`` into a training output folder: one self-contained page (no
  scripts, no external stylesheets, fonts or images) with inline SVG charts of the loss and the
  throughput per round, the summary numbers, the configuration and the evaluation scores.

numpy only (through `sparkw2v.evaluation`); no Spark and no plotting library.
"""
from __future__ import annotations

import datetime
import html
import math
import os
from collections.abc import Iterable, Sequence

# word2vec.c's compute-accuracy threshold: answer analogies among the 30,000 most frequent words.
DEFAULT_RESTRICT_VOCAB = 30000
REPORT_NAME = "report.html"


class EvaluationFileError(ValueError):
    """An evaluation file is missing, unreadable or unusable; the message names the file."""


# -- evaluation ---------------------------------------------------------------------------------------
def evaluate_files(wv, analogies: str | os.PathLike | None = None, pairs: Iterable[str | os.PathLike] = (),
                   restrict_vocab: int | None = DEFAULT_RESTRICT_VOCAB, errors: str = "raise") -> dict:
    """Score `wv` on an analogy file and on word-pair files; JSON-ready (NaN becomes None).

    Returns ``{"analogies": {...} or None, "pairs": [{...}, ...]}``. The analogy entry holds
    `evaluate_analogies`' result plus ``file`` and ``restrict_vocab`` (None = every word); each
    pairs entry holds ``file``, ``spearman``, ``spearman_p``, ``pearson``, ``pearson_p``,
    ``pairs``, ``oov`` and ``oov_ratio`` (percent). Word pairs are looked up among the first
    300,000 words, as gensim does.

    errors="raise" raises `EvaluationFileError` for a missing or malformed file; errors="record"
    stores ``{"file": ..., "error": message}`` in its place and goes on with the other files, so a
    bad evaluation file never costs a finished training run its output.
    """
    from .evaluation import evaluate_analogies, evaluate_word_pairs

    if errors not in ("raise", "record"):
        raise ValueError(f"errors must be 'raise' or 'record', got {errors!r}")

    def attempt(path, score):
        try:
            return {"file": os.fspath(path), **score(path)}
        except (OSError, ValueError) as exc:
            if errors == "raise":
                raise EvaluationFileError(describe_file_error(exc, path)) from exc
            return {"file": os.fspath(path), "error": describe_file_error(exc, path)}

    def analogy_scores(path):
        return {"restrict_vocab": restrict_vocab,
                **evaluate_analogies(wv, path, restrict_vocab=restrict_vocab, case_insensitive=True)}

    def pair_scores(path):
        result = evaluate_word_pairs(wv, path)
        return {"spearman": result["spearman"][0], "spearman_p": result["spearman"][1],
                "pearson": result["pearson"][0], "pearson_p": result["pearson"][1],
                "pairs": result["pairs"], "oov": result["oov"], "oov_ratio": result["oov_ratio"]}

    return _json_ready({
        "analogies": attempt(analogies, analogy_scores) if analogies is not None else None,
        "pairs": [attempt(path, pair_scores) for path in pairs],
    })


def describe_file_error(exc: BaseException, path) -> str:
    """One line naming the file: OSError's strerror, a decoding error, or the message itself."""
    name = os.fspath(path)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{name}: {exc.strerror.lower()}"
    if isinstance(exc, UnicodeDecodeError):
        return f"{name}: not UTF-8 text ({exc.reason})"
    message = str(exc)
    return message if name in message else f"{name}: {message}"


def _json_ready(value):
    """NaN and infinities (an undefined correlation) become None, so the JSON is standard JSON."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _score(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_evaluation(evaluation: dict) -> str:
    """The text table of `evaluate_files`' result, as `sparkw2v eval` prints it."""
    lines: list[str] = []
    analogies = evaluation.get("analogies")
    if analogies is not None:
        lines.append(f"analogies: {analogies['file']}")
        if "error" in analogies:
            lines.append(f"  error: {analogies['error']}")
        else:
            limit = analogies.get("restrict_vocab")
            lines.append(f"  answers searched among the {limit} most frequent words" if limit
                         else "  answers searched among all words")
            width = max([len("section")] + [len(s["section"]) for s in analogies["sections"]]) + 2
            lines.append(f"  {'section':<{width}}{'accuracy':>9}  {'correct':>8} / answered")
            for section in analogies["sections"]:
                answered = section["correct"] + section["incorrect"]
                accuracy = f"{100 * section['accuracy']:.1f}%" if answered else "-"
                lines.append(f"  {section['section']:<{width}}{accuracy:>9}  {section['correct']:>8} / {answered}")
            answered = analogies["correct"] + analogies["incorrect"]
            lines.append(f"  {'total':<{width}}{100 * analogies['total']:>8.1f}%  "
                         f"{analogies['correct']:>8} / {answered}")
            lines.append(f"  questions skipped for out-of-vocabulary words: {analogies['oov']} of "
                         f"{analogies['questions']} ({analogies['oov_ratio']:.1f}%)")
    pairs = evaluation.get("pairs") or []
    if pairs:
        if lines:
            lines.append("")
        width = max([len("word pairs")] + [len(p["file"]) for p in pairs]) + 2
        lines.append(f"{'word pairs':<{width}}{'Spearman':>9}{'Pearson':>9}{'pairs':>7}{'OOV':>7}")
        for entry in pairs:
            if "error" in entry:
                lines.append(f"{entry['file']:<{width}}error: {entry['error']}")
                continue
            lines.append(f"{entry['file']:<{width}}{_score(entry['spearman']):>9}{_score(entry['pearson']):>9}"
                         f"{entry['pairs']:>7}{entry['oov_ratio']:>6.1f}%")
    return "\n".join(lines)


# -- SVG charts ---------------------------------------------------------------------------------------
def _nice_step(span: float, ticks: int = 5) -> float:
    """A 1, 2 or 5 times a power of ten step giving about `ticks` intervals over `span`."""
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _axis_range(values: Sequence[float], from_zero: bool) -> tuple[float, float, float]:
    """(low, high, step) of a y axis covering `values`, snapped to round tick values."""
    low, high = min(values), max(values)
    if from_zero:
        low = min(low, 0.0)
    if high == low:
        pad = abs(high) * 0.1 or 1.0
        low, high = (low if from_zero else low - pad), high + pad
    step = _nice_step(high - low)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _tick_label(value: float, step: float) -> str:
    if abs(value) >= 10_000:
        return f"{value / 1000:,.0f}k" if step >= 1000 else f"{value:,.0f}"
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"


def svg_line_chart(values: Sequence[float | None], labels: Sequence[str], title: str, y_label: str,
                   from_zero: bool = False, color: str = "#1f77b4", width: int = 640, height: int = 300,
                   boundaries: Sequence[int] = ()) -> str:
    """An inline <svg> line chart of `values` (one per round; None or non-finite values are left out).

    `labels` name the points (shown on the x axis when few, and in each point's tooltip);
    `boundaries` are point indices before which a dashed vertical line marks a new epoch.
    """
    esc = html.escape
    left, right, top, bottom = 72, 16, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="{esc(title)}" font-family="sans-serif" font-size="11" fill="#333">',
             f'<text x="{width / 2:.0f}" y="20" text-anchor="middle" font-size="13" font-weight="bold">'
             f'{esc(title)}</text>']
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not points:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)
    low, high, step = _axis_range([v for _, v in points], from_zero)
    count = len(values)

    def x_of(i: int) -> float:  # points kept 12 px inside the axes
        return left + (plot_w / 2 if count == 1 else 12 + (plot_w - 24) * i / (count - 1))

    def y_of(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    tick = low
    while tick <= high + step / 2:
        y = y_of(tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e6e6e6"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(_tick_label(tick, step))}</text>')
        tick += step
    for i in boundaries:
        if 0 < i < count:
            x = (x_of(i - 1) + x_of(i)) / 2
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#bbb" stroke-dasharray="4 3"/>')
    every = max(1, math.ceil(count / 12))
    for i in range(0, count, every):
        parts.append(f'<text x="{x_of(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{esc(labels[i])}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>'
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle">epoch.round</text>'
                 f'<text transform="translate(14 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle">'
                 f'{esc(y_label)}</text>')
    path = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    for i, v in points:
        parts.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="3.5" fill="{color}">'
                     f'<title>{esc(labels[i])}: {v:,.4g}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


# -- the HTML report ----------------------------------------------------------------------------------
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; }
.muted { color: #666; } .error { color: #b00; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #eee; }
"""

_SUMMARY_LABELS = [
    ("vocab_size", "vocabulary (words)"), ("corpus_words", "corpus words"),
    ("train_words", "training words per epoch"), ("vocabulary_seconds", "vocabulary job (s)"),
    ("encode_seconds", "encoding (s)"), ("train_seconds", "training (s)"), ("total_seconds", "total (s)"),
    ("master", "Spark master"), ("python", "Python"),
]

_ROUND_COLUMNS = [("epoch", "epoch"), ("round", "round"), ("loss", "loss"), ("words", "words"),
                  ("words_per_sec", "words/s"), ("seconds", "seconds"), ("alpha_start", "alpha start"),
                  ("alpha_end", "alpha end"), ("driver_bytes_in", "driver bytes in")]


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.5g}"
    return str(value)


def _cell(value) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="num">{html.escape(_fmt(value))}</td>' if numeric else f"<td>{html.escape(_fmt(value))}</td>"


def _table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _evaluation_html(evaluation: dict) -> str:
    parts = ["<h2>Evaluation</h2>"]
    analogies = evaluation.get("analogies")
    if analogies is not None:
        parts.append(f"<h3>Analogies: {html.escape(str(analogies['file']))}</h3>")
        if "error" in analogies:
            parts.append(f'<p class="error">{html.escape(analogies["error"])}</p>')
        else:
            limit = analogies.get("restrict_vocab")
            answered = analogies["correct"] + analogies["incorrect"]
            parts.append(f"<p>Accuracy <strong>{100 * analogies['total']:.1f}%</strong> "
                         f"({analogies['correct']:,} of {answered:,} answered questions); "
                         f"{analogies['oov']:,} of {analogies['questions']:,} questions "
                         f"({analogies['oov_ratio']:.1f}%) skipped for words outside "
                         + (f"the {limit:,} most frequent words" if limit else "the vocabulary") + ".</p>")
            rows = []
            for s in analogies["sections"]:
                n = s["correct"] + s["incorrect"]
                rows.append((s["section"], f"{100 * s['accuracy']:.1f}%" if n else "-", s["correct"], n))
            parts.append(_table(["section", "accuracy", "correct", "answered"], rows))
    pairs = evaluation.get("pairs") or []
    if pairs:
        parts.append("<h3>Word pairs</h3>")
        rows, errors = [], []
        for p in pairs:
            if "error" in p:
                errors.append(f'<p class="error">{html.escape(p["file"])}: {html.escape(p["error"])}</p>')
            else:
                rows.append((p["file"], p["spearman"], p["pearson"], p["pairs"], f"{p['oov_ratio']:.1f}%"))
        if rows:
            parts.append(_table(["file", "Spearman", "Pearson", "pairs used", "OOV"], rows))
        parts.extend(errors)
    return "".join(parts)


def render_report(metrics: dict, config: dict, evaluation: dict | None = None, title: str | None = None) -> str:
    """The report page as a string (see `write_report`)."""
    esc = html.escape
    rounds = list(metrics.get("rounds") or [])
    labels = [f"{r.get('epoch', '?')}.{r.get('round', '?')}" for r in rounds]
    boundaries = [i for i in range(1, len(rounds)) if rounds[i].get("epoch") != rounds[i - 1].get("epoch")]
    loss_chart = svg_line_chart([r.get("loss") for r in rounds], labels, "Training loss per round", "loss",
                                boundaries=boundaries)
    speed_chart = svg_line_chart([r.get("words_per_sec") for r in rounds], labels, "Throughput per round",
                                 "words / second", from_zero=True, color="#2ca02c", boundaries=boundaries)
    title = title or (f"sparkw2v: {config.get('architecture', '?')}/{config.get('loss', '?')}, "
                      f"{_fmt(metrics.get('vocab_size'))} words x {_fmt(config.get('vector_size'))} dimensions")
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    summary = [(label, metrics[key]) for key, label in _SUMMARY_LABELS if key in metrics]
    known = {key for key, _ in _SUMMARY_LABELS} | {"rounds", "evaluation"}
    summary += [(key, value) for key, value in metrics.items()
                if key not in known and not isinstance(value, (dict, list))]
    if rounds:
        last = rounds[-1]
        summary.append(("rounds", len(rounds)))
        summary.append(("final loss", last.get("loss")))
        speeds = [r["words_per_sec"] for r in rounds if isinstance(r.get("words_per_sec"), (int, float))]
        if speeds:
            summary.append(("mean words/s per round", sum(speeds) / len(speeds)))

    evaluation = evaluation if evaluation is not None else metrics.get("evaluation")
    body = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="muted">Training report written {esc(written)}.</p>',
        "<h2>Summary</h2>", _table(["", "value"], summary),
        _evaluation_html(evaluation) if evaluation else "",
        "<h2>Training curves</h2>",
        f'<div class="charts">{loss_chart}{speed_chart}</div>',
        '<p class="muted">Dashed lines separate epochs; hover a point for its value.</p>' if boundaries else "",
        "<h2>Configuration</h2>", _table(["parameter", "value"], sorted(config.items())),
        "<h2>Rounds</h2>",
        _table([label for _, label in _ROUND_COLUMNS], ([r.get(key) for key, _ in _ROUND_COLUMNS] for r in rounds)),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            + "\n".join(part for part in body if part) + "\n</body></html>\n")


def write_report(output_dir: str | os.PathLike, metrics: dict, config: dict, evaluation: dict | None = None) -> str:
    """Write ``report.html`` into the local folder `output_dir`; return its path.

    `metrics` is what metrics.json holds (the summary numbers and "rounds"), `config` the training
    configuration as a dict, `evaluation` the result of `evaluate_files` (default: metrics'
    "evaluation" entry, if any). The page is self-contained: inline CSS and SVG, nothing fetched.
    """
    path = os.path.join(os.fspath(output_dir), REPORT_NAME)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_report(metrics, config, evaluation))
    return path
