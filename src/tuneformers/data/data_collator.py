"""Collators: turn a list of examples into one batch (a dict of arrays), numpy first.

Every collator builds numpy arrays and converts them to framework tensors only at the end
(``return_tensors="pt"``, ``"tf"`` or ``"np"``); torch and tensorflow are imported lazily there,
so this module imports without either. Padding is the tokenizer's job: collators call
``tokenizer.pad(features, padding=..., max_length=..., pad_to_multiple_of=..., return_tensors="np")``.

An example may be a mapping (``{"input_ids": [...], "label": 1}``), a dataclass such as
``InputFeatures``, or an object with a ``to_dict()`` method; ``None`` fields are dropped. The keys
``label`` and ``label_ids`` are renamed ``labels``, the argument name models expect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..batch_encoding import check_tensor_type, numpy_to_tensors
from ..constants import IGNORE_INDEX

__all__ = [
    "DataCollator",
    "default_data_collator",
    "DataCollatorWithPadding",
    "DataCollatorForTokenClassification",
    "DataCollatorForLanguageModeling",
]

_LABEL_KEYS = ("label", "label_ids", "labels")


# ---------------------------------------------------------------------------------------- helpers


def feature_items(feature: Any, what: str) -> dict[str, Any]:
    """One example (a dict, a dataclass such as InputFeatures, or anything with to_dict) as a plain dict
    without ``None`` fields. ``what`` names the caller in the error for anything else."""
    if isinstance(feature, Mapping):
        items = dict(feature)
    elif dataclasses.is_dataclass(feature) and not isinstance(feature, type):
        items = {field.name: getattr(feature, field.name) for field in dataclasses.fields(feature)}
    elif hasattr(feature, "to_dict"):
        items = dict(feature.to_dict())
    else:
        raise TypeError(
            f"{what} is a {type(feature).__name__}; pass dicts (or dataclasses such as InputFeatures, or "
            "a BatchEncoding) mapping names like 'input_ids' and 'label' to values."
        )
    return {key: value for key, value in items.items() if value is not None}


def _as_dict(feature: Any) -> dict[str, Any]:
    """One example as a dict of numpy values, its label under ``labels``."""
    return {("labels" if key in _LABEL_KEYS else key): _to_numpy(value)
            for key, value in feature_items(feature, "An example given to the collator").items()}


def _to_numpy(value: Any) -> Any:
    """Framework tensors become numpy arrays; anything else is returned unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, without importing torch
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf.Tensor
        return value.numpy()
    return value


def _stack(key: str, values: list[Any]) -> np.ndarray | None:
    """Stack equal-shaped values into one array: integers as int64, floats as float32; strings -> None."""
    try:
        array = np.asarray(values)
    except ValueError as error:
        raise ValueError(
            f"Cannot batch field {key!r}: its values have different lengths. Pad them first, e.g. with "
            "DataCollatorWithPadding(tokenizer)."
        ) from error
    if array.dtype == object:
        raise ValueError(
            f"Cannot batch field {key!r}: its values have different lengths or types. Pad them first, e.g. "
            "with DataCollatorWithPadding(tokenizer)."
        )
    if array.dtype.kind in "iub":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    return None  # strings and other non-numeric fields are not part of a model batch


def _check_pad_token(tokenizer: Any, collator: str) -> None:
    if getattr(tokenizer, "pad_token", None) is None or getattr(tokenizer, "pad_token_id", None) is None:
        raise ValueError(
            f"{collator} needs a tokenizer with a padding token, and {type(tokenizer).__name__} has none. "
            "Set one first, e.g. tokenizer.pad_token = tokenizer.eos_token (or add a '[PAD]' token)."
        )


def _pad(tokenizer: Any, features: list[dict], padding: Any, max_length: int | None, multiple: int | None) -> dict:
    """Pad with the tokenizer; the result as a dict of int64 numpy arrays (lists become arrays once, here)."""
    padded = tokenizer.pad(
        features, padding=padding, max_length=max_length, pad_to_multiple_of=multiple, return_tensors="np"
    )
    return {key: np.asarray(value).astype(np.int64, copy=False) for key, value in dict(padded).items()}


def _split_labels(features: list[dict]) -> tuple[list[dict], list[Any] | None]:
    """Features without their labels, and the labels (or None if no example has one)."""
    labels = [feature.pop("labels") for feature in features if "labels" in feature]
    if labels and len(labels) != len(features):
        raise ValueError("Some examples in the batch have a label and others do not; label all or none.")
    return features, labels or None


# ------------------------------------------------------------------------------------- collators


class DataCollator:
    """Base class: a collator turns a list of examples into a batch dict.

    Subclasses implement ``collate_batch(batch)``; an instance is also callable, so it can be passed
    as ``collate_fn`` to a ``torch.utils.data.DataLoader`` or as ``data_collator`` to the Trainer.
    """

    def collate_batch(self, batch: Sequence[Any]) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement collate_batch(batch).")

    def __call__(self, batch: Sequence[Any]) -> dict[str, Any]:
        return self.collate_batch(batch)


def default_data_collator(features: Sequence[Any], return_tensors: str = "pt") -> dict[str, Any]:
    """Stack already-padded examples field by field; no padding, no masking.

    Integer fields become int64, float fields float32 (so a float ``label`` gives a regression
    target); string fields are dropped. All examples must carry the same fields.
    """
    check_tensor_type(return_tensors)
    if not features:
        raise ValueError("default_data_collator got an empty batch.")
    rows = [_as_dict(feature) for feature in features]
    keys = list(rows[0])
    for index, row in enumerate(rows[1:], start=1):
        if set(row) != set(keys):
            raise ValueError(
                f"Example {index} has fields {sorted(row)} but example 0 has {sorted(keys)}; "
                "every example in a batch needs the same fields."
            )
    batch = {}
    for key in keys:
        array = _stack(key, [row[key] for row in rows])
        if array is not None:
            batch[key] = array
    return numpy_to_tensors(batch, return_tensors)


@dataclasses.dataclass
class DataCollatorWithPadding(DataCollator):
    """Pad each batch with the tokenizer, by default to its longest sequence.

    ``padding``: ``True``/``"longest"``, ``"max_length"`` (with ``max_length``), or ``False``.
    ``pad_to_multiple_of=8`` rounds the padded length up (tensor cores like multiples of 8).
    """

    tokenizer: Any
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        check_tensor_type(self.return_tensors)
        _check_pad_token(self.tokenizer, type(self).__name__)

    def collate_batch(self, batch: Sequence[Any]) -> dict[str, Any]:
        features, labels = _split_labels([_as_dict(feature) for feature in batch])
        padded = _pad(self.tokenizer, features, self.padding, self.max_length, self.pad_to_multiple_of)
        if labels is not None:
            padded["labels"] = self._batch_labels(labels, padded["input_ids"].shape[1])
        return numpy_to_tensors(padded, self.return_tensors)

    def _batch_labels(self, labels: list[Any], length: int) -> np.ndarray:
        """One label (or label vector) per example, stacked."""
        return _stack("labels", labels)


@dataclasses.dataclass
class DataCollatorForTokenClassification(DataCollatorWithPadding):
    """Pad inputs with the tokenizer and per-token labels with ``label_pad_token_id`` (IGNORE_INDEX, skipped by
    the loss). Labels are padded on the tokenizer's ``padding_side`` to the padded input length.
    """

    label_pad_token_id: int = IGNORE_INDEX

    def _batch_labels(self, labels: list[Any], length: int) -> np.ndarray:
        label_array = np.full((len(labels), length), self.label_pad_token_id, dtype=np.int64)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        for row, sequence in enumerate(labels):
            sequence = np.asarray(sequence, dtype=np.int64)[:length]
            if left:
                label_array[row, length - len(sequence) :] = sequence
            else:
                label_array[row, : len(sequence)] = sequence
        return label_array


@dataclasses.dataclass
class DataCollatorForLanguageModeling(DataCollator):
    """Pad, then build language-modelling inputs and labels.

    With ``mlm=True``, each real token is picked with probability ``mlm_probability``; a picked
    token is replaced by the mask token 80% of the time, by a random token 10%, and kept 10%.
    Labels hold the original id at picked positions and -100 elsewhere. Special tokens (from a
    ``special_tokens_mask`` field if the examples have one, else the tokenizer's special ids) and
    padding are never picked. With ``mlm=False`` labels are the inputs with padding set to -100
    (causal LM; the model shifts them). ``seed`` fixes the numpy generator used for masking.
    """

    tokenizer: Any
    mlm: bool = True
    mlm_probability: float = 0.15
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None

    def __post_init__(self) -> None:
        check_tensor_type(self.return_tensors)
        _check_pad_token(self.tokenizer, type(self).__name__)
        if self.mlm and getattr(self.tokenizer, "mask_token_id", None) is None:
            raise ValueError(
                f"Masked language modelling needs a mask token and {type(self.tokenizer).__name__} has none; "
                "use a tokenizer with one (e.g. BERT's '[MASK]') or pass mlm=False for causal language modelling."
            )
        if not 0.0 <= self.mlm_probability <= 1.0:
            raise ValueError(f"mlm_probability must be between 0 and 1, got {self.mlm_probability}.")
        self._rng = np.random.default_rng(self.seed)

    def collate_batch(self, batch: Sequence[Any]) -> dict[str, Any]:
        rows = [
            _as_dict(feature) if not _is_id_sequence(feature) else {"input_ids": _to_numpy(feature)}
            for feature in batch
        ]
        for row in rows:
            row.pop("labels", None)  # labels are built here
        padded = _pad(self.tokenizer, rows, True, None, self.pad_to_multiple_of)
        input_ids = padded["input_ids"]
        special = padded.pop("special_tokens_mask", None)
        never_mask = self._special_positions(input_ids, special)
        if self.mlm:
            padded["input_ids"], padded["labels"] = self._mask_tokens(input_ids, never_mask)
        else:
            labels = input_ids.copy()
            labels[input_ids == self.tokenizer.pad_token_id] = IGNORE_INDEX
            if "attention_mask" in padded:
                labels[padded["attention_mask"] == 0] = IGNORE_INDEX
            padded["labels"] = labels
        return numpy_to_tensors(padded, self.return_tensors)

    def _special_positions(self, input_ids: np.ndarray, special_tokens_mask: np.ndarray | None) -> np.ndarray:
        """Boolean [B, T]: positions that must never be masked (special tokens and padding)."""
        special_ids = set(getattr(self.tokenizer, "all_special_ids", []) or [])
        special_ids.add(self.tokenizer.pad_token_id)
        never = np.isin(input_ids, sorted(special_ids))
        if special_tokens_mask is not None:
            never |= special_tokens_mask.astype(bool)
        return never

    def _mask_tokens(self, input_ids: np.ndarray, never_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = self._rng
        picked = (rng.random(input_ids.shape) < self.mlm_probability) & ~never_mask  # [B, T]
        labels = np.where(picked, input_ids, IGNORE_INDEX).astype(np.int64)
        inputs = input_ids.copy()
        to_mask = picked & (rng.random(input_ids.shape) < 0.8)
        inputs[to_mask] = self.tokenizer.mask_token_id
        # half of the remaining 20% (10% overall) get a random token; the rest stay as they are
        to_random = picked & ~to_mask & (rng.random(input_ids.shape) < 0.5)
        inputs[to_random] = rng.integers(0, len(self.tokenizer), size=int(to_random.sum()), dtype=np.int64)
        return inputs, labels


def _is_id_sequence(feature: Any) -> bool:
    """True for a bare list/array of token ids (instead of a dict of fields)."""
    if isinstance(feature, (Mapping, str)) or dataclasses.is_dataclass(feature):
        return False
    return isinstance(feature, Sequence) or hasattr(feature, "shape")
