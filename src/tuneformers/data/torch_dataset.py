"""A torch ``Dataset`` over tokenized features, to feed any collator through a ``DataLoader``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch.utils.data import Dataset

from .data_collator import feature_items

__all__ = ["FeaturesDataset"]


class FeaturesDataset(Dataset):
    """Examples as dicts of fields, from any of the usual tokenized forms:

    * a list of dicts (``[{"input_ids": [...], "label": 1}, ...]``),
    * a list of ``InputFeatures`` (or other dataclasses / objects with ``to_dict()``),
    * a column mapping such as a ``BatchEncoding`` from ``tokenizer(texts)``
      (``{"input_ids": [[...], [...]], "attention_mask": ...}``).

    ``labels`` (optional) adds a ``"labels"`` field per example. Items are plain dicts without
    ``None`` fields, so ``default_data_collator`` (fixed length) or ``DataCollatorWithPadding``
    (variable length) can batch them.
    """

    def __init__(self, features: Sequence[Any] | Mapping[str, Sequence[Any]], labels: Sequence[Any] | None = None):
        if isinstance(features, Mapping) or (hasattr(features, "keys") and hasattr(features, "__getitem__")
                                             and not isinstance(features, Sequence)):
            self.rows = _rows_from_columns(features)
        else:
            self.rows = [feature_items(feature, f"FeaturesDataset: example {index}")
                         for index, feature in enumerate(features)]
        if labels is not None:
            labels = list(labels)
            if len(labels) != len(self.rows):
                raise ValueError(f"Got {len(labels)} labels for {len(self.rows)} examples; pass one label per example.")
            for row, label in zip(self.rows, labels):
                row["labels"] = label

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def _rows_from_columns(columns: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    columns = {key: columns[key] for key in columns.keys()}
    lengths = {key: len(values) for key, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"FeaturesDataset: the columns have different lengths: {lengths}.")
    count = next(iter(lengths.values()), 0)
    return [{key: values[index] for key, values in columns.items()} for index in range(count)]
