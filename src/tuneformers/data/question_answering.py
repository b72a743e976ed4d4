"""Extractive question answering data: SQuAD readers, windowed features, answer post-processing, EM / F1.

No torch. The pieces follow the SQuAD fine-tuning recipe:

* ``read_squad`` (v1.1 / v2.0 JSON) and ``read_qa_jsonl`` (one ``{"question", "context", "answers"}`` per line).
* ``prepare_train_features``: question + context pairs cut into windows of ``max_length`` tokens that
  overlap by ``doc_stride`` tokens; the answer's characters are mapped to token positions through the
  offsets, and a window that does not contain the whole answer points at [CLS].
* ``prepare_validation_features`` keeps, per window, its example id and the offsets of context tokens.
* ``postprocess_qa_predictions``: the ``n_best_size`` best start and end logits of every window, valid
  spans of at most ``max_answer_length`` tokens, mapped back to context text; with
  ``version_2_with_negative`` the empty answer wins when its score beats the best span by more than
  ``null_score_diff_threshold``.
* ``squad_metrics``: exact match and F1 as the official SQuAD v1.1 / v2.0 evaluation scripts define them.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .readers import DataFormatError, format_suffix, jsonl_values, open_text

__all__ = [
    "QAExample",
    "read_squad",
    "read_qa_jsonl",
    "read_qa_examples",
    "prepare_train_features",
    "prepare_validation_features",
    "postprocess_qa_predictions",
    "normalize_answer",
    "exact_match_score",
    "f1_score",
    "squad_metrics",
]


@dataclasses.dataclass(frozen=True)
class QAExample:
    """A question about a context; ``answers`` are (text, character start) pairs, empty when unanswerable."""

    id: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...] = ()
    path: str | None = None
    line: int | None = None

    @property
    def answer_texts(self) -> list[str]:
        return [text for text, _ in self.answers]


# ------------------------------------------------------------------------------------------ readers


def read_squad(path: str | os.PathLike) -> list[QAExample]:
    """Questions of a SQuAD v1.1 or v2.0 JSON file (``{"data": [{"paragraphs": [{"context", "qas"}]}]}``)."""
    path = Path(path)
    with open_text(path) as handle:
        raw = handle.read()
    try:
        content = json.loads(raw)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"not valid JSON ({error.msg}).") from None
    if not isinstance(content, dict) or not isinstance(content.get("data"), list):
        raise DataFormatError(path, None, 'expected SQuAD JSON: {"data": [{"paragraphs": [{"context": ..., "qas": [...]}]}]}.')
    examples = []
    for article in content["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context")
            for qa in paragraph.get("qas", []):
                line = _line_of(raw, qa.get("id"))
                if not isinstance(context, str) or not isinstance(qa.get("question"), str):
                    raise DataFormatError(path, line, "every question needs a 'question' string and its paragraph a 'context'.")
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                pairs = [_checked_answer(answer.get("text"), answer.get("answer_start"), context, path, line)
                         for answer in answers]
                examples.append(QAExample(str(qa.get("id", len(examples))), qa["question"], context, tuple(pairs),
                                          str(path), line))
    if not examples:
        raise DataFormatError(path, None, "no questions found.")
    return examples


def read_qa_jsonl(path: str | os.PathLike) -> list[QAExample]:
    """One question per line: ``{"id"?, "question", "context", "answers"}``; ``answers`` is SQuAD's
    ``{"text": [...], "answer_start": [...]}``, a list of ``{"text", "answer_start"}``, or a list of strings
    (each found in the context). An empty list marks an unanswerable question."""
    path = Path(path)
    examples = []
    for number, record in jsonl_values(path):
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("question", "context")):
            raise DataFormatError(path, number, "expected an object with 'question' and 'context' strings.")
        answers = [_checked_answer(text, start, record["context"], path, number)
                   for text, start in _answer_pairs(record.get("answers", []), path, number)]
        examples.append(QAExample(str(record.get("id", number)), record["question"], record["context"],
                                  tuple(answers), str(path), number))
    if not examples:
        raise DataFormatError(path, None, "no questions found (expected one JSON object per line).")
    return examples


def read_qa_examples(path: str | os.PathLike) -> list[QAExample]:
    """SQuAD JSON (``.json``) or flat JSONL (``.jsonl``), by the file name."""
    return read_qa_jsonl(path) if format_suffix(path) in (".jsonl", ".ndjson") else read_squad(path)



def _line_of(raw: str, question_id: Any) -> int | None:
    """The line of a question id in the raw JSON text (json.loads keeps no positions)."""
    if question_id is None:
        return None
    position = raw.find(json.dumps(str(question_id)))
    return None if position < 0 else raw.count("\n", 0, position) + 1


def _answer_pairs(answers: Any, path: Path, line: int) -> list[tuple[Any, Any]]:
    if isinstance(answers, Mapping):
        texts, starts = answers.get("text", []), answers.get("answer_start", [None] * len(answers.get("text", [])))
        if len(texts) != len(starts):
            raise DataFormatError(path, line, f"answers has {len(texts)} texts but {len(starts)} answer_start values.")
        return list(zip(texts, starts))
    if isinstance(answers, list):
        return [(a.get("text"), a.get("answer_start")) if isinstance(a, Mapping) else (a, None) for a in answers]
    raise DataFormatError(path, line, f"answers must be a list or a {{'text': [...], 'answer_start': [...]}} object, "
                          f"got {type(answers).__name__}.")


def _checked_answer(text: Any, start: Any, context: str, path: Path, line: int | None) -> tuple[str, int]:
    if not isinstance(text, str) or not text:
        raise DataFormatError(path, line, f"an answer needs a non-empty 'text', got {text!r}.")
    if start is None:
        start = context.find(text)
    if not isinstance(start, int) or start < 0 or context[start:start + len(text)] != text:
        found = context.find(text)
        hint = f"; it occurs at {found}" if found >= 0 else " (the text does not occur in the context at all)"
        raise DataFormatError(path, line, f"answer {text!r} is not in its context at answer_start={start}{hint}.")
    return text, start


# ------------------------------------------------------------------------------------------ features


def _tokenize_windows(tokenizer: Any, examples: Sequence[QAExample], max_length: int, doc_stride: int,
                      pad_to_max_length: bool):
    question_first = tokenizer.padding_side == "right"
    questions = [example.question.lstrip() for example in examples]
    contexts = [example.context for example in examples]
    encoding = tokenizer(questions if question_first else contexts, contexts if question_first else questions,
                         truncation="only_second" if question_first else "only_first", max_length=max_length,
                         stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                         padding="max_length" if pad_to_max_length else False)
    return encoding, (1 if question_first else 0)


def _model_inputs(encoding: Any, index: int) -> dict[str, list[int]]:
    return {key: encoding[key][index] for key in ("input_ids", "token_type_ids", "attention_mask") if key in encoding}


def prepare_train_features(tokenizer: Any, examples: Sequence[QAExample], max_length: int = 384,
                           doc_stride: int = 128, pad_to_max_length: bool = True) -> list[dict[str, Any]]:
    """Training windows with ``start_positions`` / ``end_positions`` (the [CLS] index when the window does
    not hold the first answer, or the question has none)."""
    encoding, context_id = _tokenize_windows(tokenizer, examples, max_length, doc_stride, pad_to_max_length)
    features = []
    for index, sample in enumerate(encoding["overflow_to_sample_mapping"]):
        feature = _model_inputs(encoding, index)
        input_ids = feature["input_ids"]
        cls_index = input_ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in input_ids else 0
        answers = examples[sample].answers
        span = None
        if answers:
            text, start_char = answers[0]
            span = _answer_tokens(encoding["offset_mapping"][index], encoding.sequence_ids(index), context_id,
                                  start_char, start_char + len(text))
        feature["start_positions"], feature["end_positions"] = span or (cls_index, cls_index)
        features.append(feature)
    return features


def _answer_tokens(offsets, sequence_ids, context_id: int, start_char: int, end_char: int) -> tuple[int, int] | None:
    """First and last token of the answer's characters, or None when the window does not hold all of it."""
    first = sequence_ids.index(context_id)
    last = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_id)
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return None
    while first < len(offsets) and offsets[first][0] <= start_char:
        first += 1
    while offsets[last][1] >= end_char:
        last -= 1
    return first - 1, last + 1


def prepare_validation_features(tokenizer: Any, examples: Sequence[QAExample], max_length: int = 384,
                                doc_stride: int = 128, pad_to_max_length: bool = True) -> list[dict[str, Any]]:
    """Evaluation windows with ``example_id`` and ``offset_mapping`` (None on question and special tokens),
    which ``postprocess_qa_predictions`` needs to map logits back to text."""
    encoding, context_id = _tokenize_windows(tokenizer, examples, max_length, doc_stride, pad_to_max_length)
    features = []
    for index, sample in enumerate(encoding["overflow_to_sample_mapping"]):
        feature = _model_inputs(encoding, index)
        feature["example_id"] = examples[sample].id
        feature["offset_mapping"] = [tuple(offset) if sequence == context_id else None
                                     for offset, sequence in zip(encoding["offset_mapping"][index],
                                                                 encoding.sequence_ids(index))]
        features.append(feature)
    return features


# ------------------------------------------------------------------------------------------ post-processing


def postprocess_qa_predictions(examples: Sequence[QAExample], features: Sequence[Mapping[str, Any]],
                               predictions: tuple[Any, Any], version_2_with_negative: bool = False,
                               n_best_size: int = 20, max_answer_length: int = 30,
                               null_score_diff_threshold: float = 0.0) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """Answer texts per example id from per-window start / end logits (each F T), and the n-best lists
    (text, start / end logit, probability over the n-best, and character offsets)."""
    start_logits, end_logits = (np.asarray(p) for p in predictions)
    if len(start_logits) != len(features) or len(end_logits) != len(features):
        raise ValueError(f"Got logits for {len(start_logits)} windows but {len(features)} features; pass the "
                         "predictions of exactly the features given.")
    windows = collections.defaultdict(list)
    for index, feature in enumerate(features):
        windows[feature["example_id"]].append(index)
    answers, nbest = {}, {}
    for example in examples:
        candidates, null = [], None
        for index in windows[example.id]:
            spans, window_null = _window_candidates(start_logits[index], end_logits[index],
                                                    features[index]["offset_mapping"], n_best_size, max_answer_length)
            candidates += spans
            if null is None or null["score"] > window_null["score"]:
                null = window_null
        answers[example.id], nbest[example.id] = _choose_answer(example.context, candidates, null, version_2_with_negative,
                                                                n_best_size, null_score_diff_threshold)
    return answers, nbest


def _window_candidates(start_logits, end_logits, offsets, n_best_size: int, max_answer_length: int):
    null = {"offsets": (0, 0), "score": start_logits[0] + end_logits[0], "start_logit": start_logits[0],
            "end_logit": end_logits[0]}
    best_starts = np.argsort(start_logits)[-1:-n_best_size - 1:-1].tolist()
    best_ends = np.argsort(end_logits)[-1:-n_best_size - 1:-1].tolist()
    spans = []
    for start in best_starts:
        for end in best_ends:
            if start >= len(offsets) or end >= len(offsets) or offsets[start] is None or offsets[end] is None:
                continue
            if end < start or end - start + 1 > max_answer_length:
                continue
            spans.append({"offsets": (offsets[start][0], offsets[end][1]), "score": start_logits[start] + end_logits[end],
                          "start_logit": start_logits[start], "end_logit": end_logits[end]})
    return spans, null


def _choose_answer(context: str, candidates: list[dict], null: dict | None, with_negative: bool, n_best_size: int,
                   threshold: float) -> tuple[str, list[dict]]:
    if with_negative and null is not None:
        candidates = [*candidates, null]
    best = sorted(candidates, key=lambda c: c["score"], reverse=True)[:n_best_size]
    if with_negative and null is not None and not any(c["offsets"] == (0, 0) for c in best):
        best.append(null)
    best = [{**c, "text": context[c["offsets"][0]:c["offsets"][1]]} for c in best]
    if not best or (len(best) == 1 and best[0]["text"] == ""):
        best.insert(0, {"offsets": (0, 0), "text": "empty", "start_logit": 0.0, "end_logit": 0.0, "score": 0.0})
    scores = np.array([c["score"] for c in best])
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    nbest = [{"text": c["text"], "start": int(c["offsets"][0]), "end": int(c["offsets"][1]),
              "start_logit": float(c["start_logit"]), "end_logit": float(c["end_logit"]), "probability": float(p)}
             for c, p in zip(best, probabilities)]
    if not with_negative:
        return nbest[0]["text"], nbest
    best_span = next(c for c in best if c["text"] != "")
    null_minus_span = null["score"] - best_span["start_logit"] - best_span["end_logit"]
    return ("" if null_minus_span > threshold else best_span["text"]), nbest


# ------------------------------------------------------------------------------------------ metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and the articles a / an / the, collapse whitespace (the SQuAD rule)."""
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match_score(prediction: str, truth: str) -> int:
    return int(normalize_answer(prediction) == normalize_answer(truth))


def f1_score(prediction: str, truth: str) -> float:
    """Word-overlap F1 of the normalised texts; two empty answers score 1 (SQuAD v2.0's rule)."""
    predicted, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(predictions: Mapping[str, str], examples: Sequence[QAExample]) -> dict[str, float]:
    """``exact_match`` and ``f1`` in percent over ``examples`` (a missing prediction scores 0). When some
    questions have no answer (SQuAD v2.0) the scores are also split into ``HasAns_*`` and ``NoAns_*``."""
    scores: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for example in examples:
        truths = [text for text in example.answer_texts if normalize_answer(text)] or [""]
        prediction = predictions.get(example.id)
        if prediction is None:
            exact, f1 = 0.0, 0.0
        else:
            exact = max(exact_match_score(prediction, truth) for truth in truths)
            f1 = max(f1_score(prediction, truth) for truth in truths)
        scores[bool(example.answers)].append((exact, f1))
    everything = scores[True] + scores[False]
    if not everything:
        raise ValueError("squad_metrics needs at least one example.")
    result = _percentages("", everything)
    if scores[False]:
        result.update(_percentages("HasAns_", scores[True]))
        result.update(_percentages("NoAns_", scores[False]))
    return result


def _percentages(prefix: str, pairs: list[tuple[float, float]]) -> dict[str, float]:
    if not pairs:
        return {f"{prefix}total": 0}
    return {f"{prefix}exact_match": 100.0 * sum(p[0] for p in pairs) / len(pairs),
            f"{prefix}f1": 100.0 * sum(p[1] for p in pairs) / len(pairs), f"{prefix}total": len(pairs)}
