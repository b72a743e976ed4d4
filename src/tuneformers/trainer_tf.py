"""TFTrainer: fine-tune a TF model with Keras ``fit``, plus evaluation, metrics, TensorBoard and checkpoints.

A thin layer: ``train()`` batches the datasets (each batch padded to its own longest example), builds the
optimizer from the arguments (``create_optimizer``: AdamWeightDecay, warm-up + linear decay, gradient
clipping), compiles the model on its own task loss and calls ``model.fit`` with these callbacks:
``keras.callbacks.TensorBoard`` (train loss every ``logging_steps``), evaluation at each epoch end
(``eval_strategy="epoch"``; metrics logged as ``val_*``), and ``save_pretrained`` checkpoints
(``output_dir/checkpoint-<step>``). Extra Keras callbacks are passed through.

Datasets are unbatched ``tf.data.Dataset`` s of ``(features_dict, labels)``, e.g. from
``glue_convert_examples_to_features(tf_dataset, ...)``.

Distribution: the model's variables must live under ``args.strategy``. Either pass ``model_init`` (a function
returning the model; the trainer calls it inside the strategy scope) or build the model yourself inside
``with args.strategy.scope():``. ``strategy="mirrored"`` is a MirroredStrategy over all GPUs (or the CPU).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .trainer.training_args import TrainingArguments
from .constants import IGNORE_INDEX
from .trainer_utils import EvalPrediction, PredictionOutput, TrainOutput, concat_rows
from .typed_dataclass import ProblemList
from .utils import get_logger, require

tf = require("tensorflow", "tf", "TFTrainer")
keras = require("keras", "tf", "TFTrainer")

from .optimization_tf import create_optimizer  # noqa: E402

logger = get_logger(__name__)

TF_STRATEGIES = ("no", "epoch")
DISTRIBUTION_STRATEGIES = ("default", "mirrored", "one_device")
UNSUPPORTED_BY_TF = ("gradient_accumulation_steps", "group_by_length", "dataloader_num_workers", "dataloader_drop_last",
                     "label_names", "lr_scheduler_type", "logging_first_step", "eval_steps", "save_steps",
                     "load_best_model_at_end", "metric_for_best_model", "greater_is_better", "resume_from_checkpoint",
                     "bf16", "fp16", "use_cpu")


@dataclasses.dataclass
class TFTrainingArguments(TrainingArguments):
    """The shared TrainingArguments, plus the tf.distribute strategy. Fields TFTrainer has no use for must
    keep their defaults: setting one is an error naming it, never silently ignored."""

    # -- Checkpoints --
    save_strategy: str = "no"
    """When to save_pretrained a checkpoint (output_dir/checkpoint-<step>): no or epoch."""

    # -- Distribution --
    strategy: str = "default"
    """'default' (no distribution), 'mirrored' (all GPUs, else the CPU) or 'one_device'."""

    def _validate(self, problems: ProblemList) -> None:
        super()._validate(problems)
        problems.choice("eval_strategy", self.eval_strategy, TF_STRATEGIES)
        problems.choice("save_strategy", self.save_strategy, TF_STRATEGIES)
        problems.choice("strategy", self.strategy, DISTRIBUTION_STRATEGIES)
        defaults = {field.name: field.default for field in dataclasses.fields(TrainingArguments)
                    if field.default is not dataclasses.MISSING}
        for name in UNSUPPORTED_BY_TF:
            problems.check(getattr(self, name) == defaults[name],
                           f"TFTrainer does not support {name} (got {getattr(self, name)!r}); leave it at its "
                           f"default {defaults[name]!r} or train with the PyTorch Trainer.")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.strategy = StrategyName(self.strategy, self)

    def get_logging_dir(self) -> str:
        """TensorBoard folder; None means <output_dir>/logs (Keras writes train/ and validation/ under it)."""
        return self.logging_dir if self.logging_dir is not None else str(Path(self.output_dir) / "logs")

    @functools.cached_property
    def strategy_object(self) -> tf.distribute.Strategy:
        """The tf.distribute strategy; build or load the model inside ``args.strategy.scope()`` (HF scripts'
        spelling) or ``args.strategy_object.scope()``."""
        if self.strategy == "mirrored":
            gpus = tf.config.list_logical_devices("GPU")
            return tf.distribute.MirroredStrategy(devices=[d.name for d in gpus] or ["/cpu:0"])
        if self.strategy == "one_device":
            gpus = tf.config.list_logical_devices("GPU")
            return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
        return tf.distribute.get_strategy()

    @property
    def n_replicas(self) -> int:
        return self.strategy_object.num_replicas_in_sync

    def world_size(self) -> int:
        """Replicas of the strategy: per-device batch sizes are multiplied by it."""
        return self.n_replicas


class StrategyName(str):
    """The ``strategy`` field: its name ('mirrored', ...) as a string, and the tf.distribute.Strategy itself for
    everything else, so ``args.strategy == "mirrored"`` and ``with args.strategy.scope():`` both read naturally."""

    def __new__(cls, name: str, args: TFTrainingArguments) -> StrategyName:
        instance = super().__new__(cls, name)
        instance._args = args
        return instance

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self._args.strategy_object, attribute)

    def __reduce__(self):
        return str, (str(self),)


class TFTrainer:
    def __init__(
        self,
        model: Any = None,
        args: TFTrainingArguments | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        compute_metrics: Callable[[EvalPrediction], dict[str, float]] | None = None,
        callbacks: list[keras.callbacks.Callback] | None = None,
        model_init: Callable[[], Any] | None = None,
    ) -> None:
        self.args = args if args is not None else TFTrainingArguments()
        if (model is None) == (model_init is None):
            raise ValueError("TFTrainer needs exactly one of model= or model_init= (a function returning the model).")
        keras.utils.set_random_seed(self.args.seed)
        with self.args.strategy_object.scope():
            self.model = model if model is not None else model_init()
            self.model.build_weights()
        self._check_model_in_strategy()
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.compute_metrics = compute_metrics
        self.callbacks = list(callbacks or [])
        self.global_step = 0

    def _check_model_in_strategy(self) -> None:
        strategy = self.args.strategy_object
        if strategy.num_replicas_in_sync > 1 or self.args.strategy != "default":
            if not strategy.extended.variable_created_in_scope(self.model.weights[0].value):
                raise ValueError(
                    f"The model was built outside the {type(strategy).__name__} scope. Pass model_init=... "
                    "instead of model=, or build the model inside `with args.strategy_object.scope():`."
                )

    # ---- datasets ---------------------------------------------------------------------------------

    def _padding_values(self, dataset: Any) -> Any:
        """input_ids pad with the pad token, token-level labels with IGNORE_INDEX (skipped by the loss), the rest with 0."""
        pad_id = getattr(self.model.config, "pad_token_id", None) or 0
        has_labels = isinstance(dataset.element_spec, tuple)

        def value(path: tuple, spec: tf.TensorSpec) -> tf.Tensor:
            if path and path[-1] == "input_ids":
                return tf.constant(pad_id, spec.dtype)
            is_label = (has_labels and path[:1] == (1,)) or (path and path[-1] in ("labels",))
            if is_label and spec.dtype.is_integer and spec.shape.rank:
                return tf.constant(IGNORE_INDEX, spec.dtype)
            return tf.constant(0, spec.dtype)

        return _map_with_paths(value, dataset.element_spec)

    def _batched(self, dataset: Any, batch_size: int, shuffle: bool) -> Any:
        if dataset is None:
            raise ValueError("No dataset: pass train_dataset= / eval_dataset= to TFTrainer or to the method.")
        if any(isinstance(spec, tf.RaggedTensorSpec) for spec in tf.nest.flatten(dataset.element_spec)):
            dataset = dataset.map(_as_dense)  # rows sliced from a ragged tensor arrive as plain tensors in map
        if shuffle:
            dataset = dataset.shuffle(self._num_examples(dataset), seed=self.args.seed, reshuffle_each_iteration=True)
        return dataset.padded_batch(batch_size, padding_values=self._padding_values(dataset)).prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _num_examples(dataset: Any) -> int:
        count = int(dataset.cardinality())
        if count < 0:
            count = int(dataset.reduce(0, lambda total, _: total + 1))
        if count == 0:
            raise ValueError("The dataset is empty.")
        return count

    # ---- training ---------------------------------------------------------------------------------

    def train(self) -> TrainOutput:
        args = self.args
        steps_per_epoch = math.ceil(self._num_examples(self.train_dataset) / args.train_batch_size())
        total_steps = args.max_steps if args.max_steps > 0 else math.ceil(steps_per_epoch * args.num_train_epochs)
        epochs = math.ceil(total_steps / steps_per_epoch)
        with args.strategy_object.scope():
            optimizer, _ = create_optimizer(
                args.learning_rate, total_steps, args.get_warmup_steps(total_steps),
                adam_beta1=args.adam_beta1, adam_beta2=args.adam_beta2, adam_epsilon=args.adam_epsilon,
                weight_decay_rate=args.weight_decay, global_clipnorm=args.max_grad_norm or None,
            )
            self.model.compile(optimizer=optimizer)  # no Keras loss: the model's own task loss
        train_data = self._batched(self.train_dataset, args.train_batch_size(), shuffle=True).repeat()
        callbacks: list[keras.callbacks.Callback] = []
        if args.eval_strategy == "epoch":
            callbacks.append(_EvaluateCallback(self))
        if args.save_strategy == "epoch":
            callbacks.append(_CheckpointCallback(self))
        callbacks.append(_StopAtStep(self, total_steps))
        callbacks.append(keras.callbacks.TensorBoard(log_dir=args.get_logging_dir(), update_freq=args.logging_steps))
        callbacks.extend(self.callbacks)
        logger.info(f"Training {total_steps} steps ({epochs} epoch(s) of {steps_per_epoch}), batch {args.train_batch_size()}.")
        history = self.model.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=0)
        self.global_step = int(optimizer.iterations.numpy())
        losses = history.history.get("loss", [float("nan")])
        return TrainOutput(self.global_step, float(losses[-1]), dict(history.history))

    # ---- evaluation and prediction ----------------------------------------------------------------

    def evaluate(self, eval_dataset: Any = None) -> dict[str, float]:
        """Loss and ``compute_metrics`` on ``eval_dataset`` (default: the trainer's), keys prefixed ``eval_``."""
        output = self._prediction_loop(eval_dataset if eval_dataset is not None else self.eval_dataset, "eval")
        return output.metrics

    def predict(self, test_dataset: Any) -> PredictionOutput:
        """Predictions (logits) and, when the dataset has labels, label_ids and ``test_`` metrics."""
        return self._prediction_loop(test_dataset, "test")

    def _prediction_loop(self, dataset: Any, prefix: str) -> PredictionOutput:
        batches = self._batched(dataset, self.args.eval_batch_size(), shuffle=False)
        has_labels = isinstance(dataset.element_spec, tuple)
        step = self._prediction_step_function()
        predictions, labels, losses, sizes = [], [], [], []
        for batch in batches:
            features, batch_labels = batch if has_labels else (batch, None)
            loss, prediction = step(features, batch_labels)
            predictions.append(tf.nest.map_structure(np.asarray, prediction))
            size = int(tf.shape(features["input_ids"])[0])
            sizes.append(size)
            if batch_labels is not None:
                labels.append(tf.nest.map_structure(np.asarray, batch_labels))
                losses.append(float(loss))
        predictions = concat_rows(predictions)
        label_ids = concat_rows(labels) if labels else None
        metrics: dict[str, float] = {}
        if losses:
            metrics[f"{prefix}_loss"] = float(np.average(losses, weights=sizes))
        if self.compute_metrics is not None and label_ids is not None:
            for key, value in self.compute_metrics(EvalPrediction(predictions, label_ids)).items():
                metrics[key if key.startswith(f"{prefix}_") else f"{prefix}_{key}"] = float(value)
        return PredictionOutput(predictions, label_ids, metrics)

    def _prediction_step_function(self):
        if getattr(self, "_prediction_step", None) is None:
            model = self.model

            @tf.function(reduce_retracing=True)
            def prediction_step(features, labels):
                outputs = model(features, training=False)
                loss = model.task_loss(labels, outputs) if labels is not None else tf.constant(0.0)
                return loss, model.keras_prediction(outputs)

            self._prediction_step = prediction_step
        return self._prediction_step

    def save_model(self, output_dir: str | None = None) -> Path:
        return self.model.save_pretrained(output_dir or self.args.output_dir)


def _as_dense(*element: Any) -> Any:
    return element if len(element) > 1 else element[0]


def _map_with_paths(function: Callable, structure: Any, path: tuple = ()) -> Any:
    if isinstance(structure, dict):
        return {key: _map_with_paths(function, value, (*path, key)) for key, value in structure.items()}
    if isinstance(structure, (tuple, list)):
        return type(structure)(_map_with_paths(function, value, (*path, index)) for index, value in enumerate(structure))
    return function(path, structure)


class _EvaluateCallback(keras.callbacks.Callback):
    """At each epoch end: trainer.evaluate(); results go into the epoch logs as val_<metric>."""

    def __init__(self, trainer: TFTrainer) -> None:
        super().__init__()
        self.trainer = trainer

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = self.trainer.evaluate()
        logger.info(f"epoch {epoch + 1}: {metrics}")
        if logs is not None:
            logs.update({"val_" + key.removeprefix("eval_"): value for key, value in metrics.items()})


class _CheckpointCallback(keras.callbacks.Callback):
    """At each epoch end: save_pretrained to output_dir/checkpoint-<step>, keeping save_total_limit of them."""

    def __init__(self, trainer: TFTrainer) -> None:
        super().__init__()
        self.trainer = trainer

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        args = self.trainer.args
        step = int(self.model.optimizer.iterations.numpy())
        self.trainer.model.save_pretrained(Path(args.output_dir) / f"checkpoint-{step}")
        if args.save_total_limit:
            checkpoints = sorted(Path(args.output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
            for old in checkpoints[: -args.save_total_limit]:
                shutil.rmtree(old, ignore_errors=True)


class _StopAtStep(keras.callbacks.Callback):
    def __init__(self, trainer: TFTrainer, total_steps: int) -> None:
        super().__init__()
        self.total_steps = total_steps

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if int(self.model.optimizer.iterations.numpy()) >= self.total_steps:
            self.model.stop_training = True
