"""One training run of a tiny BERT classifier, launched by tests/test_trainer_multinode.py with or without torchrun.

    python distributed_child.py OUTPUT_DIR '{"per_device": 4, "accumulation": 2, "fsdp": "", ...}'

Writes into OUTPUT_DIR: checkpoints, ``final/`` (save_model: one consolidated folder), and per process
``order-<rank>.json`` (the training example numbers this process read, in order) and ``result-<rank>.json``.
Dropout is off, so processes differ only in which examples they see.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import torch

from tuneformers import BertConfig, BertForSequenceClassification
from tuneformers.trainer.callbacks import TrainerCallback
from tuneformers.trainer.trainer import Trainer
from tuneformers.trainer.training_args import TrainingArguments

NUM_EXAMPLES, SEQ_LEN, VOCAB = 64, 12, 60


class RecordingDataset(torch.utils.data.Dataset):
    """Fixed random token sequences with real lengths 4..12 and a label; remembers which examples were read."""

    def __init__(self, seed: int):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, VOCAB, (NUM_EXAMPLES, SEQ_LEN), generator=generator)
        self.lengths = torch.randint(4, SEQ_LEN + 1, (NUM_EXAMPLES,), generator=generator)
        self.labels = (self.ids[:, 1] % 2).tolist()
        self.read: list[int] = []

    def __len__(self) -> int:
        return NUM_EXAMPLES

    def __getitem__(self, index: int) -> dict:
        self.read.append(index)
        mask = (torch.arange(SEQ_LEN) < self.lengths[index]).long()
        return {"input_ids": self.ids[index] * mask, "attention_mask": mask, "labels": self.labels[index]}


class KillAt(TrainerCallback):
    """SIGKILL this process when step ``step`` begins on rank ``rank``: a crash no Python code sees."""

    def __init__(self, step: int, rank: int):
        self.step, self.rank = step, rank

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step + 1 == self.step and int(os.environ.get("RANK", "0")) == self.rank:
            os.kill(os.getpid(), signal.SIGKILL)


def evaluate_batch_by_batch(trainer: Trainer) -> dict:
    """Accuracy and example count with batch_eval_metrics: compute_metrics sees one batch (all processes' rows)
    at a time and reports at the last."""
    totals = {"correct": 0, "seen": 0, "calls": 0}

    def accumulate(prediction, compute_result: bool):
        totals["correct"] += int((prediction.predictions.argmax(-1) == prediction.label_ids).sum())
        totals["seen"] += len(prediction.label_ids)
        totals["calls"] += 1
        if compute_result:
            return {"accuracy": totals["correct"] / totals["seen"], "seen": totals["seen"], "calls": totals["calls"]}
        return None

    def at_once(prediction):
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    trainer.compute_metrics = at_once
    reference = trainer.evaluate()["eval_accuracy"]
    trainer.args.batch_eval_metrics, trainer.compute_metrics = True, accumulate
    metrics = trainer.evaluate()
    return {"reference_accuracy": reference, **metrics}


def main() -> None:
    output_dir, settings = Path(sys.argv[1]), json.loads(sys.argv[2])
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, num_labels=2)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(
        output_dir=str(output_dir), per_device_train_batch_size=settings["per_device"],
        gradient_accumulation_steps=settings.get("accumulation", 2), max_steps=settings.get("max_steps", 4),
        learning_rate=5e-3, max_grad_norm=0.05, save_steps=2, logging_steps=1, report_to="none",
        disable_tqdm=True, fsdp=settings.get("fsdp", ""), ddp_timeout=settings.get("ddp_timeout", 120),
        per_device_eval_batch_size=5, overwrite_output_dir=True)
    callbacks = [KillAt(*settings["kill"])] if "kill" in settings else []
    train_set = RecordingDataset(seed=1)
    trainer = Trainer(model, args, train_dataset=train_set, eval_dataset=RecordingDataset(seed=2),
                      callbacks=callbacks)
    trainer.train(resume_from_checkpoint=settings.get("resume"))
    metrics = trainer.evaluate()
    batch_metrics = evaluate_batch_by_batch(trainer)
    trainer.save_model(str(output_dir / "final"))
    rank = int(os.environ.get("RANK", "0"))
    (output_dir / f"order-{rank}.json").write_text(json.dumps(train_set.read))
    grad_norms = [entry["grad_norm"] for entry in trainer.state.log_history if "grad_norm" in entry]
    (output_dir / f"result-{rank}.json").write_text(json.dumps({"metrics": metrics, "grad_norms": grad_norms,
                                                                "batch_metrics": batch_metrics}))


if __name__ == "__main__":
    main()
