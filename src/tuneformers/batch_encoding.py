"""BatchEncoding: what a tokenizer returns, a dict of model inputs with attribute access, word and sequence
ids, and conversion to numpy, PyTorch or TensorFlow tensors (each framework imported only when asked for).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

TENSOR_TYPES = ("pt", "tf", "np")


def check_tensor_type(tensor_type: str) -> None:
    if tensor_type not in TENSOR_TYPES:
        raise ValueError(f"return_tensors={tensor_type!r} is not supported; use one of {TENSOR_TYPES} or None.")


def numpy_to_tensors(arrays: Mapping[str, np.ndarray], tensor_type: str) -> dict[str, Any]:
    """numpy arrays as 'pt' (zero-copy) or 'tf' tensors, or unchanged for 'np'."""
    check_tensor_type(tensor_type)
    if tensor_type == "pt":
        import torch

        return {key: torch.from_numpy(np.ascontiguousarray(value)) for key, value in arrays.items()}
    if tensor_type == "tf":
        import tensorflow as tf

        return {key: tf.convert_to_tensor(value) for key, value in arrays.items()}
    return dict(arrays)


class BatchEncoding(dict):
    """The tokenizer's output: a dict of model inputs with attribute access and tensor conversion.

    ``word_ids(i)`` / ``sequence_ids(i)`` / ``token_to_chars``-style information is available where the
    tokenizer tracked it (``BertTokenizerFast``).
    """

    def __init__(self, data: Mapping[str, Any] | None = None, tensor_type: str | None = None,
                 annotate: Callable[[int], dict[str, list]] | None = None):
        super().__init__(data or {})
        self._annotate = annotate
        if tensor_type is not None:
            self.convert_to_tensors(tensor_type)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no key {name!r}; keys: {sorted(self)}") from None

    def __getstate__(self) -> dict:
        return {"data": dict(self)}  # word and sequence ids do not travel

    def __setstate__(self, state: dict) -> None:
        self.update(state["data"])
        self._annotate = None

    def _row(self, key: str, index: int) -> list[int | None]:
        if self._annotate is None:
            raise ValueError(f"{key}() is only available on the output of a fast tokenizer (BertTokenizerFast).")
        return self._annotate(index)[key]

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Word index of each token of row ``batch_index`` (None for special and padding tokens)."""
        return self._row("word_ids", batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 for tokens of the first text, 1 for the second, None for special and padding tokens."""
        return self._row("sequence_ids", batch_index)

    def convert_to_tensors(self, tensor_type: str) -> BatchEncoding:
        check_tensor_type(tensor_type)
        arrays = {key: _to_numpy(key, value) for key, value in self.items() if not _is_tensor(value)}
        self.update(numpy_to_tensors(arrays, tensor_type))
        return self

    def to(self, device: Any) -> BatchEncoding:
        """Move every torch tensor to ``device`` (like ``tensor.to``); returns self."""
        for key, value in self.items():
            if hasattr(value, "to") and callable(value.to):
                self[key] = value.to(device)
        return self


def _is_tensor(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.split(".")[0] in ("torch", "tensorflow")


def _to_numpy(key: str, value: Any) -> np.ndarray:
    if isinstance(value, list) and value and isinstance(value[0], list):
        lengths = {len(row) for row in value}
        if len(lengths) > 1:
            raise ValueError(
                f"Cannot make a tensor of {key!r}: the sequences have different lengths {sorted(lengths)[:5]}. "
                "Pass padding=True (or padding='max_length') to pad them to one length, and truncation=True "
                "to cut long ones."
            )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Cannot make a tensor of {key!r}: {error}") from error
    if array.dtype.kind in "biu" or array.size == 0:
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":  # float labels (regression) stay floats, in the models' precision
        return array.astype(np.float32, copy=False)
    raise ValueError(f"Cannot make a tensor of {key!r}: its values are {array.dtype}, not numbers.")
