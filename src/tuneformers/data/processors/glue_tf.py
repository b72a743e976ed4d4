"""GLUE from tf.data: a dataset of tensorflow_datasets-style dicts -> a dataset of ``(features, label)``.

``glue_convert_examples_to_features`` calls ``convert_tf_dataset`` when it is given a ``tf.data.Dataset``.
The input elements are dicts as tensorflow_datasets' ``glue/*`` configs yield them: ``sentence1``/``sentence2``
(or ``sentence``, ``question``/``sentence``, ``question1``/``question2``, ``premise``/``hypothesis``),
``label`` (a class index, -1 for unlabelled test rows, or a float for STS-B) and optionally ``idx``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...utils import require
from .glue import InputExample, _decode, _processor, glue_output_modes

tf = require("tensorflow", "tf", "GLUE tf.data conversion")

TEXT_KEYS = (  # tensorflow_datasets glue layouts, tried in order when no task is given
    ("sentence1", "sentence2"),
    ("question1", "question2"),
    ("premise", "hypothesis"),
    ("question", "sentence"),
    ("sentence", None),
)
PADDING_CHOICES = ("longest", "max_length", False)


def _example_without_task(element: dict[str, Any], label_list: list[str] | None) -> InputExample:
    for key_a, key_b in TEXT_KEYS:
        if key_a in element and (key_b is None or key_b in element):
            break
    else:
        raise KeyError(
            f"No GLUE text fields in a dataset element with keys {sorted(element)}; expected one of "
            f"{[tuple(k for k in keys if k) for keys in TEXT_KEYS]}. Pass task= for a named GLUE task."
        )
    label = _decode(element["label"]) if "label" in element else None
    if isinstance(label, int) and label_list:
        label = None if label < 0 else label_list[label]  # tfds labels are indices into the label list
    return InputExample(
        guid=str(_decode(element.get("idx", ""))),
        text_a=_decode(element[key_a]),
        text_b=_decode(element[key_b]) if key_b else None,
        label=None if label is None else str(label),
    )


def convert_tf_dataset(
    dataset: Any,
    tokenizer: Any,
    max_length: int | None = None,
    task: str | None = None,
    label_list: list[str] | None = None,
    output_mode: str | None = None,
    padding: str | bool = "longest",
) -> Any:
    """Tokenize a tf.data.Dataset of GLUE dicts into a ``tf.data.Dataset`` of ``(features_dict, label)``.

    ``features_dict`` holds int32 ``input_ids``, ``attention_mask`` and (when the tokenizer makes them)
    ``token_type_ids``; the label is an int64 class index, or a float32 for regression. A split without
    labels (all -1) yields the features dict alone.

    ``padding``:
    - ``"longest"`` (default): every example is padded to the longest one in this dataset (at most
      ``max_length``), so ``dataset.shuffle(100).batch(32)`` works and no batch is padded further than needed;
    - ``"max_length"``: every example is padded to ``max_length`` (the fixed length of the 2019 recipes);
    - ``False``: variable-length examples; batch them with ``padded_batch(32)`` to pad each batch to its
      own longest example (what TFTrainer does).
    """
    if padding not in PADDING_CHOICES:
        raise ValueError(f"padding must be one of {PADDING_CHOICES}, got {padding!r}.")
    if task is not None:
        processor = _processor(task)
        label_list = label_list if label_list is not None else processor.get_labels()
        output_mode = output_mode if output_mode is not None else glue_output_modes[task.lower()]
        examples = [processor.get_example_from_tensor_dict(element) for element in dataset.as_numpy_iterator()]
    else:
        if output_mode is None:
            output_mode = "classification" if label_list else None
        if output_mode is None:
            raise ValueError("convert_tf_dataset needs task=<GLUE task>, or label_list=[...] / output_mode='regression'.")
        examples = [_example_without_task(element, label_list) for element in dataset.as_numpy_iterator()]
    if output_mode not in ("classification", "regression"):
        raise ValueError(f"output_mode must be 'classification' or 'regression', got {output_mode!r}.")
    if not examples:
        raise ValueError("The tf.data.Dataset is empty; there is nothing to convert.")
    if max_length is None:
        max_length = min(getattr(tokenizer, "model_max_length", 512) or 512, 512)

    pairs = [example.text_b is not None for example in examples]
    encoding = tokenizer(
        [example.text_a for example in examples],
        [example.text_b for example in examples] if all(pairs) else None,
        max_length=max_length,
        truncation=True,
    )
    keys = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoding]
    sequences = {key: [list(row) for row in encoding[key]] for key in keys}
    pad_id = getattr(tokenizer, "pad_token_id", None) or 0
    if padding:
        width = max_length if padding == "max_length" else max(len(row) for row in sequences["input_ids"])
        features = {
            key: tf.constant(np.array([row + [pad_id if key == "input_ids" else 0] * (width - len(row))
                                       for row in rows], dtype=np.int32))
            for key, rows in sequences.items()
        }
    else:
        features = {key: tf.ragged.constant(rows, dtype=tf.int32) for key, rows in sequences.items()}

    labels = _labels(examples, output_mode, label_list)
    dataset = tf.data.Dataset.from_tensor_slices(features if labels is None else (features, labels))
    if not padding:  # rows of a ragged tensor come out as plain variable-length tensors through map
        dataset = dataset.map(lambda *element: element if len(element) > 1 else element[0])
    return dataset


def _labels(examples: list[InputExample], output_mode: str, label_list: list[str] | None) -> np.ndarray | None:
    raw = [example.label for example in examples]
    if all(label is None for label in raw):
        return None
    if any(label is None for label in raw):
        raise ValueError("Some examples have labels and some do not (-1); convert labelled and test rows separately.")
    if output_mode == "regression":
        return np.array([float(label) for label in raw], dtype=np.float32)
    label_map = {str(label): index for index, label in enumerate(label_list or [])}
    unknown = sorted({label for label in raw if label not in label_map})
    if unknown:
        raise ValueError(f"Labels {unknown[:5]} are not in label_list {label_list}.")
    return np.array([label_map[label] for label in raw], dtype=np.int64)
