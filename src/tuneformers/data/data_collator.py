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
import sys
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
    "DataCollatorForWholeWordMask",
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
    token is replaced by the mask token with probability ``mask_replace_prob`` (0.8), by a random
    token with ``random_replace_prob`` (0.1), and kept otherwise. Labels hold the original id at
    picked positions and -100 elsewhere. Special tokens (from a ``special_tokens_mask`` field if the
    examples have one, else the tokenizer's special ids) and padding are never picked. With
    ``mlm=False`` labels are the inputs with padding set to -100 (causal LM; the model shifts them).

    Randomness: ``generator`` (a ``numpy.random.Generator``) if given; else a generator seeded with
    ``seed`` (``seed + worker id`` inside a DataLoader worker); else numpy's global RNG, which
    ``set_seed`` seeds and torch's DataLoader seeds per worker, so runs repeat under a fixed seed.
    """

    tokenizer: Any
    mlm: bool = True
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"
    seed: int | None = None
    generator: np.random.Generator | None = None

    def __post_init__(self) -> None:
        check_tensor_type(self.return_tensors)
        _check_pad_token(self.tokenizer, type(self).__name__)
        if self.mlm and getattr(self.tokenizer, "mask_token_id", None) is None:
            raise ValueError(
                f"Masked language modelling needs a mask token and {type(self.tokenizer).__name__} has none; "
                "use a tokenizer with one (e.g. BERT's '[MASK]') or pass mlm=False for causal language modelling."
            )
        for name in ("mlm_probability", "mask_replace_prob", "random_replace_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}.")
        if self.mask_replace_prob + self.random_replace_prob > 1.0:
            raise ValueError(f"mask_replace_prob + random_replace_prob must not exceed 1, got "
                             f"{self.mask_replace_prob} + {self.random_replace_prob}.")
        self._seeded: dict[int | None, np.random.Generator] = {}  # worker id (None: main process) -> generator

    def collate_batch(self, batch: Sequence[Any]) -> dict[str, Any]:
        rows = [
            _as_dict(feature) if not _is_id_sequence(feature) else {"input_ids": _to_numpy(feature)}
            for feature in batch
        ]
        offsets = [row.pop("offset_mapping", None) for row in rows]
        for row in rows:
            row.pop("labels", None)  # labels are built here
        padded = _pad(self.tokenizer, rows, True, None, self.pad_to_multiple_of)
        input_ids = padded["input_ids"]
        special = padded.pop("special_tokens_mask", None)
        never_mask = self._special_positions(input_ids, special)
        if self.mlm:
            rng = self._random()
            picked = self._pick(input_ids, never_mask, offsets, rng)
            padded["input_ids"], padded["labels"] = self._mask_tokens(input_ids, picked, rng)
        else:
            labels = input_ids.copy()
            labels[input_ids == self.tokenizer.pad_token_id] = IGNORE_INDEX
            if "attention_mask" in padded:
                labels[padded["attention_mask"] == 0] = IGNORE_INDEX
            padded["labels"] = labels
        return numpy_to_tensors(padded, self.return_tensors)

    def _random(self) -> Any:
        """The source of randomness for this batch (see the class docstring)."""
        if self.generator is not None:
            return self.generator
        if self.seed is None:
            return _GLOBAL_NUMPY_RANDOM
        worker = _torch_worker_id()
        if worker not in self._seeded:
            self._seeded[worker] = np.random.default_rng(self.seed if worker is None else [self.seed, worker])
        return self._seeded[worker]

    def _special_positions(self, input_ids: np.ndarray, special_tokens_mask: np.ndarray | None) -> np.ndarray:
        """Boolean [B, T]: positions that must never be masked (special tokens and padding)."""
        special_ids = set(getattr(self.tokenizer, "all_special_ids", []) or [])
        special_ids.add(self.tokenizer.pad_token_id)
        never = np.isin(input_ids, sorted(special_ids))
        if special_tokens_mask is not None:
            never |= special_tokens_mask.astype(bool)
        return never

    def _pick(self, input_ids: np.ndarray, never_mask: np.ndarray, offsets: list[Any], rng: Any) -> np.ndarray:
        """Boolean [B, T]: the positions to predict; here each token independently."""
        return (rng.random(input_ids.shape) < self.mlm_probability) & ~never_mask

    def _mask_tokens(self, input_ids: np.ndarray, picked: np.ndarray, rng: Any) -> tuple[np.ndarray, np.ndarray]:
        """Inputs with the picked tokens replaced (mask token / random token / kept) and their labels."""
        labels = np.where(picked, input_ids, IGNORE_INDEX).astype(np.int64)
        inputs = input_ids.copy()
        to_mask = picked & (rng.random(input_ids.shape) < self.mask_replace_prob)
        inputs[to_mask] = self.tokenizer.mask_token_id
        left = 1.0 - self.mask_replace_prob
        random_share = self.random_replace_prob / left if left > 0 else 0.0  # of the tokens not masked
        to_random = picked & ~to_mask & (rng.random(input_ids.shape) < random_share)
        inputs[to_random] = rng.integers(0, len(self.tokenizer), size=int(to_random.sum()), dtype=np.int64)
        return inputs, labels


@dataclasses.dataclass
class DataCollatorForWholeWordMask(DataCollatorForLanguageModeling):
    """Masked language modelling that picks whole words: each word is picked with probability
    ``mlm_probability`` and then all its tokens are predicted (each replaced as in the parent class).

    Word boundaries come from an ``offset_mapping`` field when the examples have one (a token starts
    a word when it does not touch the previous token, as Hugging Face 5.x decides), else from the
    word pieces themselves (a token starts a word unless it begins with ``continuation_prefix``, as
    in the original BERT and Hugging Face 4.x), which also works on packed blocks of bare ids.
    """

    continuation_prefix: str = "##"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.mlm:
            raise ValueError("DataCollatorForWholeWordMask masks words, so it needs mlm=True; for causal language "
                             "modelling use DataCollatorForLanguageModeling(tokenizer, mlm=False).")

    def _pick(self, input_ids: np.ndarray, never_mask: np.ndarray, offsets: list[Any], rng: Any) -> np.ndarray:
        starts = self.word_starts(input_ids, never_mask, offsets)  # B T
        word_ids = np.cumsum(starts, axis=1) * ~never_mask  # B T; 0 = no word
        chosen = starts & (rng.random(input_ids.shape) < self.mlm_probability)
        chosen_words = np.zeros((input_ids.shape[0], int(word_ids.max(initial=0)) + 1), dtype=bool)  # B W
        rows, columns = np.nonzero(chosen)
        chosen_words[rows, word_ids[rows, columns]] = True
        chosen_words[:, 0] = False
        return np.take_along_axis(chosen_words, word_ids, axis=1)

    def word_starts(self, input_ids: np.ndarray, never_mask: np.ndarray, offsets: list[Any]) -> np.ndarray:
        """Boolean [B, T]: tokens that begin a word (special tokens and padding never do)."""
        after_special = np.ones_like(never_mask)
        after_special[:, 1:] = never_mask[:, :-1]
        if all(offset is not None for offset in offsets):
            spans = np.zeros((*input_ids.shape, 2), dtype=np.int64)
            for row, offset in enumerate(offsets):
                offset = np.asarray(offset, dtype=np.int64).reshape(-1, 2)
                spans[row, : len(offset)] = offset
            touches_previous = np.zeros_like(never_mask)
            touches_previous[:, 1:] = spans[:, 1:, 0] == spans[:, :-1, 1]
            continues = touches_previous
        else:
            pieces = self.tokenizer.convert_ids_to_tokens(input_ids.reshape(-1).tolist())
            continues = np.array([piece.startswith(self.continuation_prefix) for piece in pieces],
                                 dtype=bool).reshape(input_ids.shape)
        return ~never_mask & (~continues | after_special)


class _GlobalNumpyRandom:
    """numpy's global RNG (the one ``np.random.seed`` and ``set_seed`` seed) with the Generator methods we use."""

    @staticmethod
    def random(shape: tuple[int, ...]) -> np.ndarray:
        return np.random.random_sample(shape)

    @staticmethod
    def integers(low: int, high: int, size: int, dtype: Any = np.int64) -> np.ndarray:
        return np.random.randint(low, high, size=size, dtype=dtype)


_GLOBAL_NUMPY_RANDOM = _GlobalNumpyRandom()


def _torch_worker_id() -> int | None:
    """The id of the torch DataLoader worker running this code; None in the main process (or without torch)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    info = torch.utils.data.get_worker_info()
    return None if info is None else info.id


def _is_id_sequence(feature: Any) -> bool:
    """True for a bare list/array of token ids (instead of a dict of fields)."""
    if isinstance(feature, (Mapping, str)) or dataclasses.is_dataclass(feature):
        return False
    return isinstance(feature, Sequence) or hasattr(feature, "shape")
