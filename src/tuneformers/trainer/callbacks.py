"""Callbacks: read ``TrainerState``, set ``TrainerControl`` flags, write logs to sinks.

The Trainer calls every callback at fixed points of its loop (``on_step_end``, ``on_log``, ...) with
``(args, state, control, **kwargs)``. A callback never touches the loop itself: it asks for a log,
an evaluation, a save or a stop by setting a flag on ``control``; the Trainer acts on the flags
right after the call. ``DefaultFlowCallback`` turns the logging/eval/save strategies into flags.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

from ..utils import atomic_write_text, get_logger, require
from .training_args import TrainingArguments

logger = get_logger(__name__)



@dataclasses.dataclass
class TrainerState:
    """Where training stands; saved as trainer_state.json in every checkpoint."""

    epoch: float = 0.0
    """Fractional epochs done."""
    global_step: int = 0
    """Optimizer steps done."""
    max_steps: int = 0
    num_train_epochs: int = 0
    steps_in_epoch: int = 0
    """Optimizer steps done in the current epoch."""
    samples_in_epoch: int = 0
    """Examples of the current epoch's order done, over all processes: where a resumed run continues, whatever its
    number of processes."""
    steps_per_epoch: int = 0
    train_batch_size: int = 0
    """Examples per optimizer step, all processes and accumulation included."""
    logging_steps: int = 0
    eval_steps: int = 0
    save_steps: int = 0
    log_history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    best_metric: float | None = None
    best_model_checkpoint: str | None = None
    num_input_tokens_seen: int = 0
    total_flos: float = 0.0
    train_loss_sum: float = 0.0
    """Sum of the step losses of the whole run (resumes included); train_loss is train_loss_sum / train_loss_steps."""
    train_loss_steps: int = 0
    skipped_steps: int = 0
    """Steps not applied because their loss or gradient norm was not finite (nan_policy='skip')."""
    weights_finite: bool = False
    """True in a checkpoint whose weights were verified finite when it was written."""
    is_world_process_zero: bool = True
    """False on every process but rank 0, which alone logs and saves."""

    def save_to_json(self, path: str | os.PathLike) -> None:
        fields = _finite(dataclasses.asdict(self))
        fields.pop("is_world_process_zero")
        atomic_write_text(path, json.dumps(fields, indent=2, sort_keys=True, allow_nan=False) + "\n")

    @classmethod
    def load_from_json(cls, path: str | os.PathLike) -> TrainerState:
        """Read trainer_state.json; a damaged or mistyped file raises ValueError naming the file and the fix."""
        from ..typed_dataclass import check_field_types

        fix = "The checkpoint is damaged: resume from another checkpoint, or delete this one."
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problem = "is empty" if not Path(path).stat().st_size else f"is not valid JSON ({error})"
            raise ValueError(f"{path} {problem}. {fix}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a JSON object, got a {type(data).__name__}. {fix}")
        known = {f.name for f in dataclasses.fields(cls)}
        state = cls(**{key: value for key, value in data.items() if key in known})
        try:
            check_field_types(state)
        except TypeError as error:
            raise ValueError(f"{path} has values of the wrong type: {error} {fix}") from None
        if not all(isinstance(entry, dict) for entry in state.log_history):
            raise ValueError(f"{path}: log_history must be a list of objects. {fix}")
        if "samples_in_epoch" not in data:  # written before the position was kept: every step was a full one
            state.samples_in_epoch = state.steps_in_epoch * state.train_batch_size
        return state


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so the JSON stays standard."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


@dataclasses.dataclass
class TrainerControl:
    """Flags callbacks set to steer the loop; the Trainer resets each one after acting on it."""

    should_training_stop: bool = False
    should_epoch_stop: bool = False
    should_log: bool = False
    should_evaluate: bool = False
    should_save: bool = False


class TrainerCallback:
    """Base class: override the events you need; each gets ``(args, state, control, **kwargs)``.

    kwargs hold ``model``, ``optimizer``, ``lr_scheduler``, ``train_dataloader``, and ``logs`` /
    ``metrics`` for on_log / on_evaluate. Return nothing; set flags on ``control`` instead.
    """

    def on_init_end(self, args, state, control, **kwargs): ...
    def on_train_begin(self, args, state, control, **kwargs): ...
    def on_train_end(self, args, state, control, **kwargs): ...
    def on_epoch_begin(self, args, state, control, **kwargs): ...
    def on_epoch_end(self, args, state, control, **kwargs): ...
    def on_step_begin(self, args, state, control, **kwargs): ...
    def on_step_end(self, args, state, control, **kwargs): ...
    def on_evaluate(self, args, state, control, **kwargs): ...
    def on_predict(self, args, state, control, **kwargs): ...
    def on_prediction_step(self, args, state, control, **kwargs): ...
    def on_save(self, args, state, control, **kwargs): ...
    def on_log(self, args, state, control, **kwargs): ...


class CallbackHandler:
    """Calls each event on every callback in order."""

    def __init__(self, callbacks: list[TrainerCallback]):
        self.callbacks = list(callbacks)

    def add(self, callback: TrainerCallback | type) -> None:
        self.callbacks.append(callback() if isinstance(callback, type) else callback)

    def pop(self, kind: type) -> TrainerCallback | None:
        for callback in self.callbacks:
            if isinstance(callback, kind):
                self.callbacks.remove(callback)
                return callback
        return None

    def call(self, event: str, args, state, control, **kwargs) -> TrainerControl:
        for callback in self.callbacks:
            getattr(callback, event)(args, state, control, **kwargs)
        return control


class DefaultFlowCallback(TrainerCallback):
    """Sets should_log / should_evaluate / should_save from the logging, eval and save strategies."""

    def on_step_end(self, args: TrainingArguments, state, control, **kwargs):
        step = state.global_step
        if step % state.logging_steps == 0 or (step == 1 and args.logging_first_step):
            control.should_log = True
        if args.eval_strategy == "steps" and step % state.eval_steps == 0:
            control.should_evaluate = True
        if args.save_strategy == "steps" and step % state.save_steps == 0:
            control.should_save = True
        if step >= state.max_steps:
            control.should_training_stop = True
            control.should_log = True
            control.should_evaluate |= args.eval_strategy == "steps"
            control.should_save |= args.save_strategy == "steps"

    def on_epoch_end(self, args: TrainingArguments, state, control, **kwargs):
        if args.eval_strategy == "epoch":
            control.should_evaluate = True
        if args.save_strategy == "epoch":
            control.should_save = True


class EarlyStoppingCallback(TrainerCallback):
    """Stop training when ``metric_for_best_model`` has not improved by more than ``threshold``
    for ``patience`` evaluations in a row."""

    def __init__(self, early_stopping_patience: int = 1, early_stopping_threshold: float = 0.0):
        if early_stopping_patience < 1:
            raise ValueError(f"early_stopping_patience must be at least 1, got {early_stopping_patience}.")
        self.patience = early_stopping_patience
        self.threshold = early_stopping_threshold
        self.best: float | None = None
        self.bad_evaluations = 0

    def on_train_begin(self, args: TrainingArguments, state, control, **kwargs):
        if args.eval_strategy == "no":
            raise ValueError("EarlyStoppingCallback needs evaluations: set eval_strategy to 'steps' or 'epoch'.")

    def on_evaluate(self, args: TrainingArguments, state, control, metrics=None, **kwargs):
        name = args.best_metric_name()
        if not metrics or name not in metrics:
            logger.warning(f"EarlyStoppingCallback: metric {name!r} missing from {sorted(metrics or {})}; not stopping.")
            return
        value = metrics[name]
        greater = args.best_metric_greater()
        improved = self.best is None or (value > self.best + self.threshold if greater else value < self.best - self.threshold)
        if improved:
            self.best, self.bad_evaluations = value, 0
        else:
            self.bad_evaluations += 1
            if self.bad_evaluations >= self.patience:
                logger.info(f"Early stopping at step {state.global_step}: {name} has not improved for "
                            f"{self.bad_evaluations} evaluations (best {self.best}).")
                control.should_training_stop = True


# ---- log sinks ---------------------------------------------------------------------------------------


def _format_logs(logs: dict[str, Any]) -> str:
    return " ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}" for key, value in logs.items())


class ProgressCallback(TrainerCallback):
    """tqdm bars for training (starting at the resumed step, the skip shown) and evaluation."""

    def __init__(self):
        self.train_bar = None
        self.eval_bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from tqdm.auto import tqdm

        description = "train"
        if state.global_step:
            description = f"train (resumed at step {state.global_step}, skipped {state.steps_in_epoch} steps of epoch)"
        self.train_bar = tqdm(total=state.max_steps, initial=state.global_step, desc=description, dynamic_ncols=True)

    def on_step_end(self, args, state, control, **kwargs):
        if self.train_bar is not None:
            self.train_bar.update(state.global_step - self.train_bar.n)

    def on_prediction_step(self, args, state, control, num_batches=None, **kwargs):
        if not state.is_world_process_zero:
            return
        if self.eval_bar is None:
            from tqdm.auto import tqdm

            self.eval_bar = tqdm(total=num_batches, desc="eval", leave=self.train_bar is None, dynamic_ncols=True)
        self.eval_bar.update(1)

    def _close_eval(self):
        if self.eval_bar is not None:
            self.eval_bar.close()
            self.eval_bar = None

    def on_evaluate(self, args, state, control, **kwargs):
        self._close_eval()

    def on_predict(self, args, state, control, **kwargs):
        self._close_eval()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            from tqdm.auto import tqdm

            tqdm.write(_format_logs(logs))

    def on_train_end(self, args, state, control, **kwargs):
        if self.train_bar is not None:
            self.train_bar.close()
            self.train_bar = None


class PrinterCallback(TrainerCallback):
    """Plain log lines (used when disable_tqdm=True)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            print(_format_logs(logs), flush=True)


class TensorBoardCallback(TrainerCallback):
    """Scalars under ``args.get_logging_dir()``: train/loss, train/learning_rate, eval/..., one point per step."""

    def __init__(self):
        require("tensorboard", "train", "TensorBoard logging (report_to='tensorboard')")
        self.writer = None

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.writer is None:
            import sys
            import types

            # tensorboard writes event files without TensorFlow but imports it when installed;
            # its documented switch `tensorboard.compat.notf` keeps the PyTorch layer free of it.
            if "tensorflow" not in sys.modules:
                sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
            from torch.utils.tensorboard import SummaryWriter

            # A resumed run continues the event files from its checkpoint's step: points a killed run logged
            # after that step are dropped by TensorBoard (purge_step), so each step keeps one value.
            resumed_after = state.global_step + 1 if state.global_step > 0 else None
            self.writer = SummaryWriter(log_dir=args.get_logging_dir(), purge_step=resumed_after)
            self.writer.add_text("args", args.to_json_string())

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.writer is None or not logs:
            return
        for key, value in logs.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in ("step", "epoch"):
                tag = f"eval/{key[5:]}" if key.startswith("eval_") else f"train/{key}"
                self.writer.add_scalar(tag, value, state.global_step)
        self.writer.flush()

    def on_train_end(self, args, state, control, **kwargs):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class JsonLogCallback(TrainerCallback):
    """Appends each log dict as one JSON line to <output_dir>/log.jsonl.

    The file is one timeline: when training starts it is rewritten as the state's log history (empty for a
    new run, the checkpoint's for a resumed one), so entries a killed run wrote after its last checkpoint go.
    """

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.output_dir) / "log.jsonl",
                          "".join(json.dumps(_finite(logs)) + "\n" for logs in state.log_history))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        Path(args.output_dir).mkdir(parents=True, exist_ok=True)
        clean = _finite(logs)
        with open(Path(args.output_dir) / "log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(clean) + "\n")


def default_callbacks(args: TrainingArguments) -> list[TrainerCallback]:
    """Flow control, console output and the report_to sinks."""
    import importlib.util

    installed = [sink for sink in ("tensorboard", "jsonl") if sink == "jsonl" or importlib.util.find_spec(sink)]
    sinks = {"tensorboard": TensorBoardCallback, "jsonl": JsonLogCallback}
    callbacks: list[TrainerCallback] = [DefaultFlowCallback(), PrinterCallback() if args.disable_tqdm else ProgressCallback()]
    chosen = args.report_sinks(installed)
    if args.logging_dir is not None and "tensorboard" not in installed and "none" not in args.report_to:
        _warn_once("TensorBoard logging is off because the tensorboard package is not installed, so no event files "
                   f"go to {args.get_logging_dir()}. Install it with: pip install 'tuneformers[train]'")
    callbacks += [sinks[name]() for name in chosen]
    return callbacks


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)
