"""Multiple choice (SWAG-style) data: readers, features, a padding collator, accuracy. No torch.

An example is a context, an optional question (SWAG's ``sent2``, the start of every ending) and its
choices; the label is the index of the right choice. Files:

* CSV / TSV with a header: SWAG's columns (``sent1``, ``sent2``, ``ending0``..``ending3``, ``label``) or
  ``context`` [, ``question``], ``choice0``..``choiceN`` [, ``label``].
* JSONL: ``{"context": ..., "question"?: ..., "choices": [...], "label"?: int}`` per line.

Every example must have as many choices as the first, unless ``allow_varying_choices=True``: then
shorter examples are padded with empty choices that ``multiple_choice_accuracy`` and
``choose`` never pick (``num_choices`` records the real count).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..batch_encoding import check_tensor_type, numpy_to_tensors
from .data_collator import DataCollator, _pad
from .readers import DataFormatError, jsonl_values, open_text

__all__ = [
    "ChoiceExample",
    "read_multiple_choice",
    "prepare_multiple_choice_features",
    "DataCollatorForMultipleChoice",
    "choose",
    "multiple_choice_accuracy",
]

_CHOICE_COLUMN = re.compile(r"^(ending|choice)(\d+)$")


@dataclasses.dataclass(frozen=True)
class ChoiceExample:
    """A context, the question that starts every choice ("" if none), the choices, the right one's index."""

    context: str
    choices: tuple[str, ...]
    label: int | None = None
    question: str = ""
    path: str | None = None
    line: int | None = None


def read_multiple_choice(path: str | os.PathLike, allow_varying_choices: bool = False) -> list[ChoiceExample]:
    """Examples of a CSV / TSV / JSONL file (see the module doc); raises DataFormatError with the line."""
    path = Path(path)
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() not in (".gz", ".bz2")]
    kind = suffixes[-1] if suffixes else ""
    examples = _read_jsonl(path) if kind in (".jsonl", ".ndjson") else _read_table(path, "\t" if kind == ".tsv" else ",")
    if not examples:
        raise DataFormatError(path, None, "no examples found.")
    if not allow_varying_choices:
        expected = len(examples[0].choices)
        for example in examples:
            if len(example.choices) != expected:
                raise DataFormatError(path, example.line, f"{len(example.choices)} choices, but the first example has "
                                      f"{expected}; give every example the same number, or pass "
                                      "allow_varying_choices=True (--pad_choices) to pad with empty choices.")
    return examples


def _read_jsonl(path: Path) -> list[ChoiceExample]:
    examples = []
    for number, record in jsonl_values(path):
        if not isinstance(record, dict) or not isinstance(record.get("context"), str) or not isinstance(
                record.get("choices"), list):
            raise DataFormatError(path, number, "expected an object with a 'context' string and a 'choices' list.")
        examples.append(_example(record["context"], record.get("question") or "", record["choices"],
                                 record.get("label"), path, number))
    return examples


def _read_table(path: Path, delimiter: str) -> list[ChoiceExample]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open_text(path) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = list(reader.fieldnames or [])
        choice_columns = sorted((c for c in columns if _CHOICE_COLUMN.match(c)),
                                key=lambda c: int(_CHOICE_COLUMN.match(c).group(2)))
        context = next((c for c in ("sent1", "context", "startphrase") if c in columns), None)
        if context is None or not choice_columns:
            raise DataFormatError(path, 1, f"expected a 'sent1' or 'context' column and ending0.. / choice0.. columns; "
                                  f"the header has {columns}.")
        question = next((c for c in ("sent2", "question") if c in columns), None)
        examples = []
        for row in reader:
            line = reader.line_num
            choices = [row[c] for c in choice_columns if row.get(c) not in (None, "")]
            examples.append(_example(row[context], row[question] if question else "", choices,
                                     row.get("label") or None, path, line))
    return examples


def _example(context: str, question: str, choices: list[Any], label: Any, path: Path, line: int) -> ChoiceExample:
    if len(choices) < 2 or not all(isinstance(choice, str) for choice in choices):
        raise DataFormatError(path, line, f"needs at least two choices, all strings; got {choices!r}.")
    if label is not None:
        try:
            label = int(label)
        except (TypeError, ValueError):
            raise DataFormatError(path, line, f"label {label!r} is not a choice index (0..{len(choices) - 1}).") from None
        if not 0 <= label < len(choices):
            raise DataFormatError(path, line, f"label {label} is not a choice index: this example has "
                                  f"{len(choices)} choices (0..{len(choices) - 1}).")
    return ChoiceExample(context, tuple(choices), label, question, str(path), line)


def prepare_multiple_choice_features(tokenizer: Any, examples: Sequence[ChoiceExample], max_length: int | None = None,
                                     pad_to_max_length: bool = False) -> list[dict[str, Any]]:
    """One feature per example: each field holds one row per choice ((context, question + " " + choice)
    pairs, cut to ``max_length``); examples with fewer choices than the most are padded with empty
    choices, and ``num_choices`` keeps the real count."""
    width = max(len(example.choices) for example in examples)
    firsts, seconds = [], []
    for example in examples:
        choices = [*example.choices, *[""] * (width - len(example.choices))]
        firsts += [example.context] * width
        seconds += [f"{example.question} {choice}" if example.question else choice for choice in choices]
    encoding = tokenizer(firsts, seconds, truncation=max_length is not None, max_length=max_length,
                         padding="max_length" if pad_to_max_length else False)
    features = []
    for index, example in enumerate(examples):
        rows = slice(index * width, (index + 1) * width)
        feature = {key: encoding[key][rows] for key in encoding}
        if width != len(example.choices):
            feature["num_choices"] = len(example.choices)
        if example.label is not None:
            feature["labels"] = example.label
        features.append(feature)
    return features


@dataclasses.dataclass
class DataCollatorForMultipleChoice(DataCollator):
    """Pads every choice of every example in the batch to one length: fields become (B, C, T) arrays."""

    tokenizer: Any
    padding: bool | str = True
    max_length: int | None = None
    pad_to_multiple_of: int | None = None
    return_tensors: str = "pt"

    def __post_init__(self) -> None:
        check_tensor_type(self.return_tensors)

    def collate_batch(self, batch: Sequence[Any]) -> dict[str, Any]:
        features = [dict(feature) for feature in batch]
        labels = [feature.pop(key) for feature in features for key in ("labels", "label") if key in feature]
        for feature in features:
            feature.pop("num_choices", None)
        choices = {len(feature["input_ids"]) for feature in features}
        if len(choices) != 1:
            raise ValueError(f"The batch mixes examples with {sorted(choices)} choices; prepare them with "
                             "prepare_multiple_choice_features, which pads every example to the same count.")
        count = choices.pop()
        flat = [{key: values[i] for key, values in feature.items()} for feature in features for i in range(count)]
        padded = _pad(self.tokenizer, flat, self.padding, self.max_length, self.pad_to_multiple_of)
        result = {key: value.reshape(len(features), count, -1) for key, value in padded.items()}
        if labels:
            result["labels"] = np.asarray(labels, dtype=np.int64)
        return numpy_to_tensors(result, self.return_tensors)


def choose(logits: Any, num_choices: Sequence[int | None] | None = None) -> np.ndarray:
    """The chosen option per example (B C logits -> B indices), never a padding choice."""
    logits = np.array(logits, dtype=np.float64)
    if num_choices is not None:
        for row, count in enumerate(num_choices):
            if count is not None:
                logits[row, count:] = -np.inf
    return logits.argmax(-1)


def multiple_choice_accuracy(logits: Any, labels: Any, num_choices: Sequence[int | None] | None = None) -> dict[str, float]:
    """Fraction of examples whose highest-scoring (real) choice is the labelled one."""
    predictions, labels = choose(logits, num_choices), np.asarray(labels)
    if predictions.shape != labels.shape or not labels.size:
        raise ValueError(f"Need one label per example: logits give {predictions.shape}, labels {labels.shape}.")
    return {"accuracy": float((predictions == labels).mean())}
