"""What the subcommands share: user errors, reading labelled files, labels and task kind, model folders, metrics.

Importing this module loads neither torch nor tensorflow (so ``--help`` and input checks are
fast); the functions that need torch import it when called.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import io
import json
import math
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

TASKS = ("classification", "regression")
# Files a model folder may hold its weights in (see modeling_utils.load_state_dict).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json", "tf_model.h5")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")


class CLIError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


# ---------------------------------------------------------------------------------------- reading


def data_format(path: Path) -> str:
    """csv, tsv or jsonl, from the file name (a .gz or .bz2 suffix is looked through)."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2"):
        suffixes = suffixes[:-1]
    kind = suffixes[-1].lstrip(".") if suffixes else ""
    if kind in ("csv", "tsv", "jsonl"):
        return kind
    if kind == "ndjson":
        return "jsonl"
    raise CLIError(f"Cannot tell the format of {path}: name it .csv, .tsv or .jsonl (optionally .gz or .bz2).")


def check_data_file(path: str | Path, flag: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{flag} {path}: no such file. Check the path (relative paths start at {Path.cwd()}).")
    if not path.is_file():
        raise CLIError(f"{flag} {path} is a folder; pass a .csv, .tsv or .jsonl file.")
    data_format(path)
    return path


class RecordReader:
    """Stream the records (dicts) of a CSV, TSV or JSONL file; ``columns`` is known after the first record.

    ``fraction_read()`` tells how far through the (possibly compressed) file the reader is, for a progress bar.
    """

    def __init__(self, path: Path):
        self.path = path
        self.kind = data_format(path)
        self._raw = open(path, "rb")
        if path.suffix.lower() == ".gz":
            stream: Any = gzip.open(self._raw, "rb")
        elif path.suffix.lower() == ".bz2":
            stream = bz2.open(self._raw, "rb")
        else:
            stream = self._raw
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.columns: list[str] = []
        self.size = path.stat().st_size

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc) -> None:
        self._text.close()
        self._raw.close()

    def bytes_read(self) -> int:
        return self._raw.tell() if not self._raw.closed else self.size

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            if self.kind == "jsonl":
                yield from self._jsonl()
            else:
                csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
                reader = csv.DictReader(self._text, delimiter="," if self.kind == "csv" else "\t")
                self.columns = list(reader.fieldnames or [])
                yield from reader
        except UnicodeDecodeError as error:
            raise CLIError(f"{self.path} is not UTF-8 text ({error.reason} at byte {error.start}); "
                           "save it as UTF-8.") from error
        except csv.Error as error:
            raise CLIError(f"{self.path} is not valid {self.kind.upper()}: {error}.") from error
        except (EOFError, OSError) as error:  # truncated or corrupt .gz / .bz2
            raise CLIError(f"Could not read {self.path}: {error}. Check that the file is complete.") from error

    def _jsonl(self) -> Iterator[dict[str, Any]]:
        for number, line in enumerate(self._text, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise CLIError(f"{self.path}, line {number}: not valid JSON ({error.msg}); fix or remove that line.")
            if not isinstance(record, dict):
                raise CLIError(f"{self.path}, line {number}: expected one JSON object per line, "
                               f"got a {type(record).__name__}.")
            if not self.columns:
                self.columns = list(record)
            yield record


def check_columns(path: Path, columns: Sequence[str], wanted: dict[str, str | None], number: int | None = None) -> None:
    """CLIError naming the flag and listing the columns found, for the first wanted column missing."""
    for flag, column in wanted.items():
        if column is not None and column not in columns:
            where = f"record {number} of {path}" if number is not None else str(path)
            raise CLIError(f"{where} has no column {column!r} (given as {flag}); columns found: "
                           f"{', '.join(map(repr, columns)) or 'none'}. Pass {flag} with one of them.")


@dataclasses.dataclass
class Example:
    text: str
    text_pair: str | None
    label: Any


def read_labelled_file(path: Path, text_column: str, text_pair_column: str | None, label_column: str | None,
                       flag: str, limit: int | None = None) -> list[Example]:
    """All records of a file as examples, with every problem reported as a CLIError."""
    wanted = {"--text_column": text_column, "--text_pair_column": text_pair_column, "--label_column": label_column}
    examples = []
    with RecordReader(check_data_file(path, flag)) as reader:
        for number, record in enumerate(reader, start=1):
            if number == 1:
                check_columns(path, reader.columns, wanted)
            examples.append(example_from_record(path, record, number, text_column, text_pair_column, label_column))
            if limit is not None and len(examples) >= limit:
                break
        if not examples:
            header = f" (only a header: {', '.join(reader.columns)})" if reader.columns else ""
            raise CLIError(f"{flag} {path} has no examples{header}; give a file with at least one row.")
    return examples


def example_from_record(path: Path, record: dict[str, Any], number: int, text_column: str,
                        text_pair_column: str | None, label_column: str | None) -> Example:
    check_columns(path, list(record), {"--text_column": text_column, "--text_pair_column": text_pair_column,
                                       "--label_column": label_column}, number)
    text = record[text_column]
    pair = record[text_pair_column] if text_pair_column else None
    for column, value in ((text_column, text), (text_pair_column, pair)):
        if column is not None and not isinstance(value, str):
            raise CLIError(f"{path}, record {number}: column {column!r} holds {value!r}, not text; "
                           "every row needs a string there.")
    return Example(text, pair, record[label_column] if label_column else None)


# ------------------------------------------------------------------------------------------ labels


def _number(value: Any) -> float | None:
    """The value as a number if it is one (or a string that spells one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def label_key(value: Any) -> str:
    """The class name of a raw label: integral numbers as ints ('1', not '1.0'), booleans lowercase."""
    if isinstance(value, bool):
        return str(value).lower()
    number = _number(value)
    if number is not None and number.is_integer():
        return str(int(number))
    return str(value).strip() if isinstance(value, str) else str(value)


def check_label_values(labels: Sequence[Any], source: str) -> None:
    for number, value in enumerate(labels, start=1):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise CLIError(f"{source}, record {number}: the label is empty; give every row a label "
                           "(or drop the unlabelled rows).")
        if not isinstance(value, (str, int, float, bool)) or (isinstance(value, float) and not math.isfinite(value)):
            raise CLIError(f"{source}, record {number}: label {value!r} is a {type(value).__name__}; labels must be "
                           "numbers (regression or class ids) or strings (class names).")


@dataclasses.dataclass
class LabelSpec:
    """The task and, for classification, the class names in id order."""

    task: str
    names: list[str] = dataclasses.field(default_factory=list)

    @property
    def num_labels(self) -> int:
        return 1 if self.task == "regression" else len(self.names)

    def describe(self) -> str:
        if self.task == "regression":
            return "regression (1 output)"
        shown = ", ".join(self.names[:6]) + (", ..." if len(self.names) > 6 else "")
        return f"classification ({len(self.names)} labels: {shown})"

    def model_kwargs(self) -> dict[str, Any]:
        if self.task == "regression":
            return {"num_labels": 1, "problem_type": "regression"}
        return {"num_labels": len(self.names), "id2label": dict(enumerate(self.names)),
                "label2id": {name: index for index, name in enumerate(self.names)},
                "problem_type": "single_label_classification"}

    def encode(self, labels: Sequence[Any], source: str) -> list[Any]:
        """Label ids (classification) or floats (regression)."""
        check_label_values(labels, source)
        if self.task == "regression":
            values = []
            for number, value in enumerate(labels, start=1):
                as_float = _number(value)
                if as_float is None:
                    raise CLIError(f"{source}, record {number}: label {value!r} is not a number, but the task is "
                                   "regression. Use numeric labels, or --task classification.")
                values.append(as_float)
            return values
        ids = {name: index for index, name in enumerate(self.names)}
        keys = [label_key(value) for value in labels]
        unknown = sorted(set(keys) - set(ids))
        if unknown:
            raise CLIError(f"{source} has label(s) {unknown[:5]} that the model does not know (its labels: "
                           f"{self.names[:10]}). Use the same label values as in training.")
        return [ids[key] for key in keys]

    @classmethod
    def infer(cls, labels: Sequence[Any], task: str = "auto", source: str = "the training data",
              names: Sequence[str] | None = None) -> LabelSpec:
        """Regression when every label is a number and some are not whole numbers; classification otherwise.

        ``task`` ('classification' or 'regression') overrides the guess; ``names`` fixes the class order.
        """
        check_label_values(labels, source)
        numbers = [_number(value) for value in labels]
        if task == "auto":
            task = "regression" if all(n is not None for n in numbers) and any(not n.is_integer() for n in numbers) \
                else "classification"
        if task == "regression":
            bad = next((value for value, n in zip(labels, numbers) if n is None), None)
            if bad is not None:
                raise CLIError(f"--task regression needs numeric labels, but {source} has label {bad!r}. "
                               "Use --task classification (or auto).")
            return cls("regression")
        keys = sorted(set(map(label_key, labels)), key=_class_order)
        if names is not None:
            keys = list(names) + [key for key in keys if key not in names]
        if len(keys) < 2:
            raise CLIError(f"{source} has a single label value ({keys[0]!r}); classification needs at least two "
                           "classes. Check --label_column, or use --task regression for numeric targets.")
        return cls("classification", keys)

    @classmethod
    def from_config(cls, config: Any) -> LabelSpec:
        if config.problem_type == "regression" or (config.problem_type is None and config.num_labels == 1):
            return cls("regression")
        return cls("classification", [config.id2label[index] for index in range(config.num_labels)])


def _class_order(key: str) -> tuple[int, float, str]:
    number = _number(key)
    return (0, number, "") if number is not None else (1, 0.0, key)


# ---------------------------------------------------------------------------------------- models


def check_model_folder(name_or_path: str, flag: str = "model") -> str:
    """Fail early, with the fix, when a local folder cannot be a model (no config.json or no weights)."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        if name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
            raise CLIError(f"{flag} {name_or_path}: no such folder. Pass the output_dir of `tuneformers train`, "
                           "or a hub id like sentence-transformers/all-MiniLM-L6-v2.")
        return name_or_path  # a hub id; resolved by from_pretrained
    if not path.is_dir():
        raise CLIError(f"{flag} {path} is a file; pass the folder that holds config.json and the weights.")
    if not (path / "config.json").is_file():
        raise CLIError(f"{flag} {path} has no config.json, so it is not a model folder. Pass the output_dir "
                       "of `tuneformers train` (or any folder written by save_pretrained).")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise CLIError(f"{flag} {path} has no weights (looked for {', '.join(WEIGHT_FILES[:3])}); the training "
                       "that wrote it may not have finished. Re-run `tuneformers train` or point to a complete folder.")
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise CLIError(f"{flag} {path} has no tokenizer files ({' or '.join(TOKENIZER_FILES)}). Copy them from the "
                       "base model's folder, or save the tokenizer there with tokenizer.save_pretrained.")
    return str(path)


def load_tokenizer(name_or_path: str):
    from ..models.auto.tokenization_auto import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as error:
        raise CLIError(f"Could not load the tokenizer of {name_or_path}: {error}") from error


def load_model(name_or_path: str, **kwargs: Any):
    from ..models.auto.modeling_auto import AutoModelForSequenceClassification

    try:
        return AutoModelForSequenceClassification.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as error:
        message = str(error).replace("Pass ignore_mismatched_sizes=True", "Pass --ignore_mismatched_sizes")
        raise CLIError(f"Could not load the model {name_or_path}: {message}") from error


def choose_device(use_cpu: bool = False):
    import torch

    return torch.device("cuda" if torch.cuda.is_available() and not use_cpu else "cpu")


# --------------------------------------------------------------------------------------- metrics


def compute_metrics(spec: LabelSpec, predictions: Any, labels: Any) -> dict[str, float]:
    """Classification: accuracy and macro F1. Regression: MSE, Pearson and Spearman correlations."""
    import numpy as np

    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if spec.task == "regression":
        predictions = predictions.reshape(-1).astype(np.float64)
        labels = labels.reshape(-1).astype(np.float64)
        metrics = {"mse": float(np.mean((predictions - labels) ** 2))}
        if len(labels) > 1 and np.std(predictions) > 0 and np.std(labels) > 0:
            from ..data.metrics import pearson_and_spearman

            correlations = pearson_and_spearman(predictions, labels)
            metrics.update(pearson=correlations["pearson"], spearmanr=correlations["spearmanr"])
        return metrics
    predicted = predictions.argmax(axis=-1) if predictions.ndim == 2 else predictions
    metrics = {"accuracy": float(np.mean(predicted == labels))}
    f1s = []
    for index in range(spec.num_labels):
        true_positive = float(np.sum((predicted == index) & (labels == index)))
        predicted_count, actual_count = float(np.sum(predicted == index)), float(np.sum(labels == index))
        if actual_count == 0 and predicted_count == 0:
            continue
        f1s.append(2 * true_positive / (predicted_count + actual_count))
    metrics["f1_macro"] = float(np.mean(f1s)) if f1s else 0.0
    return metrics


def majority_accuracy(label_ids: Sequence[int]) -> float:
    from collections import Counter

    return Counter(label_ids).most_common(1)[0][1] / len(label_ids) if label_ids else float("nan")


def format_table(rows: Sequence[tuple[str, Any]], title: str | None = None) -> str:
    """Two aligned columns, numbers to 4 significant digits."""
    cells = [(key, f"{value:.4g}" if isinstance(value, float) else str(value)) for key, value in rows]
    width = max(len(key) for key, _ in cells)
    line = "-" * (width + 2 + max(len(value) for _, value in cells))
    body = "\n".join(f"{key.ljust(width)}  {value}" for key, value in cells)
    return "\n".join(part for part in (line, title, line if title else None, body, line) if part is not None)


def write_json(path: Path, data: dict[str, Any]) -> None:
    from ..utils import atomic_write_text

    finite = {key: None if isinstance(value, float) and not math.isfinite(value) else value
              for key, value in data.items()}
    atomic_write_text(path, json.dumps(finite, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n")

