"""question-answering: the best spans of a context that answer a question, as HF 4.x's pipeline found them.

A long context is cut into windows of ``max_seq_len`` tokens overlapping by ``doc_stride``. In each
window the start and end logits are turned into probabilities over the context tokens (and [CLS]); a
span's score is P(start) * P(end), for start <= end and at most ``max_answer_len`` tokens. The spans'
characters are widened to whole words. With ``handle_impossible_answer`` the empty answer competes
with score P(start=[CLS]) * P(end=[CLS]) (its lowest value over the windows). Results are
``{"score", "start", "end", "answer"}``: one dict, or a list when ``top_k`` > 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Pipeline

NULL_SCORE_START = 1_000_000.0  # any real null score is smaller


class QuestionAnsweringPipeline(Pipeline):
    task = "question-answering"
    token_outputs = ("start_logits", "end_logits")

    def _sanitize_parameters(self, top_k: int | None = None, doc_stride: int | None = None,
                             max_answer_len: int | None = None, max_seq_len: int | None = None,
                             max_question_len: int | None = None, handle_impossible_answer: bool | None = None,
                             align_to_words: bool | None = None, padding: Any = None) -> tuple[dict, dict]:
        for name, value in (("top_k", top_k), ("max_answer_len", max_answer_len)):
            if value is not None and value < 1:
                raise ValueError(f"{name}={value} must be at least 1.")
        pre = {key: value for key, value in (("doc_stride", doc_stride), ("max_seq_len", max_seq_len)) if value is not None}
        post = {key: value for key, value in (("top_k", top_k), ("max_answer_len", max_answer_len),
                                              ("handle_impossible_answer", handle_impossible_answer),
                                              ("align_to_words", align_to_words)) if value is not None}
        return pre, post

    def __call__(self, *args: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        question, context = kwargs.pop("question", None), kwargs.pop("context", None)
        if args and (question is not None or context is not None):
            raise TypeError("Pass either question=..., context=... or the inputs positionally, not both.")
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            inputs: Any = {"question": args[0], "context": args[1]}
        elif args:
            inputs = args[0] if len(args) == 1 else list(args)
        elif isinstance(question, list):
            contexts = context if isinstance(context, list) else [context] * len(question)
            if len(contexts) != len(question):
                raise ValueError(f"Got {len(question)} questions but {len(contexts)} contexts.")
            inputs = [{"question": q, "context": c} for q, c in zip(question, contexts)]
        else:
            inputs = {"question": question, "context": context}
        return super().__call__(inputs, batch_size=batch_size, **kwargs)

    def preprocess(self, item: Any, doc_stride: int | None = None, max_seq_len: int | None = None) -> list[dict]:
        for key in ("question", "context"):
            if not isinstance(item, dict) or not isinstance(item.get(key), str) or not item[key]:
                raise ValueError(f"question-answering needs {{'question': str, 'context': str}} inputs with non-empty "
                                 f"texts; got {item!r:.80}.")
        max_seq_len = max_seq_len or min(self.tokenizer.model_max_length, 384)
        doc_stride = doc_stride if doc_stride is not None else min(max_seq_len // 2, 128)
        if doc_stride > max_seq_len:
            raise ValueError(f"doc_stride={doc_stride} must not exceed max_seq_len={max_seq_len}.")
        encoding = self.tokenizer(item["question"], item["context"], truncation="only_second", max_length=max_seq_len,
                                  stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True)
        features = []
        for window in range(len(encoding["input_ids"])):
            feature = {key: encoding[key][window] for key in ("input_ids", "token_type_ids", "attention_mask")}
            sequences = encoding.sequence_ids(window)
            feature.update(offsets=encoding["offset_mapping"][window], sequence_ids=sequences,
                           word_ids=encoding.word_ids(window),
                           allowed=np.array([s == 1 or t == self.tokenizer.cls_token_id
                                             for s, t in zip(sequences, feature["input_ids"])]))
            features.append(feature)
        return features

    def postprocess(self, item: dict, features: list[dict], outputs: list[dict], top_k: int = 1,
                    handle_impossible_answer: bool = False, max_answer_len: int = 15,
                    align_to_words: bool = True) -> Any:
        null_score, answers = NULL_SCORE_START, []
        for feature, output in zip(features, outputs):
            start = _masked_softmax(output["start_logits"], feature["allowed"])
            end = _masked_softmax(output["end_logits"], feature["allowed"])
            if handle_impossible_answer:
                null_score = min(null_score, float(start[0] * end[0]))
            start[0] = end[0] = 0.0  # [CLS] is not a span
            for s, e, score in best_spans(start, end, feature["allowed"], top_k, max_answer_len):
                first, last = _char_span(feature, s, e, align_to_words)
                answers.append({"score": score, "start": first, "end": last, "answer": item["context"][first:last]})
        if handle_impossible_answer:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda answer: answer["score"], reverse=True)[:top_k]
        return answers[0] if len(answers) == 1 else answers


def _masked_softmax(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Probabilities over the allowed positions (others get logit -10000, as HF does)."""
    logits = np.where(allowed, logits.astype(np.float64), -10000.0)
    values = np.exp(logits - logits.max())
    return values / values.sum()


def best_spans(start: np.ndarray, end: np.ndarray, allowed: np.ndarray, top_k: int,
               max_answer_len: int) -> list[tuple[int, int, float]]:
    """The ``top_k`` (start, end, P(start) * P(end)) with start <= end < start + max_answer_len, best first;
    spans touching a position that is not allowed are dropped after the ranking (as HF 4.x does)."""
    scores = np.tril(np.triu(np.outer(start, end)), max_answer_len - 1)  # T T, zero outside valid spans
    flat = scores.ravel()
    if top_k == 1:
        order = np.array([np.argmax(flat)])
    elif len(flat) < top_k:
        order = np.argsort(-flat)
    else:
        candidates = np.argpartition(-flat, top_k)[:top_k]
        order = candidates[np.argsort(-flat[candidates])]
    starts, ends = np.unravel_index(order, scores.shape)
    ok = allowed.nonzero()[0]
    keep = np.isin(starts, ok) & np.isin(ends, ok)
    return [(int(s), int(e), float(scores[s, e])) for s, e in zip(starts[keep], ends[keep])]


def _char_span(feature: dict, first: int, last: int, align_to_words: bool) -> tuple[int, int]:
    offsets = feature["offsets"]
    if not align_to_words:
        return offsets[first][0], offsets[last][1]
    words, sequences = feature["word_ids"], feature["sequence_ids"]
    if words[first] is None or words[last] is None:
        return offsets[first][0], offsets[last][1]

    def pieces(word: int) -> list[tuple[int, int]]:
        return [offsets[i] for i in range(len(words)) if words[i] == word and sequences[i] == 1]

    return pieces(words[first])[0][0], pieces(words[last])[-1][1]
