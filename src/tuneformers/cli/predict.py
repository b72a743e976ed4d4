"""``tuneformers predict``: label every row of a file with a trained model.

The input is streamed in batches (a file larger than memory is fine) and the output written as it
goes to a temporary file, renamed into place at the end. Output rows are the input rows plus
``predicted_label`` and one ``prob_<label>`` per class (classification) or ``prediction`` (regression);
in JSONL the probabilities are one ``probabilities`` object.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from ..data.readers import RecordReader, check_data_file, data_format, example_from_record
from . import tasks
from .common import CLIError, check_can_create, check_model_folder

COLUMN_FLAGS = ("--text_column", "--text_pair_column", "--label_column")


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from .inference import add_model_arguments

    parser = subparsers.add_parser(
        "predict", parents=parents, help="predict a label for every row of a file",
        description="Label every row of a file with a trained model. The file is read and written in batches, so it "
                    "may be larger than memory. Output rows are the input rows plus predicted_label and one "
                    "prob_<label> column per class (CSV/TSV) or a probabilities object (JSONL); regression models "
                    "add prediction instead.",
        epilog="Example: tuneformers predict outputs/rotten_tomatoes reviews.csv --output predictions.csv")
    add_model_arguments(parser)
    tasks.add_inference_arguments(parser)
    parser.add_argument("--output", default=None,
                        help="predictions file, .csv, .tsv or .jsonl (default: predictions.<input format> here)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from .inference import resolve_max_length

    resolve_max_length(args)
    task = tasks.inference_task(args)
    if task is not None:
        return tasks.run_predict(args, task)
    if args.batch_size < 1 or args.max_length < 1:
        raise CLIError("--batch_size and --max_length must be positive numbers.")
    source = check_data_file(args.file, "file")
    output = Path(args.output or f"predictions.{data_format(source)}")
    out_format = data_format(output)
    if output.suffix.lower() in (".gz", ".bz2"):
        raise CLIError(f"--output {output}: write an uncompressed .csv, .tsv or .jsonl file.")
    if output.resolve() == source.resolve():
        raise CLIError(f"--output {output} is the input file; choose another name.")
    check_can_create(output, "--output")
    check_model_folder(args.model_dir, "model_dir")
    _check_first_record(source, args)

    from tqdm.auto import tqdm

    from ..utils import atomic_path
    from .inference import Scorer

    scorer = Scorer(args.model_dir, args.max_length, args.use_cpu)
    spec = scorer.spec
    output.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with RecordReader(source) as reader, atomic_path(output) as temp, open(temp, "w", encoding="utf-8",
                                                                           newline="") as handle:
        bar = tqdm(total=reader.size, unit="B", unit_scale=True, desc="predict", disable=args.disable_tqdm)
        writer = None
        batch: list[tuple[dict[str, Any], Any]] = []

        def flush() -> None:
            nonlocal writer, rows
            texts = [example.text for _, example in batch]
            pairs = [example.text_pair for _, example in batch] if args.text_pair_column else None
            logits = scorer.logits(texts, pairs)
            if writer is None:
                writer = _Writer(handle, out_format, reader.columns, spec)
            for (record, _), row_logits in zip(batch, logits):
                writer.write(record, row_logits, scorer)
            rows += len(batch)
            batch.clear()
            bar.update(reader.bytes_read() - bar.n)
            bar.set_postfix(rows=rows, refresh=False)

        for number, record in enumerate(reader, start=1):
            example = example_from_record(source, record, number, args.text_column, args.text_pair_column, None, COLUMN_FLAGS)
            batch.append((record, example))
            if len(batch) == args.batch_size:
                flush()
        if batch:
            flush()
        bar.update(reader.size - bar.n)
        bar.close()
    print(f"tuneformers predict: wrote {rows} predictions to {output}")
    return 0


def _check_first_record(source: Path, args: argparse.Namespace) -> None:
    """Column and emptiness problems before the model is loaded (loading takes seconds)."""
    with RecordReader(source) as reader:
        for record in reader:
            example_from_record(source, record, 1, args.text_column, args.text_pair_column, None, COLUMN_FLAGS)
            return
        header = f" (only a header: {', '.join(reader.columns)})" if reader.columns else ""
        raise CLIError(f"file {source} has no rows{header}; nothing to predict.")


class _Writer:
    def __init__(self, handle: Any, out_format: str, columns: list[str], spec: Any):
        self.handle, self.format, self.spec = handle, out_format, spec
        if spec.task == "regression":
            added = ["prediction"]
        else:
            added = ["predicted_label"] + [f"prob_{name}" for name in spec.names]
        if out_format != "jsonl":
            clashes = [name for name in added if name in columns]
            fields = [name for name in columns if name not in added] + added
            if clashes:
                fields = columns + [name for name in added if name not in columns]
            self.csv = csv.DictWriter(handle, fieldnames=fields, delimiter="," if out_format == "csv" else "\t",
                                      extrasaction="ignore")
            self.csv.writeheader()

    def write(self, record: dict[str, Any], logits: Any, scorer: Any) -> None:
        if self.spec.task == "regression":
            added: dict[str, Any] = {"prediction": float(logits.reshape(-1)[0])}
        else:
            probabilities = scorer.probabilities(logits[None, :])[0]
            added = {"predicted_label": self.spec.names[int(probabilities.argmax())]}
            if self.format == "jsonl":
                added["probabilities"] = {name: round(float(p), 6) for name, p in zip(self.spec.names, probabilities)}
            else:
                added.update({f"prob_{name}": f"{p:.6f}" for name, p in zip(self.spec.names, probabilities)})
        if self.format == "jsonl":
            self.handle.write(json.dumps({**record, **added}, ensure_ascii=False) + "\n")
        else:
            self.csv.writerow({**record, **added})
