"""TrainingArguments: everything the Trainer needs to know, grouped and documented field by field.

No-torch layer: imports only the standard library. The same dataclass drives the command line
(``typed_dataclass.add_dataclass_arguments`` adds one ``--flag`` per field, grouped as below, with the
docstring under each field as its ``--help`` text). Every invalid value is reported in one error.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import typing
from typing import Any

from ..typed_dataclass import ProblemList, check_field_types, to_json_dict, to_json_string

STRATEGIES = ("no", "steps", "epoch")
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")
REPORT_SINKS = ("tensorboard", "jsonl")
NAN_POLICIES = ("error", "skip")

# On resume, the saved arguments are compared with the new ones. These take effect when changed (the optimizer's
# hyperparameters and the schedule are rebuilt at the resumed step) and one log line lists them:
RESUME_ADJUSTABLE_FIELDS = ("learning_rate", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "weight_decay",
                            "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "num_train_epochs",
                            "max_steps", "nan_policy")
# These decide which examples each step sees, so changing them cannot continue the same run: an error unless
# resume_with_changed_data=True (the same goes for the dataset length and the number of processes).
# The batch size per process and the accumulation may change when the examples per optimizer step do not (as when
# resuming on another number of processes): every later step then sees the same examples.
RESUME_FIXED_FIELDS = ("seed", "group_by_length", "dataloader_drop_last")
FSDP_OPTIONS = ("full_shard", "shard_grad_op", "hybrid_shard", "offload", "auto_wrap")


def fsdp_options(setting: str) -> list[str]:
    """The options of a ``fsdp`` setting ("full_shard auto_wrap" or "full_shard,auto_wrap" -> both names)."""
    return setting.replace(",", " ").split()


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
    nan_policy: str = "error"
    """A step whose loss or gradient norm is not finite is never applied: error stops training (naming the last
    checkpoint with finite weights), skip drops that step and goes on (the count is logged)."""

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
    """Checkpoint folder to resume from, or "last" for the newest one in output_dir (read by scripts and the CLI).
    Changed learning rate, schedule, warmup, weight decay, betas, epsilon, max_grad_norm and length take effect."""
    resume_with_changed_data: bool = False
    """Resume even when the examples per optimizer step (batch size x accumulation x processes), seed,
    group_by_length, drop_last or dataset length differ from the checkpoint's (an error otherwise); training
    continues from the next unseen example, but the data order then differs from an uninterrupted run's. The
    number of processes, batch size and accumulation may change freely when the examples per step stay equal."""

    # -- Reproducibility and precision --
    seed: int = 42
    """Seed for python, numpy and torch, and for the order of training batches."""
    bf16: bool = False
    """Compute in bfloat16 autocast (CPU and CUDA); weights and optimizer state stay float32."""
    fp16: bool = False
    """Compute in float16 autocast with a gradient scaler (CUDA only)."""
    use_cpu: bool = False
    """Train on the CPU even when a CUDA device is available."""

    # -- Distributed (launch with torchrun, or `tuneformers train --nproc_per_node N`) --
    local_rank: int = -1
    """This process's rank on its machine (-1: not distributed); torchrun's LOCAL_RANK is read when not given."""
    ddp_timeout: int = 1800
    """Seconds a collective (gradient all-reduce, barrier) waits for the other processes before the job fails."""
    fsdp: str = ""
    """Shard weights, gradients and optimizer state over the processes with FSDP2 (for models whose training state
    does not fit one device): full_shard, shard_grad_op (keep gathered weights until backward), hybrid_shard (shard
    within a machine, replicate across machines), optionally with offload (state on the CPU). Empty: plain DDP."""

    # -- Evaluation output --
    prediction_loss_only: bool = False
    """Evaluate and predict the loss only: no predictions gathered, no compute_metrics."""
    batch_eval_metrics: bool = False
    """Call compute_metrics(eval_prediction, compute_result) once per evaluation batch (all processes' rows of it),
    compute_result=True on the last, instead of once on every prediction: no process holds all predictions."""

    # -- Deprecated (HF v3/v4 spellings, mapped onto the fields above with a warning) --
    evaluate_during_training: bool = False
    """Deprecated: use eval_strategy='steps'."""
    evaluation_strategy: str | None = None
    """Deprecated: use eval_strategy."""
    per_gpu_train_batch_size: int | None = None
    """Deprecated: use per_device_train_batch_size."""
    per_gpu_eval_batch_size: int | None = None
    """Deprecated: use per_device_eval_batch_size."""
    no_cuda: bool = False
    """Deprecated: use use_cpu."""
    fp16_opt_level: str | None = None
    """Deprecated: apex opt levels do not apply; fp16 runs under torch.amp autocast with a gradient scaler."""

    def __post_init__(self) -> None:
        if isinstance(self.report_to, str):  # report_to="none" as HF scripts write it
            self.report_to = [self.report_to]
        if isinstance(self.fsdp, (list, tuple)):  # HF's list form, fsdp=["full_shard", "auto_wrap"]
            self.fsdp = " ".join(self.fsdp)
        elif isinstance(self.fsdp, bool):
            self.fsdp = "full_shard" if self.fsdp else ""
        check_field_types(self)
        self._apply_deprecated_names()
        if self.local_rank == -1 and "LOCAL_RANK" in os.environ:
            self.local_rank = int(os.environ["LOCAL_RANK"])
        problems = ProblemList(type(self).__name__)
        self._validate(problems)
        problems.raise_if_any()

    def _validate(self, problems: ProblemList) -> None:
        """Record every invalid value (and combination) in ``problems``; subclasses add their own checks."""
        for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     "logging_steps", "save_steps"):
            problems.check(getattr(self, name) >= 1, f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("learning_rate", "weight_decay", "adam_epsilon", "max_grad_norm", "num_train_epochs",
                     "warmup_ratio"):
            problems.finite(name, getattr(self, name))
        for name in ("learning_rate", "weight_decay", "adam_epsilon", "max_grad_norm", "num_train_epochs",
                     "warmup_steps", "dataloader_num_workers"):
            problems.check(not getattr(self, name) < 0, f"{name} must be >= 0, got {getattr(self, name)}.")
        for name in ("adam_beta1", "adam_beta2"):
            problems.check(0.0 <= getattr(self, name) < 1.0, f"{name} must be in [0, 1), got {getattr(self, name)}.")
        problems.check(0 <= self.seed < 2**32, f"seed must be in [0, 2**32), got {self.seed}.")
        problems.check(0.0 <= self.warmup_ratio < 1.0, f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}.")
        problems.check(self.max_steps > 0 or self.num_train_epochs > 0,
                       f"Nothing to train: max_steps={self.max_steps} and num_train_epochs={self.num_train_epochs}. "
                       "Set max_steps > 0 or num_train_epochs > 0.")
        problems.choice("eval_strategy", self.eval_strategy, STRATEGIES)
        problems.choice("save_strategy", self.save_strategy, STRATEGIES)
        problems.choice("lr_scheduler_type", self.lr_scheduler_type, SCHEDULERS)
        problems.choice("nan_policy", self.nan_policy, NAN_POLICIES)
        for sink in self.report_to:
            problems.choice("report_to", sink, REPORT_SINKS + ("all", "none"))
        problems.check(self.eval_steps is None or self.eval_steps >= 1,
                       f"eval_steps must be at least 1 or None, got {self.eval_steps}.")
        problems.check(self.save_total_limit is None or self.save_total_limit >= 1,
                       f"save_total_limit must be at least 1 or None (keep all), got {self.save_total_limit}; "
                       "use save_strategy='no' to save no checkpoints.")
        problems.check(not (self.bf16 and self.fp16), "bf16=True and fp16=True conflict: choose one mixed-precision mode.")
        problems.check(self.ddp_timeout >= 1, f"ddp_timeout must be at least 1 second, got {self.ddp_timeout}.")
        fsdp = fsdp_options(self.fsdp)
        for option in fsdp:
            problems.choice("fsdp", option, FSDP_OPTIONS)
        problems.check(sum(o in fsdp for o in ("full_shard", "shard_grad_op", "hybrid_shard")) <= 1,
                       f"fsdp={self.fsdp!r} names more than one sharding strategy: choose one of full_shard, "
                       "shard_grad_op, hybrid_shard.")
        problems.check(not (fsdp and self.fp16), "fsdp with fp16 is not supported (no sharded gradient scaler): "
                       "use bf16=True.")
        problems.check(not (self.warmup_steps > 0 and self.warmup_ratio > 0),
                       f"warmup_steps={self.warmup_steps} and warmup_ratio={self.warmup_ratio} conflict: set only one.")
        if self.load_best_model_at_end:
            if self.eval_strategy == "no" or self.save_strategy == "no":
                problems.add(
                    "load_best_model_at_end=True needs eval_strategy and save_strategy other than 'no', got "
                    f"eval_strategy={self.eval_strategy!r} and save_strategy={self.save_strategy!r}."
                )
            elif self.eval_strategy != self.save_strategy:
                problems.add(
                    f"load_best_model_at_end=True needs eval_strategy ({self.eval_strategy!r}) to equal "
                    f"save_strategy ({self.save_strategy!r}), so every checkpoint has a metric."
                )
            elif (self.save_strategy == "steps" and self.get_eval_steps() >= 1
                  and self.save_steps % self.get_eval_steps() != 0):
                problems.add(
                    f"load_best_model_at_end=True needs save_steps ({self.save_steps}) to be a multiple of "
                    f"eval_steps ({self.get_eval_steps()}), so every checkpoint has a metric."
                )

    def _apply_deprecated_names(self) -> None:
        """Map each v3/v4 spelling that was set onto today's field, with one warning naming both."""
        renames = {"evaluation_strategy": "eval_strategy", "per_gpu_train_batch_size": "per_device_train_batch_size",
                   "per_gpu_eval_batch_size": "per_device_eval_batch_size"}
        for old, new in renames.items():
            if getattr(self, old) is not None:
                _warn_deprecated(f"{old} is deprecated; use {new}={getattr(self, old)!r}.")
                setattr(self, new, getattr(self, old))
                setattr(self, old, None)
        if self.evaluate_during_training:
            _warn_deprecated("evaluate_during_training=True is deprecated; use eval_strategy='steps'.")
            self.eval_strategy, self.evaluate_during_training = "steps", False
        if self.no_cuda:
            _warn_deprecated("no_cuda=True is deprecated; use use_cpu=True.")
            self.use_cpu, self.no_cuda = True, False
        if self.fp16_opt_level is not None:
            _warn_deprecated(f"fp16_opt_level={self.fp16_opt_level!r} is ignored: there is no apex here; fp16=True "
                             "uses torch.amp autocast with a gradient scaler.")
            self.fp16_opt_level = None

    # ---- derived values -----------------------------------------------------------------------

    @property
    def device(self) -> Any:
        """The torch device this process trains on (imports torch)."""
        import torch

        if self.use_cpu or not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", max(self.local_rank, 0))

    @property
    def n_gpu(self) -> int:
        """GPUs this process uses: 1 on CUDA (one process per GPU, as torchrun runs it), 0 on the CPU."""
        return 1 if self.device.type == "cuda" else 0

    def to_sanitized_dict(self) -> dict[str, Any]:
        """The arguments with every value a TensorBoard hparam can hold (bool, int, float, str)."""
        return {key: value if isinstance(value, (bool, int, float, str)) else str(value)
                for key, value in self.to_dict().items()}

    def world_size(self) -> int:
        """Number of processes (torchrun sets WORLD_SIZE); 1 when not launched distributed."""
        return int(os.environ.get("WORLD_SIZE", "1"))

    @property
    def process_index(self) -> int:
        """This process's global rank (0 when not distributed)."""
        return int(os.environ.get("RANK", "0"))

    @property
    def local_process_index(self) -> int:
        """This process's rank on its machine (0 when not distributed)."""
        return int(os.environ.get("LOCAL_RANK", "0"))

    @property
    def should_save(self) -> bool:
        """True in the process that writes files (global rank 0)."""
        return self.process_index == 0

    @property
    def should_log(self) -> bool:
        """True in the process that logs (global rank 0)."""
        return self.process_index == 0

    @contextlib.contextmanager
    def main_process_first(self, local: bool = True, desc: str = "work") -> typing.Iterator[None]:
        """Run the block in the main process (of each machine when ``local``) first and in the others after it,
        e.g. so that one process per machine tokenizes and caches a dataset that the others then read."""
        if self.world_size() == 1:
            yield
            return
        from .distributed import barrier, init_distributed

        init_distributed(self.use_cpu, self.ddp_timeout)
        is_main = (self.local_process_index if local else self.process_index) == 0
        if not is_main:
            barrier()  # wait for the main process(es) to finish the block
        try:
            yield
        finally:
            if is_main:
                barrier()  # let the others run it

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
        return to_json_dict(self)

    def to_json_string(self) -> str:
        return to_json_string(self)


def _warn_deprecated(message: str) -> None:
    from ..utils import get_logger

    get_logger(__name__).warning(message)
