"""Collators: dtypes, padding modes, -100 label padding, MLM masking rates, and the missing-pad-token error."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch

from tuneformers.data.data_collator import (
    DataCollator,
    DataCollatorForLanguageModeling,
    DataCollatorForTokenClassification,
    DataCollatorWithPadding,
    default_data_collator,
)

SENTENCES = [
    "the film is a charming, funny ride",
    "dull",
    "an overlong and tedious exercise in style over substance that never finds its footing",
    "surprisingly moving",
]


@pytest.fixture(scope="module")
def encoded(tokenizer):
    return [dict(tokenizer(text)) for text in SENTENCES]


def test_collator_base_is_callable_through_collate_batch():
    class Doubler(DataCollator):
        def collate_batch(self, batch):
            return {"x": [2 * value for value in batch]}

    assert Doubler()([1, 2]) == {"x": [2, 4]}
    with pytest.raises(NotImplementedError, match="collate_batch"):
        DataCollator()([1])


def test_default_collator_dtypes_and_label_renaming():
    @dataclasses.dataclass
    class Features:
        input_ids: list
        attention_mask: list
        token_type_ids: list | None = None
        label: int | float | None = None

    batch = default_data_collator([Features([1, 2, 3], [1, 1, 1], None, 1), Features([4, 5, 6], [1, 1, 0], None, 0)])
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].dtype == torch.int64 and batch["labels"].dtype == torch.int64
    assert batch["labels"].tolist() == [1, 0]
    regression = default_data_collator([{"input_ids": [1, 2], "label": 0.5}, {"input_ids": [3, 4], "label": 2.0}])
    assert regression["labels"].dtype == torch.float32
    numpy_batch = default_data_collator(
        [{"input_ids": torch.tensor([1, 2]), "label_ids": [0, 1], "guid": "a"}] * 2, return_tensors="np"
    )
    assert isinstance(numpy_batch["input_ids"], np.ndarray) and numpy_batch["labels"].shape == (2, 2)
    assert "guid" not in numpy_batch  # strings are not model inputs
    with pytest.raises(ValueError, match="'input_ids'.*DataCollatorWithPadding"):
        default_data_collator([{"input_ids": [1, 2]}, {"input_ids": [1]}])
    with pytest.raises(ValueError, match="return_tensors"):
        default_data_collator([{"input_ids": [1]}], return_tensors="jax")


@pytest.mark.parametrize(
    "options, expected_length",
    [
        (dict(), None),  # longest
        (dict(padding="max_length", max_length=32), 32),
        (dict(pad_to_multiple_of=8), 24),
    ],
)
def test_padding_modes(tokenizer, hf_tokenizer, encoded, options, expected_length):
    from transformers import DataCollatorWithPadding as HFCollator

    features = [dict(feature, label=index % 2) for index, feature in enumerate(encoded)]
    batch = DataCollatorWithPadding(tokenizer, **options)(copy.deepcopy(features))
    longest = max(len(feature["input_ids"]) for feature in encoded)
    assert batch["input_ids"].shape == (4, expected_length or longest)
    assert {value.dtype for value in batch.values()} == {torch.int64}
    assert batch["attention_mask"].sum(dim=1).tolist() == [len(feature["input_ids"]) for feature in encoded]
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_token_id).all()
    assert batch["labels"].tolist() == [0, 1, 0, 1]
    reference = HFCollator(hf_tokenizer, **options)(copy.deepcopy(features))
    assert set(reference) == set(batch)
    for key in batch:
        torch.testing.assert_close(batch[key], reference[key], rtol=0, atol=0)


def test_token_classification_pads_labels_with_minus_100(tokenizer, hf_tokenizer, encoded):
    from transformers import DataCollatorForTokenClassification as HFCollator

    features = [dict(feature, labels=list(range(len(feature["input_ids"])))) for feature in encoded]
    batch = DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8)(copy.deepcopy(features))
    assert batch["labels"].shape == batch["input_ids"].shape == (4, 24) and batch["labels"].dtype == torch.int64
    lengths = [len(feature["input_ids"]) for feature in encoded]
    for row, length in enumerate(lengths):
        assert batch["labels"][row, :length].tolist() == list(range(length))
        assert (batch["labels"][row, length:] == -100).all()
    reference = HFCollator(hf_tokenizer, pad_to_multiple_of=8)(copy.deepcopy(features))
    for key in batch:
        torch.testing.assert_close(batch[key], reference[key], rtol=0, atol=0)


def test_mlm_masking_rates_over_many_draws(tokenizer):
    texts = [" ".join(["word"] * (5 + index % 30)) for index in range(64)]
    features = [dict(tokenizer(text)) for text in texts]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=0, return_tensors="np")
    picked = masked = randomised = real = 0
    word_id = features[0]["input_ids"][1]
    for _ in range(40):
        batch = collator(copy.deepcopy(features))
        inputs, labels, attention = batch["input_ids"], batch["labels"], batch["attention_mask"]
        is_real = (attention == 1) & ~np.isin(inputs, [tokenizer.cls_token_id, tokenizer.sep_token_id])
        chosen = labels != -100
        assert not (chosen & ~is_real).any(), "a special token or padding was masked"
        assert (labels[chosen] == word_id).all()
        assert (inputs[~chosen & (attention == 0)] == tokenizer.pad_token_id).all()
        # all [CLS]/[SEP] survive: positions that were special stay special
        assert (inputs[:, 0] == tokenizer.cls_token_id).all()
        real += is_real.sum()
        picked += chosen.sum()
        masked += (chosen & (inputs == tokenizer.mask_token_id)).sum()
        randomised += (chosen & (inputs != tokenizer.mask_token_id) & (inputs != word_id)).sum()
    assert abs(picked / real - 0.15) < 0.01
    assert abs(masked / picked - 0.8) < 0.02
    assert abs(randomised / picked - 0.1) < 0.02  # a random draw equals the word 1 time in 30522


def test_mlm_is_reproducible_with_a_seed_and_causal_mode_labels_inputs(tokenizer, encoded):
    first = DataCollatorForLanguageModeling(tokenizer, seed=3)(copy.deepcopy(encoded))
    second = DataCollatorForLanguageModeling(tokenizer, seed=3)(copy.deepcopy(encoded))
    for key in first:
        assert torch.equal(first[key], second[key])
    causal = DataCollatorForLanguageModeling(tokenizer, mlm=False)([feature["input_ids"] for feature in encoded])
    expected = causal["input_ids"].masked_fill(causal["attention_mask"] == 0, -100)
    assert torch.equal(causal["labels"], expected)


def test_missing_pad_token_is_an_error_that_names_the_fix(tokenizer):
    no_pad = copy.deepcopy(tokenizer)
    no_pad.pad_token = None
    for collator in (DataCollatorWithPadding, DataCollatorForTokenClassification, DataCollatorForLanguageModeling):
        with pytest.raises(ValueError, match="padding token.*tokenizer.pad_token ="):
            collator(no_pad)


# ------------------------------------------------------------------------------------ FeaturesDataset


def test_features_dataset_works_with_both_collators(tokenizer):
    from torch.utils.data import DataLoader

    from tuneformers.data.processors.glue import InputFeatures
    from tuneformers.data.torch_dataset import FeaturesDataset

    encoding = tokenizer(SENTENCES, truncation=True, max_length=12)  # a BatchEncoding of columns
    dataset = FeaturesDataset(encoding, labels=[1, 0, 0, 1])
    assert len(dataset) == 4 and dataset[1]["input_ids"] == encoding["input_ids"][1] and dataset[1]["labels"] == 0
    (batch,) = DataLoader(dataset, batch_size=4, collate_fn=DataCollatorWithPadding(tokenizer))
    assert batch["input_ids"].shape == (4, 12) and batch["labels"].tolist() == [1, 0, 0, 1]

    fixed = tokenizer(SENTENCES, padding="max_length", truncation=True, max_length=10)
    features = [
        InputFeatures(fixed["input_ids"][i], fixed["attention_mask"][i], None, float(i)) for i in range(4)
    ]
    batches = list(DataLoader(FeaturesDataset(features), batch_size=3, collate_fn=default_data_collator))
    assert [b["input_ids"].shape for b in batches] == [(3, 10), (1, 10)]
    assert "token_type_ids" not in batches[0] and batches[0]["labels"].dtype == torch.float32
    columns = FeaturesDataset({"input_ids": [[1, 2], [3, 4]], "label": [0, 1]})
    assert columns[1] == {"input_ids": [3, 4], "label": 1}


def test_features_dataset_errors():
    from tuneformers.data.torch_dataset import FeaturesDataset

    with pytest.raises(ValueError, match="2 labels for 3 examples"):
        FeaturesDataset([{"input_ids": [1]}] * 3, labels=[0, 1])
    with pytest.raises(ValueError, match="different lengths"):
        FeaturesDataset({"input_ids": [[1], [2]], "labels": [0]})
    with pytest.raises(TypeError, match="example 0 is a int"):
        FeaturesDataset([5])
