"""The default training recipe of ``tuneformers train``, derived from the data. No torch.

A pure function of the number of training examples, a sample of their token counts, the task, the
model's longest input and whether the device computes bfloat16 natively; each choice comes with the reason
the summary prints. The command applies a choice only where the user left the flag unset, and ties the
schedule (epochs, batch size, evaluation, best checkpoint, early stopping) to --num_train_epochs and
--max_steps: setting either keeps the schedule the user's.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from typing import Any

# Floor of optimizer steps for a file too small for one pass to give them. Measured with
# benchmarks/bench_recipe.py on two 300-row files (batch 8, held-out accuracy after each epoch): 10 steps
# (one pass at batch 32) stay at the majority class; 38 steps reach 0.65 / 0.53 (majority 0.53), 76 steps
# 0.64 / 0.65, 114 steps 0.69 / 0.70. The packaged 3,000-snippet job (94 steps a pass) rounds to one epoch.
MIN_STEPS = 100
MAX_EPOCHS = 10
# Batch sizes tried largest first; the largest that still gives MIN_STEPS_PER_EPOCH steps an epoch wins,
# so a small file gets more, smaller updates and an evaluation every epoch still follows some progress.
BATCH_SIZES = (32, 16, 8)
MIN_STEPS_PER_EPOCH = 25
EARLY_STOPPING_PATIENCE = 2  # evaluations without improvement
ONE_PASS_EVAL_STEPS = 25  # evaluate this often (at least) during a one-pass run, for the plot and the best checkpoint
EVALUATIONS_PER_PASS = 10
# max_length covers this share of the sampled token counts, rounded up to a multiple of LENGTH_MULTIPLE.
LENGTH_QUANTILE = 0.95
LENGTH_MULTIPLE = 8
LENGTH_SAMPLE = 1000
# bf16 where the device computes it natively: on the packaged job (94 steps, a CPU with AVX512-BF16) it kept the
# held-out accuracy of float32 in three quarters of the time. Length grouping was measured too and is not chosen:
# it cost about 2 points of held-out accuracy there.
# Summary warnings. The epochs are rounded, so the recipe itself may give 0.7 * MIN_STEPS; below half, warn.
FEW_STEPS = MIN_STEPS // 2
NEAR_MAJORITY = 0.02
LOSS_STILL_FALLING = 0.10  # relative drop of the logged training loss from the next-to-last third to the last


# Setting either flag keeps the schedule (epochs, batch size, evaluation) the user's.
SCHEDULE_FLAGS = ("num_train_epochs", "max_steps")
# Setting any of these keeps evaluation and checkpointing the user's.
EVALUATION_FLAGS = ("eval_strategy", "eval_steps", "save_strategy", "save_steps", "load_best_model_at_end",
                    "metric_for_best_model", "save_total_limit")


@dataclasses.dataclass(frozen=True)
class DataProfile:
    """What the recipe looks at."""

    num_examples: int
    token_counts: Sequence[int]
    """Token counts (special tokens included) of a sample of the training texts; see length_sample."""
    model_max_length: int
    task: str = "classification"
    has_validation: bool = True
    native_bf16: bool = False
    """The training device computes bfloat16 natively (a CPU with AVX512-BF16 or AMX, a GPU that supports it)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Flag values chosen from the data, only for flags the user left unset, and why."""

    values: dict[str, Any]
    """By flag name: max_length and TrainingArguments fields."""
    reasons: dict[str, str]
    """One line per choice, keyed by the summary row it explains (epochs, batch size, max length, evaluation)."""
    early_stopping_patience: int | None = None


def choose_recipe(data: DataProfile, explicit: dict[str, Any]) -> Recipe:
    """The recipe for ``data`` around the flags the user set (``explicit``: flag name -> value)."""
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    if "max_length" not in explicit:
        values["max_length"], reasons["max length"] = choose_max_length(data.token_counts, data.model_max_length)
    if "bf16" not in explicit and data.native_bf16:
        values["bf16"] = True
        reasons["precision"] = "bfloat16 compute, native on this device (faster, same accuracy); --bf16 false to turn off"
    if any(flag in explicit for flag in SCHEDULE_FLAGS):
        return Recipe(values, reasons)
    batch_size = explicit.get("per_device_train_batch_size")
    if batch_size is None:
        batch_size = next((size for size in BATCH_SIZES if math.ceil(data.num_examples / size) >= MIN_STEPS_PER_EPOCH),
                          BATCH_SIZES[-1])
        values["per_device_train_batch_size"] = batch_size
        if batch_size < BATCH_SIZES[0]:
            reasons["batch size"] = f"a small file: {batch_size} gives more updates per epoch"
    steps_per_epoch = math.ceil(data.num_examples / batch_size)
    epochs = min(MAX_EPOCHS, max(1, round(MIN_STEPS / steps_per_epoch)))
    values["num_train_epochs"] = float(epochs)
    total = epochs * steps_per_epoch
    if epochs == 1:
        reasons["epochs"] = f"one pass gives {steps_per_epoch} steps; about {MIN_STEPS} wanted"
    else:
        cap = " (the cap)" if epochs == MAX_EPOCHS else ""
        reasons["epochs"] = f"{steps_per_epoch} steps an epoch, {total} in all{cap}; at least {MIN_STEPS} wanted"
    if not data.has_validation or any(flag in explicit for flag in EVALUATION_FLAGS):
        return Recipe(values, reasons)
    metric = "accuracy" if data.task == "classification" else "loss"
    patience = None
    if epochs == 1:
        eval_steps = max(ONE_PASS_EVAL_STEPS, math.ceil(total / EVALUATIONS_PER_PASS))
        values.update(eval_strategy="steps", eval_steps=eval_steps, save_strategy="steps", save_steps=eval_steps)
        reasons["evaluation"] = f"every {eval_steps} steps; the model kept is the best by held-out {metric}"
    else:
        patience = EARLY_STOPPING_PATIENCE
        values.update(eval_strategy="epoch", save_strategy="epoch")
        reasons["evaluation"] = (f"every epoch; the model kept is the best by held-out {metric}; early stop after "
                                 f"{patience} epochs without improvement")
    values.update(load_best_model_at_end=True, metric_for_best_model=metric, save_total_limit=1)
    return Recipe(values, reasons, patience)


def length_sample(num_texts: int, seed: int = 0, size: int = LENGTH_SAMPLE) -> list[int]:
    """Indices of at most ``size`` texts whose token counts stand for the file's (a file may be sorted)."""
    indices = list(range(num_texts))
    return indices if num_texts <= size else sorted(random.Random(seed).sample(indices, size))


def choose_max_length(token_counts: Sequence[int], model_max_length: int) -> tuple[int, str]:
    """The LENGTH_QUANTILE token count, rounded up to a multiple of LENGTH_MULTIPLE, at most the model's."""
    counts = sorted(token_counts)
    covered = counts[min(len(counts) - 1, math.ceil(LENGTH_QUANTILE * len(counts)) - 1)]
    length = min(model_max_length, LENGTH_MULTIPLE * math.ceil(covered / LENGTH_MULTIPLE))
    share = sum(count <= length for count in counts) / len(counts)
    reason = f"covers {share:.0%} of {len(counts)} sampled training texts in full; the longest has {counts[-1]} tokens"
    if length == model_max_length and covered > model_max_length:
        reason = f"the model's limit; {reason}"
    return length, reason


def short_run_warnings(global_step: int, log_history: Sequence[dict[str, Any]], metrics: dict[str, Any]) -> list[str]:
    """Signs that training was too short: few steps, a training loss still falling, accuracy near the majority."""
    warnings = []
    if global_step < FEW_STEPS:
        warnings.append(f"only {global_step} optimizer steps (fewer than {FEW_STEPS}); more epochs or more data "
                        "usually help")
    losses = [logs["loss"] for logs in log_history if "loss" in logs]
    third = len(losses) // 3
    if third >= 1:
        before, last = sum(losses[-2 * third:-third]) / third, sum(losses[-third:]) / third
        if before > 0 and (before - last) / before > LOSS_STILL_FALLING:
            warnings.append(f"the training loss was still falling at the end ({before:.3g} -> {last:.3g}); "
                            "more epochs may help")
    accuracy, majority = metrics.get("eval_accuracy"), metrics.get("eval_majority_class_accuracy")
    if accuracy is not None and majority is not None and accuracy <= majority + NEAR_MAJORITY:
        warnings.append(f"held-out accuracy {accuracy:.3f} is near always answering the most frequent class "
                        f"({majority:.3f}): the model has learned little")
    return warnings
