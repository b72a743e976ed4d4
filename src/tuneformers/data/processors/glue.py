"""GLUE: read the task TSV files into examples and tokenize them into fixed-length features.

Each processor knows one task's file names, columns and labels. Files with a header row are read
by column name, so the train/dev/test variants of a task (test files have no label column) share
one description. No torch here: features are plain lists of ints.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

from ...utils import get_logger

__all__ = [
    "InputExample",
    "InputFeatures",
    "DataProcessor",
    "glue_processors",
    "glue_output_modes",
    "glue_tasks_num_labels",
    "glue_convert_examples_to_features",
]

logger = get_logger(__name__)


@dataclasses.dataclass
class InputExample:
    """One raw example: an id, one or two texts and a label (``None`` for unlabelled test data)."""

    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False) + "\n"


@dataclasses.dataclass(frozen=True)
class InputFeatures:
    """One tokenized example, ready for a collator. ``label`` is a class id (int) or a float target."""

    input_ids: list[int]
    attention_mask: list[int] | None = None
    token_type_ids: list[int] | None = None
    label: int | float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict()) + "\n"


class DataProcessor:
    """Base class of dataset readers: examples for each split, and the label list."""

    def get_train_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_train_examples(data_dir).")

    def get_dev_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_dev_examples(data_dir).")

    def get_test_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_test_examples(data_dir).")

    def get_labels(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_labels().")

    @classmethod
    def _read_tsv(cls, input_file: str | os.PathLike, quotechar: str | None = None) -> list[list[str]]:
        """All rows of a tab-separated file; quotes are ordinary characters unless ``quotechar`` is set."""
        path = Path(input_file)
        if not path.is_file():
            raise FileNotFoundError(f"{cls.__name__}: no file at {path}. Check data_dir and the task's file names.")
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
        quoting = csv.QUOTE_MINIMAL if quotechar else csv.QUOTE_NONE
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle, delimiter="\t", quotechar=quotechar, quoting=quoting))


def _decode(value: Any) -> Any:
    """A tf/numpy scalar or bytes from a tensor dict as a Python value."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    if hasattr(value, "item") and not isinstance(value, (bytes, str)):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return value


class _GlueProcessor(DataProcessor):
    """A GLUE task described by class attributes: files, text/label columns and labels."""

    labels: ClassVar[tuple[str, ...]] = ()
    files: ClassVar[dict[str, str]] = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    text_a_column: ClassVar[str] = "sentence"
    text_b_column: ClassVar[str | None] = None
    label_column: ClassVar[str] = "label"
    tfds_keys: ClassVar[tuple[str, str | None]] = ("sentence", None)

    def get_train_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._examples(data_dir, "train")

    def get_dev_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._examples(data_dir, "dev")

    def get_test_examples(self, data_dir: str | os.PathLike) -> list[InputExample]:
        return self._examples(data_dir, "test")

    def get_labels(self) -> list[str]:
        return list(self.labels)

    def get_example_from_tensor_dict(self, tensor_dict: dict[str, Any]) -> InputExample:
        """An example from one element of a tensorflow_datasets GLUE split (label as an index)."""
        key_a, key_b = self.tfds_keys
        label = _decode(tensor_dict["label"]) if "label" in tensor_dict else None
        if label is not None and len(self.labels) > 1:
            label = None if int(label) < 0 else self.labels[int(label)]  # tfds marks unlabelled test rows -1
        elif label is not None:
            label = str(label)
        return InputExample(
            guid=str(_decode(tensor_dict.get("idx", ""))),
            text_a=_decode(tensor_dict[key_a]),
            text_b=_decode(tensor_dict[key_b]) if key_b else None,
            label=label,
        )

    def _examples(self, data_dir: str | os.PathLike, split: str) -> list[InputExample]:
        path = Path(data_dir) / self.files[split]
        rows = self._read_tsv(path)
        if not rows:
            raise ValueError(f"{type(self).__name__}: {path} is empty.")
        text_a, text_b, label, rows = self._column_indices(rows, path)
        needed = max(index for index in (text_a, text_b, label) if index is not None)
        examples, skipped = [], 0
        for number, row in enumerate(rows):
            if len(row) <= needed:
                skipped += 1
                continue
            examples.append(
                InputExample(
                    guid=f"{split}-{number}",
                    text_a=row[text_a],
                    text_b=row[text_b] if text_b is not None else None,
                    label=row[label] if label is not None else None,
                )
            )
        if skipped:
            logger.warning(
                "%s: skipped %d malformed row(s) of %s (too few columns).", type(self).__name__, skipped, path
            )
        return examples

    def _column_indices(self, rows: list[list[str]], path: Path) -> tuple[int, int | None, int | None, list]:
        """Indices of the text and label columns, read from the header row; the data rows."""
        header = rows[0]

        def find(column: str | None, required: bool) -> int | None:
            if column is None:
                return None
            if column in header:
                return header.index(column)
            if required:
                raise ValueError(
                    f"{type(self).__name__}: {path} has no column {column!r}; its header is {header}. "
                    "Is this the right task's file?"
                )
            return None

        return (
            find(self.text_a_column, True),
            find(self.text_b_column, True),
            find(self.label_column, False),  # test files carry no label
            rows[1:],
        )


class ColaProcessor(_GlueProcessor):
    """CoLA: single sentences, acceptable (1) or not (0). train/dev have no header row:
    ``source, label, original mark, sentence``; test has a header ``index, sentence``."""

    labels = ("0", "1")
    tfds_keys = ("sentence", None)

    def _column_indices(self, rows, path):
        if rows[0][:2] == ["index", "sentence"]:  # test.tsv
            return 1, None, None, rows[1:]
        if len(rows[0]) < 4:
            raise ValueError(
                f"ColaProcessor: {path} should have 4 tab-separated columns (source, label, mark, sentence), "
                f"found {len(rows[0])} in the first row."
            )
        return 3, None, 1, rows


class Sst2Processor(_GlueProcessor):
    """SST-2: single sentences, positive (1) or negative (0)."""

    labels = ("0", "1")


class MrpcProcessor(_GlueProcessor):
    """MRPC: sentence pairs, paraphrase (1) or not (0)."""

    labels = ("0", "1")
    text_a_column, text_b_column, label_column = "#1 String", "#2 String", "Quality"
    tfds_keys = ("sentence1", "sentence2")


class StsbProcessor(_GlueProcessor):
    """STS-B: sentence pairs with a similarity score in [0, 5] (regression)."""

    labels = (None,)
    text_a_column, text_b_column, label_column = "sentence1", "sentence2", "score"
    tfds_keys = ("sentence1", "sentence2")

    def get_labels(self) -> list[None]:
        return [None]


class QqpProcessor(_GlueProcessor):
    """QQP: question pairs, duplicate (1) or not (0)."""

    labels = ("0", "1")
    text_a_column, text_b_column, label_column = "question1", "question2", "is_duplicate"
    tfds_keys = ("question1", "question2")


class MnliProcessor(_GlueProcessor):
    """MNLI (matched): premise/hypothesis pairs, three-way entailment label."""

    labels = ("contradiction", "entailment", "neutral")
    files = {"train": "train.tsv", "dev": "dev_matched.tsv", "test": "test_matched.tsv"}
    text_a_column, text_b_column, label_column = "sentence1", "sentence2", "gold_label"
    tfds_keys = ("premise", "hypothesis")


class MnliMismatchedProcessor(MnliProcessor):
    """MNLI mismatched: the same task evaluated on the out-of-genre dev/test sets."""

    files = {"train": "train.tsv", "dev": "dev_mismatched.tsv", "test": "test_mismatched.tsv"}


class QnliProcessor(_GlueProcessor):
    """QNLI: question/sentence pairs, does the sentence answer the question."""

    labels = ("entailment", "not_entailment")
    text_a_column, text_b_column = "question", "sentence"
    tfds_keys = ("question", "sentence")


class RteProcessor(_GlueProcessor):
    """RTE: sentence pairs, entailment or not."""

    labels = ("entailment", "not_entailment")
    text_a_column, text_b_column = "sentence1", "sentence2"
    tfds_keys = ("sentence1", "sentence2")


class WnliProcessor(RteProcessor):
    """WNLI: sentence pairs, entailment (1) or not (0)."""

    labels = ("0", "1")


glue_processors: dict[str, type[DataProcessor]] = {
    "cola": ColaProcessor,
    "mnli": MnliProcessor,
    "mnli-mm": MnliMismatchedProcessor,
    "mrpc": MrpcProcessor,
    "sst-2": Sst2Processor,
    "sts-b": StsbProcessor,
    "qqp": QqpProcessor,
    "qnli": QnliProcessor,
    "rte": RteProcessor,
    "wnli": WnliProcessor,
}

glue_output_modes: dict[str, str] = {
    task: ("regression" if task == "sts-b" else "classification") for task in glue_processors
}

glue_tasks_num_labels: dict[str, int] = {
    "cola": 2, "mnli": 3, "mnli-mm": 3, "mrpc": 2, "sst-2": 2, "sts-b": 1, "qqp": 2, "qnli": 2, "rte": 2, "wnli": 2,
}  # fmt: skip


_FEATURE_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _is_tf_dataset(value: Any) -> bool:
    """True for a tf.data.Dataset, checked without importing tensorflow."""
    return any(
        cls.__module__.startswith("tensorflow") and "Dataset" in cls.__name__ for cls in type(value).__mro__
    )


def _processor(task: str) -> DataProcessor:
    key = task.lower()
    if key not in glue_processors:
        raise KeyError(f"Unknown GLUE task {task!r}; choose one of: {', '.join(glue_processors)}.")
    return glue_processors[key]()


def glue_convert_examples_to_features(
    examples: list[InputExample] | Any,
    tokenizer: Any,
    max_length: int | None = None,
    task: str | None = None,
    label_list: list[str] | None = None,
    output_mode: str | None = None,
) -> list[InputFeatures] | Any:
    """Tokenize GLUE examples into ``InputFeatures`` padded and truncated to ``max_length``.

    ``task`` fills in ``label_list`` and ``output_mode`` when they are not given. Class labels become
    their index in ``label_list``; regression labels become floats. ``max_length`` defaults to the
    tokenizer's ``model_max_length`` (at most 512).
    """
    # --- tf.data hook: the TensorFlow layer converts a tf.data.Dataset itself (glue_tf.py) --------
    if _is_tf_dataset(examples):
        from .glue_tf import convert_tf_dataset

        return convert_tf_dataset(
            examples, tokenizer, max_length=max_length, task=task, label_list=label_list, output_mode=output_mode
        )
    # ----------------------------------------------------------------------------------------------
    if task is not None:
        processor = _processor(task)
        label_list = label_list if label_list is not None else processor.get_labels()
        output_mode = output_mode if output_mode is not None else glue_output_modes[task.lower()]
    if output_mode is None:
        raise ValueError(
            "glue_convert_examples_to_features needs task=<GLUE task> or output_mode='classification'/'regression'."
        )
    if output_mode not in ("classification", "regression"):
        raise ValueError(f"output_mode must be 'classification' or 'regression', got {output_mode!r}.")
    if output_mode == "classification" and not label_list:
        raise ValueError("Classification needs label_list (e.g. ['0', '1']), or pass task= to use the task's labels.")
    if max_length is None:
        max_length = min(getattr(tokenizer, "model_max_length", 512) or 512, 512)
    examples = list(examples)
    if not examples:
        return []

    label_map = {label: index for index, label in enumerate(label_list or [])}

    def label_of(example: InputExample) -> int | float | None:
        if example.label is None:
            return None
        if output_mode == "regression":
            return float(example.label)
        if example.label not in label_map:
            raise ValueError(
                f"Example {example.guid!r} has label {example.label!r}, which is not in label_list {label_list}."
            )
        return label_map[example.label]

    pairs = [example.text_b is not None for example in examples]
    if any(pairs) and not all(pairs):
        raise ValueError("Some examples have text_b and some do not; convert single texts and pairs separately.")
    encoding = tokenizer(
        [example.text_a for example in examples],
        [example.text_b for example in examples] if all(pairs) else None,
        max_length=max_length,
        padding="max_length",
        truncation=True,
    )
    features = []
    for index, example in enumerate(examples):
        fields = {key: encoding[key][index] for key in _FEATURE_KEYS if key in encoding}
        features.append(InputFeatures(**fields, label=label_of(example)))
    return features
