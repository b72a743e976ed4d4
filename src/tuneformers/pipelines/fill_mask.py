"""fill-mask: the most likely tokens for each [MASK] of a text.

Each proposal is ``{"score", "token", "token_str", "sequence"}`` (the text with the mask filled). A text
with one mask gives a list of ``top_k`` proposals, one with several masks a list per mask; ``targets``
limits the choice to those words (a word outside the vocabulary stands for its first word piece).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils import get_logger
from .base import Pipeline, softmax

logger = get_logger(__name__)


class FillMaskPipeline(Pipeline):
    task = "fill-mask"
    token_outputs = ("logits",)

    def _sanitize_parameters(self, top_k: int | None = None, targets: str | list[str] | None = None,
                             tokenizer_kwargs: dict | None = None) -> tuple[dict, dict]:
        if self.tokenizer.mask_token_id is None:
            raise ValueError("fill-mask needs a tokenizer with a mask token, and this one has none.")
        post: dict[str, Any] = {}
        if top_k is not None:
            if top_k < 1:
                raise ValueError(f"top_k={top_k} must be at least 1.")
            post["top_k"] = top_k
        if targets is not None:
            post["target_ids"] = self._target_ids([targets] if isinstance(targets, str) else list(targets))
        return ({"tokenizer_kwargs": tokenizer_kwargs} if tokenizer_kwargs else {}), post

    def _target_ids(self, targets: list[str]) -> np.ndarray:
        vocab, ids = self.tokenizer.get_vocab(), []
        for target in targets:
            if target in vocab:
                ids.append(vocab[target])
                continue
            pieces = self.tokenizer(target, add_special_tokens=False)["input_ids"]
            if not pieces:
                logger.warning("The target %r is not in the vocabulary and has no word piece; it is ignored.", target)
                continue
            logger.warning("The target %r is not in the vocabulary; using its first word piece %r.", target,
                           self.tokenizer.convert_ids_to_tokens(pieces[0]))
            ids.append(pieces[0])
        if not ids:
            raise ValueError(f"None of the targets {targets} can be used; give words of the vocabulary.")
        return np.array(sorted(set(ids)))

    def preprocess(self, item: Any, tokenizer_kwargs: dict | None = None) -> list[dict]:
        if not isinstance(item, str):
            raise ValueError(f"fill-mask takes a string (or a list of strings), got {type(item).__name__}.")
        feature = dict(self.tokenizer(item, **(tokenizer_kwargs or {})))
        if self.tokenizer.mask_token_id not in feature["input_ids"]:
            raise ValueError(f"No mask token ({self.tokenizer.mask_token}) in the input {item!r:.80}.")
        return [feature]

    def postprocess(self, item: Any, features: list[dict], outputs: list[dict], top_k: int = 5,
                    target_ids: np.ndarray | None = None) -> list:
        input_ids = np.array(features[0]["input_ids"])
        masks = np.nonzero(input_ids == self.tokenizer.mask_token_id)[0]
        single = len(masks) == 1
        if target_ids is not None:
            top_k = min(top_k, len(target_ids))
        result = []
        for position in masks:
            probabilities = softmax(outputs[0]["logits"][position].astype(np.float64))
            candidates = np.arange(len(probabilities)) if target_ids is None else target_ids
            ranked = candidates[np.argsort(-probabilities[candidates], kind="stable")[:top_k]]
            result.append([self._proposal(input_ids, position, int(token), float(probabilities[token]), single)
                           for token in ranked])
        return result[0] if single else result

    def _proposal(self, input_ids: np.ndarray, position: int, token: int, score: float, single: bool) -> dict:
        filled = input_ids.copy()
        filled[position] = token
        filled = filled[filled != self.tokenizer.pad_token_id]
        return {"score": score, "token": token, "token_str": self.tokenizer.decode([token]),
                "sequence": self.tokenizer.decode(filled.tolist(), skip_special_tokens=single)}
