"""Evaluation and prediction run their batches longest first (less padding) and return rows in the dataset's order."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from tuneformers.trainer.trainer import Trainer
from tuneformers.trainer.training_args import TrainingArguments

LENGTHS = (3, 9, 2, 8, 4, 9, 1, 7)


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(20, 8)
        self.head = torch.nn.Linear(8, 3)
        self.batch_widths: list[int] = []

    def forward(self, input_ids, labels=None):
        self.batch_widths.append(input_ids.shape[1])
        logits = self.head(torch.tanh(self.embedding(input_ids)))
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100) if labels is not None else None
        return (loss, logits) if loss is not None else (logits,)


def pad_collator(features):
    length = max(len(f["input_ids"]) for f in features)
    return {"input_ids": torch.stack([F.pad(f["input_ids"], (0, length - len(f["input_ids"]))) for f in features]),
            "labels": torch.stack([F.pad(f["labels"], (0, length - len(f["labels"])), value=-100) for f in features])}


def test_prediction_batches_are_longest_first_and_rows_come_back_in_order(tmp_path):
    data = [{"input_ids": torch.arange(n) % 20, "labels": torch.full((n,), n % 3)} for n in LENGTHS]
    torch.manual_seed(0)
    model = Tagger()
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=2, report_to="none",
                             disable_tqdm=True)
    trainer = Trainer(model, args, data_collator=pad_collator)
    output = trainer.predict(data)
    assert model.batch_widths == [9, 8, 4, 2]  # (9, 9), (8, 7), (4, 3), (2, 1): 44 tokens instead of 72 in order
    with torch.no_grad():
        for row, example in enumerate(data):
            logits = model(example["input_ids"][None])[0][0].numpy()
            np.testing.assert_allclose(output.predictions[row, : len(logits)], logits, rtol=1e-6)
            np.testing.assert_array_equal(output.label_ids[row, : len(logits)], example["labels"].numpy())
            assert (output.label_ids[row, len(logits):] == -100).all()


def test_get_test_dataloader_keeps_the_dataset_order(tmp_path):
    data = [{"input_ids": torch.arange(n) % 20, "labels": torch.full((n,), 1)} for n in LENGTHS]
    args = TrainingArguments(output_dir=str(tmp_path), per_device_eval_batch_size=2, report_to="none")
    loader = Trainer(Tagger(), args, data_collator=pad_collator).get_test_dataloader(data)
    assert [batch["input_ids"].shape[1] for batch in loader] == [9, 8, 9, 7]
