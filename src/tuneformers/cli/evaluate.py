"""``tuneformers evaluate``: the metrics of a trained model on a labelled file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..data.metrics import majority_accuracy, task_metrics
from ..data.readers import read_examples
from . import tasks
from .common import CLIError, check_can_create, check_model_folder, format_table, write_json


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from .inference import add_model_arguments

    parser = subparsers.add_parser(
        "evaluate", parents=parents, help="metrics of a trained model on a labelled file",
        description="Score a labelled file with a trained model: loss and accuracy / F1 (classification) "
                    "or MSE and correlations (regression).",
        epilog="Example: tuneformers evaluate outputs/rotten_tomatoes test.csv --output test_metrics.json")
    add_model_arguments(parser)
    tasks.add_inference_arguments(parser)
    parser.add_argument("--label_column", default="label", help="column with the label (default: label)")
    parser.add_argument("--output", default=None, help="also write the metrics to this JSON file")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from .inference import resolve_max_length

    resolve_max_length(args)
    if args.output:
        check_can_create(args.output, "--output")
    task = tasks.inference_task(args)
    if task is not None:
        return tasks.run_evaluate(args, task)
    from .inference import Scorer

    if args.batch_size < 1 or args.max_length < 1:
        raise CLIError("--batch_size and --max_length must be positive numbers.")
    check_model_folder(args.model_dir, "model_dir")
    examples = read_examples(args.file, args.text_column, args.text_pair_column, args.label_column, flag="file",
                             column_arguments=("--text_column", "--text_pair_column", "--label_column"))
    start = time.perf_counter()
    scorer = Scorer(args.model_dir, args.max_length, args.use_cpu)
    labels = scorer.spec.encode([example.label for example in examples], str(args.file),
                                [example.line for example in examples])

    import numpy as np
    from tqdm.auto import tqdm

    logits, loss_sum = [], 0.0
    with tqdm(total=len(examples), unit="ex", desc="evaluate", disable=args.disable_tqdm) as bar:
        for begin in range(0, len(examples), args.batch_size):
            chunk = examples[begin : begin + args.batch_size]
            pairs = [e.text_pair for e in chunk] if args.text_pair_column else None
            chunk_logits, chunk_loss = scorer.logits_and_loss([e.text for e in chunk], pairs,
                                                              labels[begin : begin + args.batch_size])
            logits.append(chunk_logits)
            loss_sum += chunk_loss * len(chunk)
            bar.update(len(chunk))
    logits = np.concatenate(logits)
    metrics: dict[str, Any] = {"eval_loss": loss_sum / len(examples)}
    metrics.update({f"eval_{key}": value for key, value in task_metrics(scorer.spec.task, logits, labels).items()})
    if scorer.spec.task == "classification":
        metrics["eval_majority_class_accuracy"] = majority_accuracy(labels)
    metrics.update(eval_samples=len(examples), eval_runtime=time.perf_counter() - start)
    rows = [(key.removeprefix("eval_").replace("_", " "), value) for key, value in metrics.items()]
    print(format_table(rows, title=f"tuneformers evaluate: {args.model_dir} on {args.file}"), flush=True)
    write_metrics(args.output, metrics)
    return 0


def write_metrics(output: str | None, metrics: dict[str, Any]) -> None:
    """--output, written after the metrics were printed, so a failed write loses nothing that was computed."""
    if output:
        try:
            write_json(Path(output), metrics)
        except OSError as error:
            raise CLIError(f"--output {output}: could not write the metrics ({error}); they are printed above.") from None
