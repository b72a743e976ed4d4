"""``train`` / ``evaluate`` / ``predict`` for token classification, question answering and multiple choice.

``train --task`` picks the task (or ``auto`` reads it off the training file: CoNLL or JSONL with
``tokens`` -> token-classification; SQuAD JSON or JSONL with ``question`` and ``context`` ->
question-answering; SWAG CSV or JSONL with ``choices`` -> multiple-choice). ``evaluate`` and
``predict`` read the task off the model folder's architecture. What differs between the tasks (files,
features, model, metrics, output) lives in task_handlers.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from .common import (CLIError, check_can_create, check_model_folder, check_model_inputs, check_run_arguments, format_table,
                     load_tokenizer)
from .task_handlers import TASKS, TokenClassificationTask, features_dataset, without_keys

TASK_NAMES = ("token-classification", "question-answering", "multiple-choice")
ARCHITECTURE_TASKS = {"ForTokenClassification": "token-classification",
                      "ForQuestionAnswering": "question-answering", "ForMultipleChoice": "multiple-choice"}


# ------------------------------------------------------------------------------------------ options


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Token classification, question answering, multiple choice")
    _add_task_options(group)
    group.add_argument("--label_all_tokens", action="store_true",
                       help="token-classification: label every word piece (B- becomes I- after the first), not only "
                            "the first")


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    _add_task_options(parser.add_argument_group("Token classification, question answering, multiple choice"))


def _add_task_options(group: Any) -> None:
    group.add_argument("--tag_column", type=int, default=-1,
                       help="token-classification: CoNLL column holding the tag (default: -1, the last)")
    group.add_argument("--doc_stride", type=int, default=None,
                       help="question-answering: tokens shared by consecutive windows of a long context "
                            "(default: a quarter of --max_length, at most 128)")
    group.add_argument("--max_answer_length", type=int, default=30,
                       help="question-answering: longest answer in tokens (default: 30)")
    group.add_argument("--n_best_size", type=int, default=20,
                       help="question-answering: start and end candidates kept per window (default: 20)")
    group.add_argument("--version_2_with_negative", action="store_true",
                       help="question-answering: some questions have no answer (SQuAD v2.0); predict the empty answer "
                            "when its score beats the best span by --null_score_diff_threshold (on by itself when "
                            "the evaluated file mixes answered and unanswerable questions)")
    group.add_argument("--null_score_diff_threshold", type=float, default=0.0,
                       help="question-answering with --version_2_with_negative (default: 0.0)")
    group.add_argument("--pad_choices", action="store_true",
                       help="multiple-choice: allow examples with fewer choices (padded with empty ones, never chosen)")


def detect_task(path: str | Path) -> str | None:
    """The task a training file is for, or None for a plain classification / regression file."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in (".gz", ".bz2")]
    kind = suffixes[-1] if suffixes else ""
    if kind in (".conll", ".conllu", ".iob", ".iob2", ".bio", ".bilou"):
        return "token-classification"
    if kind == ".json":
        return "question-answering"
    if kind not in (".jsonl", ".ndjson", ".csv", ".tsv") or not path.is_file():
        return None
    from ..data.readers import open_text

    with open_text(path) as handle:
        first = next((line for line in handle if line.strip()), "")
    if kind in (".csv", ".tsv"):
        columns = set(first.strip().split("," if kind == ".csv" else "\t"))
        return "multiple-choice" if {"ending0", "ending1"} <= columns or {"choice0", "choice1"} <= columns else None
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    if "tokens" in record:
        return "token-classification"
    if {"question", "context"} <= set(record):
        return "question-answering"
    return "multiple-choice" if "choices" in record else None


def task_of_model(model_dir: str) -> str | None:
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for architecture in config.get("architectures") or []:
        for suffix, task in ARCHITECTURE_TASKS.items():
            if architecture.endswith(suffix):
                return task
    return None


# ------------------------------------------------------------------------------------------ commands


def resolve_train_task(args: argparse.Namespace) -> str | None:
    """The task of a train command when it is one of ours, else None (classification / regression)."""
    if args.task in TASK_NAMES:
        return args.task
    if args.task == "auto" and args.train_file:
        return detect_task(args.train_file)
    return None


def run_train(args: argparse.Namespace, task_name: str) -> int:
    from ..trainer.trainer import Trainer
    from ..trainer.utils import set_seed
    from .train import (_default_model, check_validation_fraction, read_train_and_held_out, save_run_folder,
                        training_arguments)

    started = time.perf_counter()
    if not args.train_file:
        raise CLIError(f"--task {task_name} needs --train_file (there is no packaged dataset for it).")
    task = TASKS[task_name](args)
    training_args = training_arguments(args)
    check_run_arguments(training_args)
    check_validation_fraction(args.validation_fraction)
    train, validation = read_train_and_held_out(args, task.read)
    train, validation = train[:args.max_train_samples], validation[:args.max_eval_samples]
    if not validation:
        training_args.eval_strategy = "no"
    if isinstance(task, TokenClassificationTask):
        task.set_labels(train + validation)
    model_name = check_model_folder(args.model_name_or_path or _default_model(), "--model_name_or_path")
    print(f"tuneformers train: {model_name} for {task_name} on {Path(args.train_file).name}: {len(train)} training / "
          f"{len(validation)} held-out examples", flush=True)
    tokenizer = load_tokenizer(model_name)
    train_set = features_dataset(without_keys(task.features(tokenizer, train, train=True), ("num_choices",)))
    eval_set = features_dataset(without_keys(task.features(tokenizer, validation, train=True), ("num_choices",))) \
        if validation else None
    set_seed(training_args.seed)
    model = task.model(model_name, ignore_mismatched_sizes=args.ignore_mismatched_sizes)
    check_model_inputs(model, tokenizer, args.max_length, model_name)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_set, eval_dataset=eval_set,
                      tokenizer=tokenizer, data_collator=task.collator(tokenizer),
                      compute_metrics=task.compute_metrics if task_name != "question-answering" else None)
    try:
        result = trainer.train()
    except (FileExistsError, FileNotFoundError) as error:
        raise CLIError(str(error)) from None
    metrics: dict[str, Any] = {**result.metrics, "task": task_name, "num_train_examples": len(train),
                               "num_eval_examples": len(validation)}
    if validation:
        scores, _ = task.evaluate(trainer, tokenizer, validation)
        metrics.update({f"eval_{key}": value for key, value in scores.items()})
        metrics.update({f"eval_{key}": value for key, value in task.baselines(train, validation).items()})
    output_dir = Path(training_args.output_dir)
    save_run_folder(trainer, output_dir, metrics,
                    plot_title=None if args.no_plot else f"{task_name}: {Path(args.train_file).name}")
    rows = [("model", model_name), ("task", task_name), ("data", f"{len(train)} train / {len(validation)} held out"),
            ("steps", result.global_step), ("train loss", result.training_loss)]
    rows += [(key.replace("eval_", "held-out ").replace("_", " "), value) for key, value in metrics.items()
             if key.startswith("eval_") and isinstance(value, float) and not key.endswith(("_number", "_total"))]
    rows += [("wall time", f"{time.perf_counter() - started:.0f} s"), ("model folder", str(output_dir))]
    print(format_table(rows, title="tuneformers train: summary"))
    return 0


def inference_task(args: argparse.Namespace) -> str | None:
    """The task of an evaluate / predict command on ``args.model_dir`` when it is one of ours."""
    folder = Path(args.model_dir)
    return task_of_model(str(folder)) if folder.is_dir() else None


def _inference_setup(args: argparse.Namespace, task_name: str, flag: str) -> tuple[Any, Any, Any, list]:
    from ..trainer.trainer import Trainer
    from ..trainer.training_args import TrainingArguments

    if args.batch_size < 1 or args.max_length < 1:
        raise CLIError("--batch_size and --max_length must be positive numbers.")
    folder = check_model_folder(args.model_dir, "model_dir")
    task = TASKS[task_name](args)
    examples = task.read(args.file, flag)
    tokenizer = load_tokenizer(folder)
    model = task.model(folder)
    check_model_inputs(model, tokenizer, args.max_length, folder)
    task.from_model(model)
    import tempfile

    scratch = tempfile.mkdtemp(prefix="tuneformers-")
    trainer = Trainer(model=model, tokenizer=tokenizer, data_collator=task.collator(tokenizer),
                      args=TrainingArguments(output_dir=scratch, per_device_eval_batch_size=args.batch_size,
                                             use_cpu=args.use_cpu, report_to=[], disable_tqdm=args.disable_tqdm))
    return task, trainer, tokenizer, examples


def run_evaluate(args: argparse.Namespace, task_name: str) -> int:
    from .evaluate import write_metrics

    start = time.perf_counter()
    task, trainer, tokenizer, examples = _inference_setup(args, task_name, "file")
    scores, _ = task.evaluate(trainer, tokenizer, examples)
    if not scores:
        raise CLIError(f"file {args.file} has no labels to score against; use `tuneformers predict` for unlabelled data.")
    metrics = {f"eval_{key}": value for key, value in scores.items()}
    metrics.update(eval_samples=len(examples), eval_runtime=time.perf_counter() - start)
    rows = [(key.removeprefix("eval_").replace("_", " "), value) for key, value in metrics.items()]
    print(format_table(rows, title=f"tuneformers evaluate ({task_name}): {args.model_dir} on {args.file}"), flush=True)
    write_metrics(args.output, metrics)
    return 0


def run_predict(args: argparse.Namespace, task_name: str) -> int:
    from ..utils import atomic_path

    output = Path(args.output or "predictions.jsonl")
    if output.suffix.lower() not in (".jsonl", ".ndjson"):
        raise CLIError(f"--output {output}: {task_name} predictions are written as JSONL; name it .jsonl.")
    check_can_create(output, "--output")
    task, trainer, tokenizer, examples = _inference_setup(args, task_name, "file")
    _, predictions = task.evaluate(trainer, tokenizer, examples)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as temp, open(temp, "w", encoding="utf-8") as handle:
        task.write(handle, examples, predictions)
    print(f"tuneformers predict ({task_name}): wrote {len(examples)} predictions to {output}")
    return 0
