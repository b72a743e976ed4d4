"""GLUE processors on TSV fixtures in the real GLUE layouts (tests/fixtures/glue), and feature conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneformers.data.processors.glue import (
    InputExample,
    InputFeatures,
    glue_convert_examples_to_features,
    glue_output_modes,
    glue_processors,
    glue_tasks_num_labels,
)

GLUE = Path(__file__).parent / "fixtures" / "glue"


def test_task_tables_agree():
    assert set(glue_processors) == set(glue_output_modes)
    for task, processor in glue_processors.items():
        labels = processor().get_labels()
        expected = 1 if glue_output_modes[task] == "regression" else len(labels)
        assert glue_tasks_num_labels[task] == expected, task
    assert glue_output_modes["sts-b"] == "regression" and glue_output_modes["mrpc"] == "classification"


def test_mrpc_reads_pairs_labels_and_unlabelled_test():
    processor = glue_processors["mrpc"]()
    train = processor.get_train_examples(GLUE / "MRPC")
    assert [example.label for example in train] == ["1", "0", "1"]
    assert train[0] == InputExample(
        "train-0",
        "The company said profits rose 10 percent .",
        "Profits at the company were up 10 percent , it said .",
        "1",
    )
    assert train[2].text_a == 'He "declined" to comment .'  # quotes are text, not CSV quoting
    assert len(processor.get_dev_examples(GLUE / "MRPC")) == 1
    (test,) = processor.get_test_examples(GLUE / "MRPC")
    assert test.label is None and test.text_b == "It will probably rain ."


def test_stsb_reads_float_scores_as_regression_targets(tokenizer):
    processor = glue_processors["sts-b"]()
    train = processor.get_train_examples(GLUE / "STS-B")
    assert [(e.text_a, e.text_b, e.label) for e in train[:1]] == [
        ("A plane is taking off.", "An air plane is taking off.", "5.000")
    ]
    assert processor.get_test_examples(GLUE / "STS-B")[0].label is None
    features = glue_convert_examples_to_features(train, tokenizer, max_length=16, task="sts-b")
    assert [feature.label for feature in features] == [5.0, 3.8, 0.0]
    assert all(isinstance(feature.label, float) for feature in features)


def test_cola_reads_headerless_train_and_headed_test():
    processor = glue_processors["cola"]()
    train = processor.get_train_examples(GLUE / "CoLA")
    assert [(e.text_a, e.label) for e in train] == [
        ("The cat sat on the mat.", "1"),
        ("Cat the mat on sat the.", "0"),
        ('She said "hello to everyone.', "1"),
    ]
    assert all(example.text_b is None for example in train)
    assert [e.label for e in processor.get_dev_examples(GLUE / "CoLA")] == ["0", "1"]
    test = processor.get_test_examples(GLUE / "CoLA")
    assert [(e.text_a, e.label) for e in test] == [("Bill left.", None), ("Left Bill the.", None)]


@pytest.mark.parametrize(
    "task, folder, split, expected_first, expected_labels",
    [
        ("sst-2", "SST-2", "train", ("hide new secretions from the parental units ", None), ["0", "1"]),
        ("qqp", "QQP", "train", ("How do I learn Python?", "What is the best way to learn Python?"), ["1", "0"]),
        (
            "mnli", "MNLI", "dev",
            ("The new rights are nice enough", "Everyone really likes the newest benefits"), ["neutral", "entailment"],
        ),
        ("mnli-mm", "MNLI", "dev", ("Your gift is appreciated", "Hundreds of donors gave"), ["neutral", "contradiction"]),
        ("qnli", "QNLI", "train", ("When did it open?", "It opened in 1998."), ["entailment", "not_entailment"]),
        ("rte", "RTE", "train", ("Dana Reeve died at 44.", "Dana Reeve is dead."), ["entailment", "not_entailment"]),
        ("wnli", "WNLI", "train", ("I put the cake in the box because it was small.", "The cake was small."), ["1", "0"]),
    ],
)
def test_other_processors(task, folder, split, expected_first, expected_labels, tokenizer):
    processor = glue_processors[task]()
    examples = getattr(processor, f"get_{split}_examples")(GLUE / folder)
    assert (examples[0].text_a, examples[0].text_b) == expected_first
    assert [example.label for example in examples] == expected_labels  # QQP's malformed row is skipped
    assert set(expected_labels) <= set(processor.get_labels())
    features = glue_convert_examples_to_features(examples, tokenizer, max_length=32, task=task)
    assert [f.label for f in features] == [processor.get_labels().index(label) for label in expected_labels]


def test_convert_examples_matches_transformers_tokenization(tokenizer, hf_tokenizer):
    examples = glue_processors["mrpc"]().get_train_examples(GLUE / "MRPC")
    features = glue_convert_examples_to_features(examples, tokenizer, max_length=20, task="mrpc")
    assert all(isinstance(feature, InputFeatures) for feature in features)
    for example, feature in zip(examples, features):
        expected = hf_tokenizer(example.text_a, example.text_b, max_length=20, padding="max_length", truncation=True)
        assert feature.input_ids == expected["input_ids"] and len(feature.input_ids) == 20
        assert feature.attention_mask == expected["attention_mask"]
        assert feature.token_type_ids == expected["token_type_ids"]
        assert feature.label == int(example.label)
    single = glue_convert_examples_to_features(
        [InputExample("a", "good"), InputExample("b", "bad", label="0")],
        tokenizer, 8, output_mode="classification", label_list=["0", "1"],
    )  # fmt: skip
    assert single[0].label is None and single[1].label == 0 and sum(single[0].attention_mask) == 3


def test_errors_name_the_problem(tmp_path, tokenizer):
    processor = glue_processors["mrpc"]()
    with pytest.raises(FileNotFoundError, match="train.tsv"):
        processor.get_train_examples(tmp_path)
    (tmp_path / "train.tsv").write_text("sentence\tlabel\nhello\t1\n")
    with pytest.raises(ValueError, match="no column '#1 String'.*'sentence', 'label'"):
        processor.get_train_examples(tmp_path)
    with pytest.raises(ValueError, match="label 'maybe'.*\\['0', '1'\\]"):
        glue_convert_examples_to_features([InputExample("x", "a", label="maybe")], tokenizer, 8, task="sst-2")
    with pytest.raises(KeyError, match="'sst2'.*sst-2"):
        glue_convert_examples_to_features([], tokenizer, 8, task="sst2")
    with pytest.raises(ValueError, match="task="):
        glue_convert_examples_to_features([InputExample("x", "a")], tokenizer, 8)


def test_example_from_tensor_dict_maps_label_indices():
    processor = glue_processors["mnli"]()
    example = processor.get_example_from_tensor_dict(
        {"idx": 7, "premise": b"A man sleeps.", "hypothesis": b"A man is awake.", "label": 0}
    )
    assert example == InputExample("7", "A man sleeps.", "A man is awake.", "contradiction")
