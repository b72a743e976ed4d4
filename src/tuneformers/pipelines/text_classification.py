"""text-classification: label and score for a text or a text pair.

Results have HF's shapes: a string gives ``[{"label", "score"}]`` (the best label), a list of strings one
dict per text, a ``{"text", "text_pair"}`` dict one dict; with ``top_k`` (an int, or None for all labels)
each input gives a list of dicts sorted by score.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Pipeline, sigmoid, softmax

FUNCTIONS = {"softmax": softmax, "sigmoid": sigmoid, "none": lambda values: values}
_ALL = object()  # top_k not given


class TextClassificationPipeline(Pipeline):
    task = "text-classification"

    def _sanitize_parameters(self, top_k: Any = _ALL, function_to_apply: str | None = None, truncation: Any = None,
                             max_length: int | None = None) -> tuple[dict, dict]:
        pre = {key: value for key, value in (("truncation", truncation), ("max_length", max_length)) if value is not None}
        post: dict[str, Any] = {}
        if top_k is not _ALL:
            if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
                raise ValueError(f"top_k={top_k!r} must be a positive integer, or None for every label.")
            post["top_k"] = top_k
        if function_to_apply is not None:
            name = getattr(function_to_apply, "value", function_to_apply).lower()
            if name not in FUNCTIONS:
                raise ValueError(f"function_to_apply={function_to_apply!r} is not one of {sorted(FUNCTIONS)}.")
            post["function_to_apply"] = name
        return pre, post

    def __call__(self, inputs: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        result = super().__call__(inputs, batch_size=batch_size, **kwargs)
        if isinstance(inputs, str) and "top_k" not in kwargs:
            return [result]
        return result

    def _is_batch(self, inputs: Any) -> bool:
        return isinstance(inputs, (list, tuple)) and not _is_pair_list(inputs)

    def preprocess(self, item: Any, **options: Any) -> list[dict]:
        if isinstance(item, dict):
            if "text" not in item:
                raise ValueError(f"A text pair is a dict with 'text' and 'text_pair', got keys {sorted(item)}.")
            return [dict(self.tokenizer(item["text"], item.get("text_pair"), **options))]
        if _is_pair_list(item):
            return [dict(self.tokenizer(item[0][0], item[0][1], **options))]
        if not isinstance(item, str):
            raise ValueError(f"text-classification takes a string, a {{'text', 'text_pair'}} dict or a list of them; "
                             f"got {type(item).__name__}.")
        return [dict(self.tokenizer(item, **options))]

    def postprocess(self, item: Any, features: list[dict], outputs: list[dict], top_k: Any = _ALL,
                    function_to_apply: str | None = None) -> Any:
        logits = outputs[0]["logits"].astype(np.float64)
        scores = FUNCTIONS[function_to_apply or self._default_function()](logits)
        id2label = self.model.config.id2label
        if top_k is _ALL:
            best = int(scores.argmax())
            return {"label": id2label[best], "score": float(scores[best])}
        ranked = sorted(({"label": id2label[i], "score": float(s)} for i, s in enumerate(scores)),
                        key=lambda entry: entry["score"], reverse=True)
        return ranked if top_k is None else ranked[:top_k]

    def _default_function(self) -> str:
        config = self.model.config
        if config.problem_type == "regression":
            return "none"
        if config.problem_type == "multi_label_classification" or config.num_labels == 1:
            return "sigmoid"
        return "softmax"


def _is_pair_list(value: Any) -> bool:
    """HF's [[text, text_pair]] form of one pair."""
    return (isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) and len(value[0]) == 2
            and all(isinstance(text, str) for text in value[0]))
