"""SQuAD post-processing and scores under the v3 names ``run_squad.py`` imports: ``compute_predictions_logits``
and ``squad_evaluate``. The answer search and the EM / F1 formulas are ``data/question_answering.py``'s; this
module only speaks v3's objects (``SquadExample``, ``SquadFeatures``, ``SquadResult``) and key names
(``exact``, ``f1``, ``total``, ``HasAns_*``, ``NoAns_*``, ``best_*``).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..question_answering import exact_match_score, f1_score, normalize_answer, postprocess_qa_predictions

__all__ = ["compute_predictions_logits", "compute_predictions_log_probs", "squad_evaluate"]


def _gold_answers(example: Any) -> list[str]:
    return [answer["text"] for answer in example.answers if normalize_answer(answer["text"])] or [""]


def squad_evaluate(examples: Sequence[Any], preds: Mapping[str, str], no_answer_probs: Mapping[str, float] | None = None,
                   no_answer_probability_threshold: float = 1.0) -> dict[str, float]:
    """Exact match and F1 in percent over ``examples`` (``SquadExample``s), as v3 reported them.

    A question whose no-answer probability exceeds the threshold counts as answered "no answer".
    ``best_exact`` / ``best_f1`` are the scores at the no-answer threshold that maximises them, and
    ``*_thresh`` that threshold.
    """
    has_answer = {example.qas_id: bool(example.answers) for example in examples}
    if no_answer_probs is None:
        no_answer_probs = {qas_id: 0.0 for qas_id in preds}
    exact_raw, f1_raw = {}, {}
    for example in examples:
        if example.qas_id not in preds:
            continue
        golds, prediction = _gold_answers(example), preds[example.qas_id]
        exact_raw[example.qas_id] = max(exact_match_score(prediction, gold) for gold in golds)
        f1_raw[example.qas_id] = max(f1_score(prediction, gold) for gold in golds)

    def thresholded(raw: dict[str, float]) -> dict[str, float]:
        return {qas_id: float(not has_answer[qas_id]) if no_answer_probs.get(qas_id, 0.0) > no_answer_probability_threshold
                else score for qas_id, score in raw.items()}

    exact, f1 = thresholded(exact_raw), thresholded(f1_raw)
    evaluation: dict[str, float] = _percentages("", exact, f1, list(exact))
    for prefix, wanted in (("HasAns_", True), ("NoAns_", False)):
        ids = [qas_id for qas_id, answerable in has_answer.items() if answerable == wanted]
        if ids:
            evaluation.update(_percentages(prefix, exact, f1, ids))
    if no_answer_probs:
        for name, raw in (("exact", exact_raw), ("f1", f1_raw)):
            evaluation[f"best_{name}"], evaluation[f"best_{name}_thresh"] = _best_threshold(preds, raw, no_answer_probs,
                                                                                            has_answer)
    return evaluation


def _percentages(prefix: str, exact: Mapping[str, float], f1: Mapping[str, float], ids: list[str]) -> dict[str, float]:
    total = len(ids)
    return {f"{prefix}exact": 100.0 * sum(exact[i] for i in ids if i in exact) / max(total, 1),
            f"{prefix}f1": 100.0 * sum(f1[i] for i in ids if i in f1) / max(total, 1), f"{prefix}total": total}


def _best_threshold(preds: Mapping[str, str], scores: Mapping[str, float], no_answer_probs: Mapping[str, float],
                    has_answer: Mapping[str, bool]) -> tuple[float, float]:
    """Walk the questions by rising no-answer probability, answering each in turn: the best running score
    (in percent of the scored questions) and the probability where it was reached."""
    score = best = sum(not answerable for answerable in has_answer.values())
    threshold = 0.0
    for qas_id in sorted(no_answer_probs, key=no_answer_probs.get):
        if qas_id not in scores:
            continue
        score += scores[qas_id] if has_answer[qas_id] else -float(bool(preds[qas_id]))
        if score > best:
            best, threshold = score, no_answer_probs[qas_id]
    return 100.0 * best / max(len(scores), 1), threshold


def compute_predictions_logits(all_examples: Sequence[Any], all_features: Sequence[Any], all_results: Sequence[Any],
                               n_best_size: int, max_answer_length: int, do_lower_case: bool,
                               output_prediction_file: str | None, output_nbest_file: str | None,
                               output_null_log_odds_file: str | None, verbose_logging: bool,
                               version_2_with_negative: bool, null_score_diff_threshold: float,
                               tokenizer: Any = None) -> dict[str, str]:
    """The answer text of every example from its windows' start / end logits, written (when the file names
    are given) as v3 wrote them: predictions ``{qas_id: text}``, the n-best lists, and for SQuAD v2.0 the
    null score minus the best span score. Answers are cut from the context through the tokenizer's offsets,
    so ``do_lower_case`` and ``tokenizer`` are not needed."""
    by_id = {result.unique_id: result for result in all_results}
    missing = [feature.unique_id for feature in all_features if feature.unique_id not in by_id]
    if missing:
        raise ValueError(f"No SquadResult for {len(missing)} of {len(all_features)} features (first unique_id "
                         f"{missing[0]}); evaluate every feature squad_convert_examples_to_features returned.")
    windows = [{"example_id": feature.qas_id, "offset_mapping": feature.offset_mapping} for feature in all_features]
    width = max((len(feature.offset_mapping) for feature in all_features), default=0)
    start_logits, end_logits = (np.full((len(all_features), width), -1e4, dtype=np.float64) for _ in range(2))
    for row, feature in enumerate(all_features):
        result = by_id[feature.unique_id]
        start_logits[row, :len(result.start_logits)] = result.start_logits
        end_logits[row, :len(result.end_logits)] = result.end_logits
    examples = [example.as_qa_example() for example in all_examples]
    answers, nbest = postprocess_qa_predictions(examples, windows, (start_logits, end_logits), version_2_with_negative,
                                                n_best_size, max_answer_length, null_score_diff_threshold)
    predictions = collections.OrderedDict((example.id, answers[example.id]) for example in examples)
    _write_json(output_prediction_file, predictions)
    _write_json(output_nbest_file, nbest)
    if version_2_with_negative:
        _write_json(output_null_log_odds_file, {qas_id: _null_odds(entries) for qas_id, entries in nbest.items()})
    return predictions


def _null_odds(entries: list[dict]) -> float:
    """Null score minus the best span's score (v3's ``null_odds``)."""
    scores = [(entry["start_logit"] + entry["end_logit"], entry["text"] == "") for entry in entries]
    null = max((score for score, is_null in scores if is_null), default=0.0)
    best_span = max((score for score, is_null in scores if not is_null), default=0.0)
    return null - best_span


def _write_json(path: str | None, content: Any) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=4)


def compute_predictions_log_probs(*args: Any, **kwargs: Any) -> dict[str, str]:
    """v3's post-processing for XLNet / XLM beam-search answer heads, which tuneformers does not have."""
    raise NotImplementedError("compute_predictions_log_probs serves XLNet / XLM beam-search QA heads, which "
                              "tuneformers has no models for; use compute_predictions_logits (every "
                              "AutoModelForQuestionAnswering here returns start / end logits).")
