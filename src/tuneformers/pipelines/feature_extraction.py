"""feature-extraction: the encoder's hidden states, or one mean-pooled vector per text.

By default a text gives its last hidden states as nested lists shaped [1][tokens][hidden] (HF's
shape; ``return_tensors=True`` gives a torch tensor instead). ``pooling="mean"`` averages the token
vectors (sentence-transformers' mean pooling) into one [hidden] list per text, and ``normalize=True``
scales it to unit length, as all-MiniLM-L6-v2's sentence embeddings are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .base import Pipeline


class FeatureExtractionPipeline(Pipeline):
    task = "feature-extraction"
    token_outputs = ("last_hidden_state",)

    def _sanitize_parameters(self, truncation: Any = None, tokenize_kwargs: dict | None = None,
                             return_tensors: bool | None = None, pooling: str | None = None,
                             normalize: bool | None = None) -> tuple[dict, dict]:
        pre = dict(tokenize_kwargs or {})
        if truncation is not None:
            if "truncation" in pre:
                raise ValueError("truncation is given twice: as an option and in tokenize_kwargs.")
            pre["truncation"] = truncation
        if pooling not in (None, "mean", "cls", "none"):
            raise ValueError(f"pooling={pooling!r} is not one of 'mean', 'cls' or 'none'.")
        post = {key: value for key, value in (("return_tensors", return_tensors), ("pooling", pooling),
                                              ("normalize", normalize)) if value is not None}
        return pre, post

    def preprocess(self, item: Any, **tokenize_kwargs: Any) -> list[dict]:
        if not isinstance(item, str):
            raise ValueError(f"feature-extraction takes a string (or a list of strings), got {type(item).__name__}.")
        return [dict(self.tokenizer(item, **tokenize_kwargs))]

    def postprocess(self, item: Any, features: list[dict], outputs: list[dict], return_tensors: bool = False,
                    pooling: str = "none", normalize: bool = False) -> Any:
        hidden = outputs[0]["last_hidden_state"]  # T D (this text's tokens only)
        if pooling == "none":
            return torch.from_numpy(hidden[None]) if return_tensors else hidden[None].tolist()
        vector = hidden.mean(axis=0) if pooling == "mean" else hidden[0]
        if normalize:
            vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return torch.from_numpy(vector) if return_tensors else vector.tolist()
