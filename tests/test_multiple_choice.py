"""Multiple choice data: SWAG CSV / JSONL readers, features equal to HF run_swag's, the padding collator
equal to HF's DataCollatorForMultipleChoice, accuracy that never picks a padding choice."""

from __future__ import annotations

import csv
import json
from itertools import chain

import numpy as np
import pytest

from tuneformers.data.readers import DataFormatError
from tuneformers.data.multiple_choice import (ChoiceExample, DataCollatorForMultipleChoice, choose,
                                              multiple_choice_accuracy, prepare_multiple_choice_features,
                                              read_multiple_choice)


@pytest.fixture(scope="module")
def lee_sentences(lee_dir) -> list[str]:
    text = (lee_dir / "lee.cor").read_text(encoding="latin-1")
    return [s.strip() + "." for s in text.replace("\n", " ").split(". ") if len(s.split()) > 4][:40]


def write_swag(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def swag_rows(sentences, count=6):
    return [{"video-id": f"v{i}", "sent1": sentences[i], "sent2": "Then", **{f"ending{k}": sentences[i + k + 1]
                                                                            for k in range(4)}, "label": i % 4}
            for i in range(count)]


def test_read_swag_csv_and_jsonl(tmp_path, lee_sentences):
    path = tmp_path / "train.csv"
    write_swag(path, swag_rows(lee_sentences))
    examples = read_multiple_choice(path)
    assert len(examples) == 6 and examples[1].choices[0] == lee_sentences[2] and examples[1].label == 1
    assert (examples[0].question, examples[0].line) == ("Then", 2)
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text(json.dumps({"context": "A", "choices": ["x", "y", "z"], "label": 2}) + "\n")
    assert read_multiple_choice(jsonl) == [ChoiceExample("A", ("x", "y", "z"), 2, "", str(jsonl), 1)]


def test_varying_choice_count_is_an_error_unless_padded(tmp_path):
    path = tmp_path / "dev.jsonl"
    rows = [{"context": "A", "choices": ["x", "y", "z"], "label": 0}, {"context": "B", "choices": ["x", "y"], "label": 1}]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    with pytest.raises(DataFormatError, match=r"dev\.jsonl, line 2: 2 choices, but the first example has 3"):
        read_multiple_choice(path)
    examples = read_multiple_choice(path, allow_varying_choices=True)
    assert [len(e.choices) for e in examples] == [3, 2]


def test_label_out_of_range_names_file_and_line(tmp_path, lee_sentences):
    path = tmp_path / "bad.csv"
    rows = swag_rows(lee_sentences, 3)
    rows[2]["label"] = 7
    write_swag(path, rows)
    with pytest.raises(DataFormatError, match=r"bad\.csv, line 4: label 7 is not a choice index"):
        read_multiple_choice(path)


def hf_run_swag(hf_tokenizer, examples, max_length):
    """HF run_swag.py's preprocess_function, restated as the oracle."""
    first_sentences = [[e.context] * 4 for e in examples]
    second_sentences = [[f"{e.question} {ending}" for ending in e.choices] for e in examples]
    tokenized = hf_tokenizer(list(chain(*first_sentences)), list(chain(*second_sentences)), truncation=True,
                             max_length=max_length, padding=False)
    return {k: [v[i: i + 4] for i in range(0, len(v), 4)] for k, v in tokenized.items()}


def test_features_and_collator_equal_hf(tmp_path, tokenizer, hf_tokenizer, lee_sentences):
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    path = tmp_path / "train.csv"
    write_swag(path, swag_rows(lee_sentences))
    examples = read_multiple_choice(path)
    features = prepare_multiple_choice_features(tokenizer, examples, max_length=48)
    reference = hf_run_swag(hf_tokenizer, examples, 48)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert [f[key] for f in features] == reference[key]
    batch = DataCollatorForMultipleChoice(tokenizer, return_tensors="np")(features)
    hf_features = [{**{k: reference[k][i] for k in reference}, "label": e.label} for i, e in enumerate(examples)]
    hf_batch = transformers.DataCollatorForMultipleChoice(hf_tokenizer)(hf_features)
    assert batch["input_ids"].shape == (6, 4, max(len(r) for f in features for r in f["input_ids"]))
    for key, value in hf_batch.items():
        np.testing.assert_array_equal(batch[key], value.numpy())


def test_padding_choices_are_never_chosen(tokenizer):
    examples = [ChoiceExample("A cat", ("sat", "ran", "flew"), 2), ChoiceExample("A dog", ("barked", "slept"), 1)]
    features = prepare_multiple_choice_features(tokenizer, examples)
    assert [len(f["input_ids"]) for f in features] == [3, 3] and features[1]["num_choices"] == 2
    logits = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 5.0]])  # the padding choice of example 2 scores highest
    num_choices = [f.get("num_choices") for f in features]
    assert choose(logits, num_choices).tolist() == [2, 1]
    assert multiple_choice_accuracy(logits, [2, 1], num_choices) == {"accuracy": 1.0}
    assert multiple_choice_accuracy(logits, [2, 1]) == {"accuracy": 0.5}
