"""The Trainer on BERT: our tiny model end to end, and HF's Trainer as the oracle for the recipe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tuneformers import BertConfig, BertForSequenceClassification
from tuneformers.trainer.trainer import Trainer
from tuneformers.trainer.training_args import TrainingArguments


def sentiment_like_data(n: int, seed: int, max_len: int = 12) -> list[dict]:
    """Label 1 when the first token is 7, 0 when it is 8: learnable by a tiny BERT in a few dozen steps."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        length = int(rng.integers(4, max_len))
        ids = rng.integers(10, 99, length)
        label = int(rng.integers(0, 2))
        ids[0] = 7 if label else 8
        rows.append({"input_ids": [2, *ids.tolist(), 3], "label": label, "text": "raw text the model does not take"})
    return rows


def pad_collator(features):
    length = max(len(f["input_ids"]) for f in features)
    ids = torch.zeros(len(features), length, dtype=torch.long)
    for row, feature in enumerate(features):
        ids[row, : len(feature["input_ids"])] = torch.tensor(feature["input_ids"])
    assert all("text" not in f for f in features)  # remove_unused_columns dropped it
    return {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": torch.tensor([f["label"] for f in features])}


def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def test_tiny_bert_trains_evaluates_and_saves(tmp_path, tiny_bert_kwargs):
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=2))
    args = TrainingArguments(output_dir=str(tmp_path / "out"), per_device_train_batch_size=16, learning_rate=3e-3,
                             num_train_epochs=3, eval_strategy="epoch", save_strategy="epoch", save_total_limit=1,
                             load_best_model_at_end=True, group_by_length=True, lr_scheduler_type="constant",
                             report_to="none", disable_tqdm=True, logging_steps=5)
    trainer = Trainer(model, args, data_collator=pad_collator, train_dataset=sentiment_like_data(128, 0),
                      eval_dataset=sentiment_like_data(64, 1), compute_metrics=accuracy)
    before = trainer.evaluate()
    trainer.train()
    after = trainer.evaluate()
    assert after["eval_loss"] < before["eval_loss"] - 0.01 and {"eval_accuracy", "eval_runtime"} <= set(after)
    assert after["eval_loss"] == pytest.approx(trainer.state.best_metric, rel=1e-6)  # best weights reloaded
    assert [p.name for p in (tmp_path / "out").glob("checkpoint-*")] == [Path(trainer.state.best_model_checkpoint).name]
    trainer.save_model(str(tmp_path / "final"))
    reloaded = BertForSequenceClassification.from_pretrained(str(tmp_path / "final"))
    batch = pad_collator([{k: v for k, v in row.items() if k != "text"} for row in sentiment_like_data(4, 2)])
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**batch).logits, model(**batch).logits)


@pytest.mark.slow
def test_same_losses_as_hf_trainer_with_the_same_recipe(tmp_path, tiny_bert_kwargs):
    """Full-batch steps (data order cannot matter), no dropout: AdamW, parameter groups, warmup, clipping agree."""
    import transformers

    config = dict(tiny_bert_kwargs, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
    torch.manual_seed(0)
    ours = BertForSequenceClassification(BertConfig(**config))
    theirs = transformers.BertForSequenceClassification(transformers.BertConfig(**config))
    theirs.load_state_dict(ours.state_dict(), strict=False)
    data = [{k: v for k, v in row.items() if k != "text"} for row in sentiment_like_data(16, 0)]
    recipe = dict(per_device_train_batch_size=16, max_steps=6, learning_rate=1e-3, weight_decay=0.1, warmup_steps=2,
                  max_grad_norm=0.5, lr_scheduler_type="linear", logging_steps=1, save_strategy="no",
                  report_to="none", disable_tqdm=True, seed=3)
    ours_trainer = Trainer(ours, TrainingArguments(output_dir=str(tmp_path / "ours"), **recipe),
                           data_collator=pad_collator, train_dataset=data)
    ours_trainer.train()
    hf_trainer = transformers.Trainer(model=theirs, args=transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"), use_cpu=True, **recipe), data_collator=pad_collator, train_dataset=data)
    hf_trainer.train()
    ours_losses = [e["loss"] for e in ours_trainer.state.log_history if "loss" in e]
    hf_losses = [e["loss"] for e in hf_trainer.state.log_history if "loss" in e]
    np.testing.assert_allclose(ours_losses, hf_losses, rtol=1e-4)  # HF rounds logged losses to 4 digits
    hf_state = theirs.state_dict()
    for name, tensor in ours.state_dict().items():
        torch.testing.assert_close(tensor, hf_state[name], rtol=1e-4, atol=1e-5)
    ours_metrics = ours_trainer.evaluate(data)
    hf_metrics = hf_trainer.evaluate(data)
    assert ours_metrics["eval_loss"] == pytest.approx(hf_metrics["eval_loss"], rel=1e-5)
