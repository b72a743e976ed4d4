"""``tuneformers train``: fine-tune a model to classify (or score) texts and text pairs.

Data come from CSV / TSV / JSONL files or from a packaged dataset; the task (classification or
regression) is read off the labels. Every ``TrainingArguments`` field is a flag; ``--config``
names a JSON or YAML file whose values act as defaults under the flags given explicitly.
The run folder gets the model and tokenizer, metrics.json, trainer_state.json, TensorBoard logs
(runs/) and training_plot.png. The command holds the folder's lock while it runs, refuses a folder that
holds a trained model unless --overwrite_output_dir, and writes the final files as one unit (into a
hidden sibling that is then swapped in), so a kill never leaves one run's model beside another's metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import dataclasses
import json
import os
import math
import re
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..constants import METRICS_NAME, PLOT_NAME, PT_WEIGHT_FILES, TRAINER_STATE_NAME
from ..trainer.training_args import TrainingArguments
from ..trainer_utils import list_checkpoints
from ..typed_dataclass import add_dataclass_arguments, dataclass_from_namespace, did_you_mean
from ..data.labels import TASKS, LabelSpec
from ..data.metrics import majority_accuracy, task_metrics
from ..data.readers import TextExample, read_examples
from . import tasks
from .common import (CLIError, check_model_folder, check_model_inputs, check_run_arguments, format_table, load_model,
                     load_tokenizer, write_json)
from .recipe import DataProfile, Recipe, choose_recipe, length_sample, short_run_warnings

DATASETS = ("rotten_tomatoes", "lee_similarity")
COLUMN_FLAGS = ("--text_column", "--text_pair_column", "--label_column")
DEFAULT_DATASET = "rotten_tomatoes"
# A subset by default, so the packaged Rotten Tomatoes job takes minutes on a laptop CPU.
DEFAULT_SAMPLES = {"rotten_tomatoes": (3000, 1000)}

# TrainingArguments defaults the command changes: a learning rate suited to small sentence encoders,
# evaluation during training (for the plot).
TRAIN_DEFAULTS: dict[str, Any] = {
    "output_dir": None,
    "per_device_eval_batch_size": 64,
    "learning_rate": 1e-4,
    "weight_decay": 0.01,
    "warmup_ratio": 0.1,
    "logging_steps": 5,
    "logging_first_step": True,
}
# Flags the data-derived recipe (recipe.py) may choose: unset (None) after parsing unless the user set them,
# then the recipe's value or, where it makes no choice, this one: one short epoch, evaluation every 25 steps,
# only the final model saved.
FALLBACK_DEFAULTS: dict[str, Any] = {
    "max_length": 128,
    "num_train_epochs": 1.0,
    "per_device_train_batch_size": 32,
    "eval_strategy": "steps",
    "eval_steps": 25,
    "save_strategy": "no",
    "save_steps": 500,
    "load_best_model_at_end": False,
    "metric_for_best_model": None,
    "save_total_limit": None,
    "bf16": False,
}
# TrainingArguments' older spellings of recipe flags (it maps them onto today's names).
DEPRECATED_RECIPE_FLAGS = {"evaluation_strategy": "eval_strategy", "evaluate_during_training": "eval_strategy",
                           "per_gpu_train_batch_size": "per_device_train_batch_size"}


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train", parents=parents, help="fine-tune a model on a labelled file or a packaged dataset",
        description="Fine-tune a model to classify (or score) texts and text pairs from a CSV, TSV or JSONL file "
                    "or a packaged dataset. Every TrainingArguments field is a flag.", allow_abbrev=False,
        epilog="Example: tuneformers train --train_file reviews.csv --text_column review --label_column stars "
               "--output_dir outputs/reviews")
    group = parser.add_argument_group("Model and data")
    group.add_argument("--model_name_or_path", "--model", default=None, metavar="NAME_OR_DIR",
                       help="Model folder or hub id to start from (default: sentence-transformers/all-MiniLM-L6-v2, "
                            "the packaged copy).")
    group.add_argument("--dataset", choices=DATASETS, default=None,
                       help=f"Packaged dataset to train on when no --train_file is given (default: {DEFAULT_DATASET}).")
    group.add_argument("--train_file", default=None, help="Training data: a .csv, .tsv or .jsonl file (.gz/.bz2 ok).")
    group.add_argument("--validation_file", default=None,
                       help="Held-out data in the same format; default: --validation_fraction of --train_file.")
    group.add_argument("--validation_fraction", type=float, default=0.1,
                       help="Share of --train_file held out when no --validation_file is given; 0 disables "
                            "evaluation (default: 0.1).")
    group.add_argument("--text_column", default="text", help="Column with the text (default: text).")
    group.add_argument("--text_pair_column", default=None, help="Column with the second text of a pair (default: none).")
    group.add_argument("--label_column", default="label", help="Column with the label (default: label).")
    group.add_argument("--task", choices=("auto",) + TASKS + tasks.TASK_NAMES, default="auto",
                       help="auto: token-classification, question-answering or multiple-choice when the train file "
                            "is of that kind (CoNLL / SQuAD / SWAG), else regression when all labels are numbers and "
                            "some are fractional, else classification (default: auto).")
    group.add_argument("--max_length", type=int, default=None,
                       help="Truncate inputs to this many tokens (default: chosen from the data).")
    group.add_argument("--max_train_samples", type=int, default=None,
                       help="Use at most this many training examples (default: 3000 for rotten_tomatoes, all otherwise).")
    group.add_argument("--max_eval_samples", type=int, default=None,
                       help="Use at most this many held-out examples (default: 1000 for rotten_tomatoes, all otherwise).")
    group.add_argument("--ignore_mismatched_sizes", action="store_true",
                       help="Start a new classification head when the model's has another number of labels.")
    group.add_argument("--config", default=None, metavar="FILE",
                       help="JSON or YAML file of flag values (names without --); flags given explicitly win.")
    group.add_argument("--no_plot", action="store_true", help=f"Do not write {PLOT_NAME}.")
    add_dataclass_arguments(parser, TrainingArguments)
    tasks.add_train_arguments(parser)
    set_defaults(parser, TRAIN_DEFAULTS)
    set_defaults(parser, dict.fromkeys(FALLBACK_DEFAULTS), shown="chosen from the data")
    parser.set_defaults(run=run, command_parser=parser)
    return parser


def set_defaults(parser: argparse.ArgumentParser, defaults: dict[str, Any], shown: str | None = None) -> None:
    """Change flag defaults and the '(default: ...)' note at the end of their help (``shown`` when given)."""
    for action in parser._actions:
        if action.dest in defaults:
            shown_value = shown or defaults[action.dest]
            if action.dest == "output_dir":
                shown_value = "outputs/<dataset name or train file name>"
            if action.help:
                action.help = re.sub(r"\(default: .*\)$", f"(default: {shown_value})", action.help)
    parser.set_defaults(**defaults)


# --------------------------------------------------------------------------------- --config files


def load_config(path: str, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Flag values from a JSON or YAML mapping, checked against the flags of ``parser``."""
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"--config {path}: no such file. Check the path.")
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CLIError("--config with a YAML file needs pyyaml: pip install 'tuneformers[train]' "
                           "(or use a .json file).") from None
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CLIError(f"--config {path} is not valid YAML: {str(error).splitlines()[0]}.") from None
    elif file.suffix.lower() == ".json":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise CLIError(f"--config {path} is not valid JSON: {error.msg} (line {error.lineno}).") from None
    else:
        raise CLIError(f"--config {path}: use a .json, .yaml or .yml file.")
    values = values or {}
    if not isinstance(values, dict):
        raise CLIError(f"--config {path} must hold a mapping of flag names to values, got a {type(values).__name__}.")
    known = {action.dest for action in parser._actions if action.option_strings} - {"help", "config"}
    checked = {}
    for key, value in values.items():
        name = str(key).lstrip("-").replace("-", "_")
        if name not in known:
            hint = did_you_mean(name, sorted(known)) or f" See `{parser.prog} --help` for the flags."
            raise CLIError(f"--config {path}: unknown setting {key!r}.{hint}")
        checked[name] = value
    return checked


# ------------------------------------------------------------------------------------------ data


@dataclasses.dataclass
class TrainData:
    name: str
    train: list[TextExample]
    validation: list[TextExample]
    spec: LabelSpec
    train_source: str = "the training data"
    validation_source: str = "the held-out data"
    """How label errors name where the examples came from (the file, when there is one)."""


def check_validation_fraction(fraction: float) -> None:
    if not (math.isfinite(fraction) and 0 <= fraction < 1):
        raise CLIError(f"--validation_fraction must be at least 0 and below 1 (0 turns evaluation off), "
                       f"got {fraction}.")


def read_train_and_held_out(args: argparse.Namespace, read: Callable[[str, str], list]) -> tuple[list, list]:
    """``read(path, flag)`` of --train_file, and the held-out examples: --validation_file, else a
    --validation_fraction split of the training file (none when it is 0)."""
    from ..data.datasets import train_validation_split

    train = read(args.train_file, "--train_file")
    if args.validation_file:
        return train, read(args.validation_file, "--validation_file")
    if args.validation_fraction == 0:
        return train, []
    try:
        return train_validation_split(train, args.validation_fraction, seed=args.seed)
    except ValueError as error:
        raise CLIError(f"--validation_fraction: {error}") from None


def load_data(args: argparse.Namespace) -> TrainData:
    """The training and held-out examples and the label spec, every problem as a CLIError."""
    for flag in ("max_train_samples", "max_eval_samples"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise CLIError(f"--{flag} must be a positive number, got {value}.")
    if args.train_file and args.dataset:
        raise CLIError("Pass either --train_file or --dataset, not both.")
    if args.validation_file and not args.train_file:
        raise CLIError("--validation_file needs --train_file (the packaged datasets bring their own held-out split).")
    names = None
    check_validation_fraction(args.validation_fraction)
    train_source, validation_source = f"the training data ({data_name(args)})", "the held-out data"
    if args.train_file:
        name = data_name(args)
        train_source = validation_source = args.train_file
        columns = (args.text_column, args.text_pair_column, args.label_column)
        train, validation = read_train_and_held_out(
            args, lambda path, flag: read_examples(path, *columns, flag=flag, column_arguments=COLUMN_FLAGS))
        if args.validation_file:
            validation_source = args.validation_file
        train_cap, eval_cap = args.max_train_samples, args.max_eval_samples
    else:
        name = data_name(args)
        train_cap, eval_cap = DEFAULT_SAMPLES.get(name, (None, None))
        train_cap = args.max_train_samples or train_cap
        eval_cap = args.max_eval_samples or eval_cap
        train, validation, names = _packaged(name, args.seed, eval_cap)
    train, validation = train[:train_cap], validation[:eval_cap]
    task = args.task
    spec = LabelSpec.infer([example.label for example in train], task, source=train_source, names=names,
                           lines=[example.line for example in train])
    return TrainData(name, train, validation, spec, train_source, validation_source)


def _packaged(name: str, seed: int, eval_size: int | None) -> tuple[list[TextExample], list[TextExample], list[str] | None]:
    from ..data import datasets

    try:
        if name == "rotten_tomatoes":
            examples = datasets.load_rotten_tomatoes(seed=seed)  # shuffled
            labels = datasets.ROTTEN_TOMATOES_LABELS
            converted = [TextExample(e.text, None, labels[e.label]) for e in examples]
            # Held-out examples come first, so --max_train_samples never changes the evaluation set.
            held_out = min(eval_size or len(converted) // 5, len(converted) // 2)
            return converted[held_out:], converted[:held_out], list(labels)
        examples = datasets.load_lee_similarity()
        train, validation = datasets.train_validation_split(examples, 0.2, seed=seed)
        return train, validation, None
    except (ImportError, FileNotFoundError, ValueError) as error:
        raise CLIError(str(error)) from None


# ------------------------------------------------------------------------------------------ train


def data_name(args: argparse.Namespace) -> str:
    return Path(args.train_file).name.split(".")[0] if args.train_file else args.dataset or DEFAULT_DATASET


def training_arguments(args: argparse.Namespace) -> TrainingArguments:
    if args.output_dir is None:
        args.output_dir = str(Path("outputs") / data_name(args))
    try:
        return dataclass_from_namespace(TrainingArguments, args)
    except (TypeError, ValueError) as error:
        raise CLIError(str(error)) from None


def encode(tokenizer: Any, examples: list[TextExample], spec: LabelSpec, max_length: int, source: str):
    from ..data.torch_dataset import FeaturesDataset

    texts = [example.text for example in examples]
    pairs = [example.text_pair for example in examples] if examples[0].text_pair is not None else None
    encoding = tokenizer(texts, text_pair=pairs, truncation=True, max_length=max_length)
    labels = spec.encode([example.label for example in examples], source, [example.line for example in examples])
    return FeaturesDataset(encoding, labels=labels)


def run(args: argparse.Namespace) -> int:
    if args.output_dir is None:
        args.output_dir = str(Path("outputs") / data_name(args))
    explicit = take_recipe_flags(args)
    check_run_arguments(training_arguments(args))  # before the lock, which creates the folder's parent
    with locked_run_folder(Path(args.output_dir), args.overwrite_output_dir):
        task = tasks.resolve_train_task(args)
        if task is not None:
            return tasks.run_train(args, task)
        return run_text_task(args, explicit)


def run_text_task(args: argparse.Namespace, explicit: dict[str, Any]) -> int:
    started = time.perf_counter()
    if args.max_length < 1:
        raise CLIError(f"--max_length must be a positive number, got {args.max_length}.")
    training_args = training_arguments(args)
    check_run_arguments(training_args)
    if not args.no_plot and importlib.util.find_spec("matplotlib") is None:
        print(f"tuneformers train: warning: matplotlib is not installed, so no {PLOT_NAME} will be drawn "
              "(pip install 'tuneformers[train]' for it, or pass --no_plot).", file=sys.stderr, flush=True)
        args.no_plot = True
    data = load_data(args)
    if not data.validation:
        if training_args.load_best_model_at_end:
            raise CLIError("--load_best_model_at_end needs held-out data: pass --validation_file or "
                           "--validation_fraction > 0.")
        training_args.eval_strategy = "no"
    model_name = check_model_folder(args.model_name_or_path or _default_model(), "--model_name_or_path")
    spec = data.spec
    print(f"tuneformers train: {model_name} on {data.name}: {len(data.train)} training / {len(data.validation)} "
          f"held-out examples, {spec.describe()}", flush=True)

    from ..trainer.callbacks import EarlyStoppingCallback
    from ..trainer.trainer import Trainer
    from ..trainer.utils import set_seed

    tokenizer = load_tokenizer(model_name)
    set_seed(training_args.seed)  # the new classification head is initialised from the global RNG
    model = load_model(model_name, **spec.model_kwargs(), ignore_mismatched_sizes=args.ignore_mismatched_sizes)
    data_recipe = choose_data_recipe(args, data, tokenizer, model, explicit)
    training_args = apply_recipe(args, training_args, data_recipe)
    check_model_inputs(model, tokenizer, args.max_length, model_name)
    train_set = encode(tokenizer, data.train, spec, args.max_length, data.train_source)
    eval_set = (encode(tokenizer, data.validation, spec, args.max_length, data.validation_source)
                if data.validation else None)
    trainer = Trainer(model=model, args=training_args, train_dataset=train_set, eval_dataset=eval_set,
                      tokenizer=tokenizer, compute_metrics=lambda p: task_metrics(spec.task, p.predictions, p.label_ids))
    if data_recipe.early_stopping_patience:
        trainer.add_callback(EarlyStoppingCallback(data_recipe.early_stopping_patience))
    try:
        result = trainer.train()
    except (FileExistsError, FileNotFoundError) as error:  # output_dir / resume_from_checkpoint problems
        raise CLIError(str(error)) from None
    eval_metrics = _final_evaluation(trainer) if eval_set is not None else {}

    output_dir = Path(training_args.output_dir)
    metrics: dict[str, Any] = {**result.metrics, **eval_metrics, "num_train_examples": len(data.train),
                               "num_eval_examples": len(data.validation), "task": spec.task,
                               "max_length": args.max_length}
    if spec.task == "classification" and data.validation:
        metrics["eval_majority_class_accuracy"] = majority_accuracy(eval_set_labels(eval_set))
    plot = save_run_folder(trainer, output_dir, metrics,
                           plot_title=None if args.no_plot else f"{Path(str(model_name)).name} on {data.name}")
    # Checkpoints the recipe asked for only to keep the best model.
    if "save_strategy" in data_recipe.values and trainer.is_world_process_zero():
        for checkpoint in list_checkpoints(output_dir):
            shutil.rmtree(checkpoint, ignore_errors=True)
    print(summary(model_name, data, result, metrics, output_dir, plot, time.perf_counter() - started,
                  recipe_rows(training_args, data_recipe, trainer.state)))
    for warning in short_run_warnings(result.global_step, trainer.state.log_history, metrics):
        print(f"tuneformers train: warning: {warning}", flush=True)
    return 0


# ------------------------------------------------------------------------------------- run folder


@contextlib.contextmanager
def locked_run_folder(output_dir: Path, overwrite: bool):
    """Hold ``output_dir``'s lock for the whole command; finish an interrupted final save; refuse to replace a
    trained model unless ``overwrite``. Lock and checkpoint problems end as one-line CLI errors."""
    from ..trainer.checkpoint import CheckpointError
    from ..trainer.output_folder import OutputFolderLockedError, output_folder_lock, recover_swap

    if int(os.environ.get("RANK", "0")) != 0:  # under torchrun the job's rank 0 holds the folder
        yield
        return
    try:
        with output_folder_lock(output_dir):
            recover_swap(output_dir)
            trained = [name for name in (METRICS_NAME, *PT_WEIGHT_FILES) if (output_dir / name).is_file()]
            if trained and not overwrite:
                raise CLIError(f"--output_dir {output_dir} already holds a trained model ({', '.join(trained)}). "
                               "Pass --overwrite_output_dir to replace it, or choose another --output_dir.")
            yield
    except (OutputFolderLockedError, CheckpointError) as error:
        raise CLIError(str(error)) from None


def save_run_folder(trainer: Any, output_dir: Path, metrics: dict[str, Any], plot_title: str | None) -> Path | None:
    """Model, tokenizer, training_args.json, trainer_state.json, metrics.json (and the plot when ``plot_title``)
    written into a hidden sibling, then swapped in for ``output_dir`` as one unit; return the plot's path.
    Every process calls it (a sharded model is gathered from all); rank 0 alone writes."""
    from ..trainer.output_folder import new_folder_beside, parent_is_writable, swap_in_folder

    plot = output_dir / PLOT_NAME if plot_title is not None else None
    if not trainer.is_world_process_zero():
        trainer.save_model()  # takes part in gathering the weights; rank 0 writes them
        return plot

    if not parent_is_writable(output_dir):  # e.g. a mounted volume: no sibling to swap in, so write in place
        print(f"tuneformers train: warning: cannot write beside {output_dir}, so its final files are written in "
              "place (a kill during this save can leave a partial folder).", file=sys.stderr, flush=True)
        new = output_dir
    else:
        new = new_folder_beside(output_dir)
    try:
        trainer.save_model(str(new))
        trainer.state.save_to_json(new / TRAINER_STATE_NAME)
        write_json(new / METRICS_NAME, metrics)
        if plot_title is not None:
            from .plot import plot_training

            plot_training(trainer.state.log_history, new / PLOT_NAME, title=plot_title)
        if new != output_dir:
            swap_in_folder(new, output_dir)
    finally:
        if new != output_dir and new.exists():
            shutil.rmtree(new, ignore_errors=True)
    return plot


# ----------------------------------------------------------------------------------------- recipe


def take_recipe_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe flags the user set (flag -> value); the others get their FALLBACK_DEFAULTS value for now."""
    explicit = {flag: getattr(args, flag) for flag in FALLBACK_DEFAULTS if getattr(args, flag) is not None}
    if args.max_steps > 0:
        explicit["max_steps"] = args.max_steps
    for old_name, flag in DEPRECATED_RECIPE_FLAGS.items():
        if getattr(args, old_name):
            explicit[flag] = getattr(args, old_name)
    for flag, value in FALLBACK_DEFAULTS.items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    return explicit


def choose_data_recipe(args: argparse.Namespace, data: TrainData, tokenizer: Any, model: Any,
                       explicit: dict[str, Any]) -> Recipe:
    """The recipe from the number of examples and the token counts of a sample of them."""
    positions = getattr(model.config, "max_position_embeddings", None) or tokenizer.model_max_length
    model_max_length = min(tokenizer.model_max_length, positions)
    sample = [data.train[index] for index in length_sample(len(data.train), seed=args.seed)]
    pairs = [example.text_pair for example in sample] if sample[0].text_pair is not None else None
    encoding = tokenizer([example.text for example in sample], text_pair=pairs, truncation=True,
                         max_length=model_max_length)
    profile = DataProfile(len(data.train), [len(ids) for ids in encoding["input_ids"]], model_max_length,
                          data.spec.task, has_validation=bool(data.validation),
                          native_bf16=not args.fp16 and native_bf16(args.use_cpu))
    return choose_recipe(profile, explicit)


def apply_recipe(args: argparse.Namespace, training_args: TrainingArguments, data_recipe: Recipe) -> TrainingArguments:
    values = dict(data_recipe.values)
    args.max_length = values.pop("max_length", args.max_length)
    for flag, value in values.items():
        setattr(args, flag, value)
    return dataclasses.replace(training_args, **values)


def recipe_rows(training_args: TrainingArguments, data_recipe: Recipe, state: Any) -> list[tuple[str, Any]]:
    """Summary rows: what the recipe chose and why, and whether training stopped early."""
    chosen = {"max length": data_recipe.values.get("max_length"), "epochs": f"{training_args.num_train_epochs:g}",
              "batch size": training_args.per_device_train_batch_size}
    rows = [(name, f"{chosen[name]} ({reason})" if name in chosen else reason)
            for name, reason in data_recipe.reasons.items()]
    if data_recipe.early_stopping_patience and state.global_step < state.max_steps:
        rows.append(("early stop", f"at step {state.global_step} of {state.max_steps}: no better held-out "
                                   f"{training_args.metric_for_best_model} for {data_recipe.early_stopping_patience} "
                                   "epochs"))
    if training_args.load_best_model_at_end and state.best_model_checkpoint:
        rows.append(("model kept", f"step {checkpoint_step(state.best_model_checkpoint)} (best held-out "
                                   f"{training_args.metric_for_best_model} {state.best_metric:.4g})"))
    return rows


def native_bf16(use_cpu: bool) -> bool:
    """Whether training runs on a device with native bfloat16 arithmetic (a GPU that supports it, or a CPU with
    AVX512-BF16 or AMX), where bf16 autocast is faster; elsewhere it is emulated and slower."""
    import torch

    if torch.cuda.is_available() and not use_cpu:
        return torch.cuda.is_bf16_supported()
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split()
    except OSError:  # not Linux
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _default_model() -> str:
    from ..hub import DEFAULT_MODEL

    return DEFAULT_MODEL


def _final_evaluation(trainer: Any) -> dict[str, float]:
    """The held-out metrics of the final model: those of the evaluation at its step if there was one, else new ones."""
    history, state = trainer.state.log_history, trainer.state
    step = state.global_step
    if trainer.args.load_best_model_at_end and state.best_model_checkpoint:
        step = checkpoint_step(state.best_model_checkpoint)
    last = next((logs for logs in reversed(history) if "eval_loss" in logs and logs.get("step") == step), None)
    if last is not None:
        return {key: value for key, value in last.items() if key.startswith("eval_")}
    return trainer.evaluate()


def checkpoint_step(folder: str) -> int:
    return int(Path(folder).name.rsplit("-", 1)[-1])


def eval_set_labels(dataset: Any) -> list[int]:
    return [row["labels"] for row in dataset.rows]


def summary(model_name: str, data: TrainData, result: Any, metrics: dict[str, Any], output_dir: Path,
            plot: Path | None, seconds: float, choices: list[tuple[str, Any]] = ()) -> str:
    rows: list[tuple[str, Any]] = [
        ("model", model_name),
        ("data", f"{data.name}: {len(data.train)} train / {len(data.validation)} held out"),
        ("task", data.spec.describe()),
        ("steps", f"{result.global_step} ({metrics.get('epoch', 0):.3g} epochs)"),
        *choices,
        ("train loss", result.training_loss),
    ]
    for key, value in metrics.items():
        if key.startswith("eval_") and not key.endswith(("_runtime", "_per_second")) and isinstance(value, float):
            rows.append((key.replace("eval_", "held-out ").replace("_", " "), value))
    rows += [("wall time", f"{seconds:.0f} s (training {metrics['train_runtime']:.0f} s)"),
             ("model folder", str(output_dir)), ("metrics", str(output_dir / METRICS_NAME))]
    if plot is not None:
        rows.append(("plot", str(plot)))
    return format_table(rows, title="tuneformers train: summary")
