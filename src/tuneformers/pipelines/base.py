"""The pipeline skeleton: inputs -> features -> batched forward passes -> task results.

A task pipeline implements three steps:

* ``preprocess(item, **options)`` -> a list of features (dicts of token lists); long inputs may give
  several windows;
* the base class pads features from all inputs into batches of ``batch_size``, runs the model once per
  batch under ``torch.no_grad()`` and hands each feature back its own rows of the outputs as numpy
  arrays, cut to the feature's length (so results do not depend on the batch they ran in);
* ``postprocess(item, features, outputs, **options)`` -> the result for that input.

``_sanitize_parameters(**kwargs)`` splits call options into preprocess and postprocess options and
rejects unknown ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

MODEL_INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")


def resolve_device(device: Any) -> torch.device:
    """None / -1 / "cpu" -> CPU; an int i >= 0 -> cuda:i; anything else as torch.device understands it."""
    if device is None or device == -1:
        return torch.device("cpu")
    if isinstance(device, int):
        return torch.device(f"cuda:{device}")
    return torch.device(device)


class Pipeline:
    """A model and its tokenizer, used for one task on raw inputs. Call it with one input or a list."""

    task: str = ""
    token_outputs: tuple[str, ...] = ()
    """Output fields with one row per token (B T ...): each feature gets its rows cut to its own length."""

    def __init__(self, model: Any, tokenizer: Any, device: Any = None, batch_size: int = 1, **defaults: Any):
        self.model = model
        self.tokenizer = tokenizer
        self.device = resolve_device(device)
        self.model.to(self.device).eval()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
        self.batch_size = batch_size
        self._defaults = self._sanitize_parameters(**defaults)

    # ---- what a task provides ----

    def _sanitize_parameters(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected option(s) {sorted(kwargs)}.")
        return {}, {}

    def preprocess(self, item: Any, **options: Any) -> list[dict[str, list]]:
        raise NotImplementedError

    def postprocess(self, item: Any, features: list[dict], outputs: list[dict[str, np.ndarray]], **options: Any) -> Any:
        raise NotImplementedError

    def _is_batch(self, inputs: Any) -> bool:
        return isinstance(inputs, (list, tuple))

    # ---- the shared loop ----

    def __call__(self, inputs: Any, batch_size: int | None = None, **kwargs: Any) -> Any:
        pre, post = self._sanitize_parameters(**kwargs)
        pre, post = {**self._defaults[0], **pre}, {**self._defaults[1], **post}
        batched = self._is_batch(inputs)
        items = list(inputs) if batched else [inputs]
        features = [self.preprocess(item, **pre) for item in items]
        flat = [feature for group in features for feature in group]
        outputs = iter(self._run(flat, batch_size or self.batch_size))
        results = [self.postprocess(item, group, [next(outputs) for _ in group], **post)
                   for item, group in zip(items, features)]
        return results if batched else results[0]

    def _run(self, features: list[dict[str, list]], batch_size: int) -> Iterable[dict[str, np.ndarray]]:
        for start in range(0, len(features), batch_size):
            chunk = features[start:start + batch_size]
            batch = self.tokenizer.pad([{key: f[key] for key in MODEL_INPUT_NAMES if key in f} for f in chunk],
                                       padding=True, return_tensors="pt")
            with torch.no_grad():
                output = self.model(**{key: value.to(self.device) for key, value in batch.items()})
            arrays = {key: value.float().cpu().numpy() for key, value in _tensor_fields(output).items()}
            for row, feature in enumerate(chunk):
                length = len(feature["input_ids"])
                yield {key: value[row, :length] if key in self.token_outputs else value[row]
                       for key, value in arrays.items()}


def _tensor_fields(output: Any) -> dict[str, torch.Tensor]:
    names = output.keys() if hasattr(output, "keys") else range(len(output))
    return {name: output[name] for name in names if isinstance(output[name], torch.Tensor)}


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def tokens_to_string(tokenizer: Any, tokens: list[str]) -> str:
    """Join word pieces into text as the tokenizer's decoder does ("new", "##er" -> "newer")."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.decoder is not None:
        return backend.decoder.decode(tokens)
    from ..tokenization_utils import clean_up_tokenization

    return clean_up_tokenization(tokenizer._decode_tokens(tokens))
