"""Labels of a text-classification or regression file: the task they imply, class names, ids. No torch.

Regression when every label is a number and some are not whole numbers; classification otherwise. Class
names keep a stable order (numbers numerically, then text), and every problem names the file line of the row
(``lines``, as read into ``TextExample.line``), or the record number for data not read from a file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from ..configuration_utils import infer_problem_type
from .readers import DataError

TASKS = ("classification", "regression")



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


def where(source: str, lines: Sequence[int | None] | None, index: int) -> str:
    """'train.csv, line 8' for the label at ``index``; 'the held-out data, record 3' when its line is unknown."""
    line = lines[index] if lines is not None else None
    return f"{source}, line {line}" if line is not None else f"{source}, record {index + 1}"


def _spells_non_finite(value: Any) -> bool:
    """True for nan / inf as a float or as text ('nan', 'inf', '-Infinity', ...)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        try:
            return not math.isfinite(float(value.strip()))
        except ValueError:
            return False
    return False


def check_label_values(labels: Sequence[Any], source: str, lines: Sequence[int | None] | None = None,
                       numeric: bool = True) -> None:
    """Every label present and a number or a string; with ``numeric`` (regression, or a task still to be
    inferred) a nan / inf label is an error rather than a class named 'nan'."""
    for index, value in enumerate(labels):
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DataError(f"{where(source, lines, index)}: the label is empty; give every row a label "
                           "(or drop the unlabelled rows).")
        if (numeric or isinstance(value, float)) and _spells_non_finite(value):
            hint = " (or pass --task classification if it is a class name)" if isinstance(value, str) else ""
            raise DataError(f"{where(source, lines, index)}: label {value!r} is not a finite number; fix or drop "
                            f"that row{hint}.")
        if not isinstance(value, (str, int, float, bool)):
            raise DataError(f"{where(source, lines, index)}: label {value!r} is a {type(value).__name__}; labels must "
                           "be numbers (regression or class ids) or strings (class names).")


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

    def encode(self, labels: Sequence[Any], source: str, lines: Sequence[int | None] | None = None) -> list[Any]:
        """Label ids (classification) or floats (regression); ``lines`` locate each label in its file."""
        check_label_values(labels, source, lines, numeric=self.task == "regression")
        if self.task == "regression":
            values = []
            for index, value in enumerate(labels):
                as_float = _number(value)
                if as_float is None:
                    raise DataError(f"{where(source, lines, index)}: label {value!r} is not a number, but the task "
                                   "is regression. Use numeric labels, or --task classification.")
                values.append(as_float)
            return values
        ids = {name: index for index, name in enumerate(self.names)}
        keys = [label_key(value) for value in labels]
        unknown = sorted(set(keys) - set(ids))
        if unknown:
            first = keys.index(unknown[0])
            raise DataError(f"{source} has label(s) {unknown[:5]} that the model does not know (its labels: "
                           f"{self.names[:10]}; the first is at {where(source, lines, first).removeprefix(source + ', ')})"
                           ". Use the same label values as in training.")
        return [ids[key] for key in keys]

    @classmethod
    def infer(cls, labels: Sequence[Any], task: str = "auto", source: str = "the training data",
              names: Sequence[str] | None = None, lines: Sequence[int | None] | None = None) -> LabelSpec:
        """Regression when every label is a number and some are not whole numbers; classification otherwise.

        ``task`` ('classification' or 'regression') overrides the guess; ``names`` fixes the class order;
        ``lines`` locate each label in its file for the error messages.
        """
        check_label_values(labels, source, lines, numeric=task != "classification")
        numbers = [_number(value) for value in labels]
        if task == "auto":
            task = "regression" if all(n is not None for n in numbers) and any(not n.is_integer() for n in numbers) \
                else "classification"
        if task == "regression":
            bad = next((index for index, n in enumerate(numbers) if n is None), None)
            if bad is not None:
                raise DataError(f"--task regression needs numeric labels, but {where(source, lines, bad)} has label "
                                f"{labels[bad]!r}. Use --task classification (or auto).")
            return cls("regression")
        keys = sorted(set(map(label_key, labels)), key=_class_order)
        if names is not None:
            keys = list(names) + [key for key in keys if key not in names]
        if len(keys) < 2:
            raise DataError(f"{source} has a single label value ({keys[0]!r}); classification needs at least two "
                           "classes. Check --label_column, or use --task regression for numeric targets.")
        return cls("classification", keys)

    @classmethod
    def from_config(cls, config: Any) -> LabelSpec:
        if infer_problem_type(config.problem_type, config.num_labels) == "regression":
            return cls("regression")
        return cls("classification", [config.id2label[index] for index in range(config.num_labels)])


def _class_order(key: str) -> tuple[int, float, str]:
    number = _number(key)
    return (0, number, "") if number is not None else (1, 0.0, key)
