"""TrainingArguments: everything the Trainer needs to know, grouped and documented field by field.

No-torch layer: imports only the standard library. The same dataclass drives the command line:
``add_dataclass_arguments(parser, TrainingArguments)`` adds one ``--flag`` per field, grouped as
below, with the docstring under each field as its ``--help`` text.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import math
import os
import textwrap
import types
import typing
from typing import Any, Literal

STRATEGIES = ("no", "steps", "epoch")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")
REPORT_SINKS = ("tensorboard", "jsonl")


@dataclasses.dataclass
class TrainingArguments:
    """Settings of one training run. Each field's docstring is its ``--help`` line."""

    # -- Output --
    output_dir: str = "trainer_output"
    """Folder for checkpoints, the final model and trainer_state.json."""
    logging_dir: str | None = None
    """Folder for TensorBoard event files; None means <output_dir>/runs."""
    overwrite_output_dir: bool = False
    """Allow training into an output_dir that already holds checkpoints without resuming from them."""

    # -- Workflow (read by scripts and the CLI, not by the Trainer) --
    do_train: bool = False
    """Run training."""
    do_eval: bool = False
    """Run evaluation on the eval set."""
    do_predict: bool = False
    """Run prediction on the test set."""

    # -- Length of training --
    num_train_epochs: float = 3.0
    """Number of passes over the training set (may be fractional). Ignored when max_steps > 0."""
    max_steps: int = -1
    """Total number of optimizer steps; overrides num_train_epochs when > 0."""

    # -- Batches --
    per_device_train_batch_size: int = 8
    """Training examples per device per forward pass."""
    per_device_eval_batch_size: int = 8
    """Evaluation examples per device per forward pass."""
    gradient_accumulation_steps: int = 1
    """Forward/backward passes summed into one optimizer step; the loss is normalised by the true
    number of labelled items in the step, so 4 x 8 gives the same update as one batch of 32."""
    group_by_length: bool = False
    """Batch examples of similar length together (less padding, faster). Lengths are computed once."""
    dataloader_num_workers: int = 0
    """Worker processes for data loading (0: load in the main process)."""
    dataloader_drop_last: bool = False
    """Drop the last incomplete training batch of each epoch."""
    remove_unused_columns: bool = True
    """Drop dataset keys that the model's forward does not accept before collating (e.g. raw text)."""
    label_names: list[str] | None = None
    """Batch keys holding the labels; None means ["labels"] (["start_positions", "end_positions"] for QA)."""

    # -- Optimizer --
    learning_rate: float = 5e-5
    """Peak learning rate of AdamW."""
    weight_decay: float = 0.0
    """Decoupled weight decay; biases and LayerNorm weights never decay."""
    adam_beta1: float = 0.9
    """AdamW beta1."""
    adam_beta2: float = 0.999
    """AdamW beta2."""
    adam_epsilon: float = 1e-8
    """AdamW epsilon."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this value (0 disables clipping)."""

    # -- Learning-rate schedule --
    lr_scheduler_type: str = "linear"
    """Schedule after warmup: linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup."""
    warmup_steps: int = 0
    """Linear warmup steps; takes precedence over warmup_ratio when > 0."""
    warmup_ratio: float = 0.0
    """Linear warmup as a fraction of the total optimizer steps."""

    # -- Logging --
    logging_steps: int = 50
    """Log loss, learning rate, throughput every this many optimizer steps."""
    logging_first_step: bool = False
    """Also log after the first optimizer step."""
    report_to: list[str] = dataclasses.field(default_factory=lambda: ["all"])
    """Log sinks: tensorboard, jsonl, all (those installed), or none. The console and trainer_state.json always get logs."""
    disable_tqdm: bool = False
    """Print plain log lines instead of tqdm progress bars."""

    # -- Evaluation --
    eval_strategy: str = "no"
    """When to evaluate during training: no, steps (every eval_steps) or epoch."""
    eval_steps: int | None = None
    """Evaluate every this many optimizer steps (eval_strategy=steps); None means logging_steps."""

    # -- Checkpoints --
    save_strategy: str = "steps"
    """When to save a checkpoint: no, steps (every save_steps) or epoch."""
    save_steps: int = 500
    """Save every this many optimizer steps (save_strategy=steps)."""
    save_total_limit: int | None = None
    """Keep at most this many checkpoints (oldest deleted first; the best one is never deleted)."""
    load_best_model_at_end: bool = False
    """Reload the best checkpoint's weights at the end of training (needs matching eval and save strategies)."""
    metric_for_best_model: str | None = None
    """Metric naming the best checkpoint, with or without the eval_ prefix; None means loss when needed."""
    greater_is_better: bool | None = None
    """Whether a larger metric is better; None means False for metrics ending in loss, True otherwise."""
    resume_from_checkpoint: str | None = None
    """Checkpoint folder to resume from, or "last" for the newest one in output_dir (read by scripts and the CLI)."""

    # -- Reproducibility and precision --
    seed: int = 42
    """Seed for python, numpy and torch, and for the order of training batches."""
    bf16: bool = False
    """Compute in bfloat16 autocast (CPU and CUDA); weights and optimizer state stay float32."""
    fp16: bool = False
    """Compute in float16 autocast with a gradient scaler (CUDA only)."""
    use_cpu: bool = False
    """Train on the CPU even when a CUDA device is available."""

    def __post_init__(self) -> None:
        if isinstance(self.report_to, str):  # report_to="none" as HF scripts write it
            self.report_to = [self.report_to]
        _check_types(self)
        positive = ["per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                    "logging_steps", "save_steps"]
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("learning_rate", "weight_decay", "adam_epsilon", "max_grad_norm", "num_train_epochs",
                     "warmup_steps", "dataloader_num_workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        if self.max_steps <= 0 and self.num_train_epochs <= 0:
            raise ValueError(
                f"Nothing to train: max_steps={self.max_steps} and num_train_epochs={self.num_train_epochs}. "
                "Set max_steps > 0 or num_train_epochs > 0."
            )
        _check_choice("eval_strategy", self.eval_strategy, STRATEGIES)
        _check_choice("save_strategy", self.save_strategy, STRATEGIES)
        _check_choice("lr_scheduler_type", self.lr_scheduler_type, SCHEDULERS)
        for sink in self.report_to:
            _check_choice("report_to", sink, REPORT_SINKS + ("all", "none"))
        if self.eval_steps is not None and self.eval_steps < 1:
            raise ValueError(f"eval_steps must be at least 1 or None, got {self.eval_steps}.")
        if self.save_total_limit is not None and self.save_total_limit < 1:
            raise ValueError(
                f"save_total_limit must be at least 1 or None (keep all), got {self.save_total_limit}; "
                "use save_strategy='no' to save no checkpoints."
            )
        if self.bf16 and self.fp16:
            raise ValueError("bf16=True and fp16=True conflict: choose one mixed-precision mode.")
        if self.warmup_steps > 0 and self.warmup_ratio > 0:
            raise ValueError(
                f"warmup_steps={self.warmup_steps} and warmup_ratio={self.warmup_ratio} conflict: set only one."
            )
        if self.load_best_model_at_end:
            if self.eval_strategy == "no" or self.save_strategy == "no":
                raise ValueError(
                    "load_best_model_at_end=True needs eval_strategy and save_strategy other than 'no', got "
                    f"eval_strategy={self.eval_strategy!r} and save_strategy={self.save_strategy!r}."
                )
            if self.eval_strategy != self.save_strategy:
                raise ValueError(
                    f"load_best_model_at_end=True needs eval_strategy ({self.eval_strategy!r}) to equal "
                    f"save_strategy ({self.save_strategy!r}), so every checkpoint has a metric."
                )
            if self.save_strategy == "steps" and self.save_steps % self.get_eval_steps() != 0:
                raise ValueError(
                    f"load_best_model_at_end=True needs save_steps ({self.save_steps}) to be a multiple of "
                    f"eval_steps ({self.get_eval_steps()}), so every checkpoint has a metric."
                )

    # ---- derived values -----------------------------------------------------------------------

    def world_size(self) -> int:
        """Number of processes (torchrun sets WORLD_SIZE); 1 when not launched distributed."""
        return int(os.environ.get("WORLD_SIZE", "1"))

    def train_batch_size(self) -> int:
        """Examples per forward pass across all processes."""
        return self.per_device_train_batch_size * self.world_size()

    def eval_batch_size(self) -> int:
        return self.per_device_eval_batch_size * self.world_size()

    def total_train_batch_size(self) -> int:
        """Examples per optimizer step across processes and accumulation."""
        return self.train_batch_size() * self.gradient_accumulation_steps

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """warmup_steps if set, else ceil(warmup_ratio * num_training_steps)."""
        return self.warmup_steps if self.warmup_steps > 0 else math.ceil(self.warmup_ratio * num_training_steps)

    def get_eval_steps(self) -> int:
        return self.eval_steps if self.eval_steps is not None else self.logging_steps

    def get_logging_dir(self) -> str:
        return self.logging_dir if self.logging_dir is not None else os.path.join(self.output_dir, "runs")

    def get_label_names(self, forward_parameters: typing.Iterable[str] = ()) -> list[str]:
        """label_names, or the defaults for a model whose forward takes ``forward_parameters``."""
        if self.label_names is not None:
            return list(self.label_names)
        parameters = set(forward_parameters)
        if {"start_positions", "end_positions"} <= parameters:
            return ["start_positions", "end_positions"]
        return ["labels"]

    def best_metric_name(self) -> str:
        """The eval_-prefixed metric naming the best checkpoint."""
        name = self.metric_for_best_model or "loss"
        return name if name.startswith("eval_") else f"eval_{name}"

    def best_metric_greater(self) -> bool:
        if self.greater_is_better is not None:
            return self.greater_is_better
        return not self.best_metric_name().endswith("loss")

    def report_sinks(self, installed: typing.Iterable[str] = REPORT_SINKS) -> list[str]:
        """The log sinks to use: report_to with 'all' expanded to the installed ones and 'none' to nothing."""
        if "none" in self.report_to:
            return []
        if "all" in self.report_to:
            return [sink for sink in REPORT_SINKS if sink in set(installed)]
        return list(dict.fromkeys(self.report_to))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}.")


# ---- typed fields --------------------------------------------------------------------------------


def _check_types(instance: Any) -> None:
    """Raise TypeError naming the field when a value does not fit its annotation (ints pass as floats)."""
    hints = typing.get_type_hints(type(instance))
    for field in dataclasses.fields(instance):
        value = getattr(instance, field.name)
        if not _fits(value, hints[field.name]):
            raise TypeError(
                f"{type(instance).__name__}.{field.name} must be {_describe(hints[field.name])}, "
                f"got {value!r} ({type(value).__name__})."
            )


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if origin is Literal:
        return value in typing.get_args(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(element, item) for element in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is list:
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return getattr(hint, "__name__", str(hint))


# ---- dataclass -> argparse -----------------------------------------------------------------------


def field_docs(cls: type) -> dict[str, tuple[str | None, str]]:
    """field name -> (group heading, docstring), read from the class source with ``ast``.

    The docstring is the string literal right under a field; the group is the nearest preceding
    ``# -- Heading --`` comment. Fields of base classes come first; ``metadata["help"]`` wins.
    """
    docs: dict[str, tuple[str | None, str]] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass) or klass is object:
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        class_node = ast.parse(source).body[0]
        body = getattr(class_node, "body", [])
        for index, node in enumerate(body):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            following = body[index + 1] if index + 1 < len(body) else None
            doc = ""
            if isinstance(following, ast.Expr) and isinstance(getattr(following, "value", None), ast.Constant):
                if isinstance(following.value.value, str):
                    doc = " ".join(inspect.cleandoc(following.value.value).split())
            group = None
            for line in reversed(lines[: node.lineno - 1]):
                stripped = line.strip()
                if stripped.startswith("# --") and stripped.endswith("--"):
                    group = stripped.strip("#- ").strip()
                    break
            docs[node.target.id] = (group, doc)
    for field in dataclasses.fields(cls):
        if "help" in field.metadata:
            docs[field.name] = (docs.get(field.name, (None, ""))[0], field.metadata["help"])
    return docs


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _parse_optional(kind: type):
    def parse(text: str):
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__
    return parse


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> argparse.ArgumentParser:
    """Add one ``--field`` per dataclass field of ``cls``, grouped like the class, help = field docstring.

    bool fields take ``--flag`` (true), ``--flag false``; list fields take several values;
    ``X | None`` fields also accept the word ``none``; fields without a default are required.
    """
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    groups: dict[str | None, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        group_name, doc = docs.get(field.name, (None, ""))
        if group_name not in groups:
            groups[group_name] = parser.add_argument_group(group_name) if group_name else parser
        target = groups[group_name]
        hint = hints[field.name]
        optional = False
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
            optional = len(args) < len(typing.get_args(hint))
            if len(args) != 1:
                raise TypeError(f"{cls.__name__}.{field.name}: cannot make a command-line flag for {hint}.")
            hint = args[0]
        kwargs: dict[str, Any] = {"help": doc or None, "dest": field.name}
        if field.default is not dataclasses.MISSING:
            kwargs["default"] = field.default
        elif field.default_factory is not dataclasses.MISSING:
            kwargs["default"] = field.default_factory()
        else:
            kwargs["required"] = True
        if "default" in kwargs and kwargs["help"]:
            kwargs["help"] += f" (default: {kwargs['default']})"
        if kwargs["help"]:
            kwargs["help"] = kwargs["help"].replace("%", "%%")
        if hint is bool:
            kwargs.update(type=_parse_bool, nargs="?", const=True, metavar="BOOL")
        elif typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            kwargs.update(type=item, nargs="+")
        elif typing.get_origin(hint) is Literal:
            choices = typing.get_args(hint)
            kwargs.update(type=type(choices[0]), choices=choices)
        elif hint in (int, float, str):
            kwargs["type"] = _parse_optional(hint) if optional else hint
        else:
            raise TypeError(f"{cls.__name__}.{field.name}: cannot make a command-line flag for {hint}.")
        target.add_argument(f"--{field.name}", **kwargs)
    return parser


def dataclass_from_namespace(cls: type, namespace: argparse.Namespace):
    """Build ``cls`` from the attributes of ``namespace`` that name its fields."""
    values = vars(namespace)
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.init and f.name in values})


def parse_dataclass(cls: type, args: list[str] | None = None):
    """Parse ``args`` (default: sys.argv[1:]) into an instance of ``cls``; unknown or abbreviated flags are errors."""
    description = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None
    parser = argparse.ArgumentParser(description=description, allow_abbrev=False)
    add_dataclass_arguments(parser, cls)
    return dataclass_from_namespace(cls, parser.parse_args(args))
