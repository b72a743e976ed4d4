"""Trainer: train, evaluate and predict with any ``nn.Module`` whose first output is the loss.

``Trainer.train`` holds the whole training step in one loop that reads top to bottom: batch ->
forward -> loss scaled for accumulation -> backward -> clip -> optimizer step -> schedule ->
zero_grad -> log / evaluate / save. Two extension points: override ``compute_loss``, or pass
callbacks that read ``TrainerState`` and set ``TrainerControl`` flags (see callbacks.py).
Checkpoint files live in checkpoint.py; the output folder's lock, debris and timeline in
output_folder.py; seeding, the batch plan and distributed helpers in utils.py.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader

from ..constants import (CHECKPOINT_PREFIX, IGNORE_INDEX, RNG_JSON_NAME, RNG_TENSORS_NAME, TRAINER_STATE_NAME,
                         TRAINING_ARGS_NAME)
from ..trainer_utils import EvalPrediction, PredictionOutput, TrainOutput, concat_rows
from ..utils import atomic_write_text, get_logger
from . import checkpoint as ckpt
from .output_folder import clean_debris, output_folder_lock, set_aside_later_checkpoints
from .callbacks import CallbackHandler, TrainerCallback, TrainerControl, TrainerState, default_callbacks
from .training_args import TrainingArguments
from .distributed import (all_reduce_sum, all_true, barrier, broadcast_from_rank_zero, full_state_dict,
                          gather_objects, gather_to_rank_zero, init_distributed, is_sharded, load_sharded,
                          local_tensor, peer_failures_named, shard_model)
from .utils import (BatchCollator, ThroughputMeter, epoch_batches, example_lengths, get_rng_state,
                    interleave_ranks, num_rows, peak_flops, rows_in_place, set_rng_state, set_seed, to_host)

logger = get_logger(__name__)

_OUTPUT_KEYS_IGNORED = ("loss", "hidden_states", "attentions")


class Trainer:
    """Fine-tune ``model`` on ``train_dataset``; evaluate on ``eval_dataset``.

    Datasets: anything with ``__len__`` and ``__getitem__(int)`` (a torch Dataset, a list of dicts,
    an HF ``datasets.Dataset``). ``data_collator``: a callable from a list of examples to a batch
    dict; the default pads dynamically with ``tokenizer`` when one is given and stacks otherwise.
    ``optimizers=(optimizer, scheduler)`` replaces the default AdamW + ``args.lr_scheduler_type``.
    ``preprocess_logits_for_metrics(logits, labels)`` shrinks each evaluation batch's outputs before
    they are kept for ``compute_metrics`` (e.g. B T V language-model logits to top-k ids).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        args: TrainingArguments | None = None,
        data_collator: Callable | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        tokenizer: Any = None,
        compute_metrics: Callable[[EvalPrediction], dict[str, float]] | None = None,
        callbacks: list[TrainerCallback] | None = None,
        optimizers: tuple[Any, Any] = (None, None),
        processing_class: Any = None,
        preprocess_logits_for_metrics: Callable[[Any, Any], Any] | None = None,
        prediction_loss_only: bool | None = None,
    ):
        if model is None:
            raise ValueError("Trainer needs a model: an nn.Module whose first output is the loss.")
        self.args = args = args if args is not None else TrainingArguments()
        if prediction_loss_only is not None:  # the v3 keyword; today a TrainingArguments field
            args.prediction_loss_only = prediction_loss_only
        self.rank, self.world_size, self.device = init_distributed(args.use_cpu, args.ddp_timeout)
        if args.fp16 and self.device.type != "cuda":
            raise ValueError("fp16=True needs a CUDA device (it uses a GradScaler); on the CPU use bf16=True instead.")
        set_seed(args.seed)
        self.model = model.to(self.device)
        self.model_wrapped = self.model
        self.processing_class = processing_class if processing_class is not None else tokenizer
        if data_collator is None:
            from ..data.data_collator import DataCollatorWithPadding, default_data_collator

            tok = self.processing_class
            data_collator = DataCollatorWithPadding(tok) if tok is not None else default_data_collator
        self.data_collator = data_collator
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        self.compute_metrics = compute_metrics
        self.preprocess_logits_for_metrics = preprocess_logits_for_metrics
        self.optimizer, self.lr_scheduler = optimizers
        self._owns_optimizer = optimizers == (None, None)  # only then can changed hyperparameters be applied on resume
        self.scaler = torch.amp.GradScaler("cuda") if args.fp16 else None
        forward = inspect.signature(self.model.forward).parameters
        self.label_names = args.get_label_names(forward)
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in forward.values())
        keep = set(forward) | set(self.label_names) | {"label", "label_ids", "labels"}
        self._collate = BatchCollator(self.data_collator, None if takes_any or not args.remove_unused_columns else keep)
        self._lengths: list[int] | None = None
        self._eval_lengths_of: tuple[Any, list[int] | None] | None = None
        self.state = TrainerState(is_world_process_zero=self.rank == 0)
        self.control = TrainerControl()
        self.callback_handler = CallbackHandler(default_callbacks(args) + list(callbacks or []))
        self._call("on_init_end")

    # ---- callbacks --------------------------------------------------------------------------------

    def add_callback(self, callback: TrainerCallback | type) -> None:
        self.callback_handler.add(callback)

    def pop_callback(self, kind: type) -> TrainerCallback | None:
        return self.callback_handler.pop(kind)

    def _call(self, event: str, **kwargs) -> TrainerControl:
        return self.callback_handler.call(event, self.args, self.state, self.control, model=self.model,
                                          optimizer=self.optimizer, lr_scheduler=self.lr_scheduler, **kwargs)

    # ---- training ---------------------------------------------------------------------------------

    def train(self, resume_from_checkpoint: str | bool | None = None, model_path: str | None = None) -> TrainOutput:
        """Train; ``resume_from_checkpoint`` is a checkpoint folder, or True for the newest in output_dir.

        A plain model folder (no trainer state, as HF v4 scripts pass the model path) loads its weights and trains
        from step 0. ``model_path`` is the HF v3 spelling of the same argument. The output folder is locked for
        the run (a second run into it gets OutputFolderLockedError), cleaned of interrupted saves, and holds one
        timeline: checkpoints past the step this run starts from are moved aside.
        """
        if model_path is not None:
            if resume_from_checkpoint is not None:
                raise ValueError("Pass resume_from_checkpoint or model_path (its v3 name), not both.")
            resume_from_checkpoint = model_path
        dataset = _require_dataset(self.train_dataset, "train_dataset", "train()")
        if self.args.eval_strategy != "no" and self.eval_dataset is None:
            raise ValueError(f"eval_strategy={self.args.eval_strategy!r} needs an eval_dataset: pass eval_dataset= to "
                             "the Trainer, or set eval_strategy='no'.")
        with output_folder_lock(self.args.output_dir) if self.rank == 0 else contextlib.nullcontext():
            if self.rank == 0:
                clean_debris(self.args.output_dir)
            barrier()
            return self._train(dataset, resume_from_checkpoint)

    def _train(self, dataset: Any, resume_from_checkpoint: str | bool | None) -> TrainOutput:
        args = self.args
        checkpoint = self._find_checkpoint(resume_from_checkpoint)
        accumulation = args.gradient_accumulation_steps
        num_batches = len(self._batch_plan(dataset, epoch=0))
        if num_batches == 0:
            raise ValueError(f"train_dataset has {len(dataset)} examples: not one full batch of "
                             f"{args.train_batch_size()} with dataloader_drop_last=True.")
        steps_per_epoch = math.ceil(num_batches / accumulation)
        if args.max_steps > 0:
            max_steps, num_epochs = args.max_steps, math.ceil(args.max_steps / steps_per_epoch)
        else:
            max_steps, num_epochs = math.ceil(args.num_train_epochs * steps_per_epoch), math.ceil(args.num_train_epochs)
        if checkpoint is not None and not (checkpoint / TRAINER_STATE_NAME).is_file():
            logger.info(f"{checkpoint} is a model folder, not a checkpoint: training its weights from step 0.")
            if not hasattr(self.model, "load_weights_from"):
                raise ValueError(f"resume_from_checkpoint={str(checkpoint)!r} is a model folder; loading it needs a "
                                 "PreTrainedModel (this model has no load_weights_from).")
            self.model.load_weights_from(checkpoint)
            checkpoint = None
        model = self._wrap_model()  # before the optimizer: FSDP replaces the parameters with their shards
        self._create_optimizer_and_scheduler(max_steps)
        self.state = state = TrainerState(
            max_steps=max_steps, num_train_epochs=num_epochs, steps_per_epoch=steps_per_epoch,
            train_batch_size=args.total_train_batch_size(), logging_steps=args.logging_steps,
            eval_steps=args.get_eval_steps(), save_steps=args.save_steps, is_world_process_zero=self.rank == 0)
        if checkpoint is not None:
            self._load_checkpoint(checkpoint)  # restores weights, optimizer, scheduler, state and RNG
        if self.rank == 0:
            set_aside_later_checkpoints(args.output_dir, state.global_step)
        barrier()
        self.control = TrainerControl()
        meter = ThroughputMeter(self.device)
        start_time = time.perf_counter()
        start_step = state.global_step
        loss_since_log, applied_since_log, grad_norm = torch.zeros((), device=self.device), 0, None
        self._run_loss_sum = torch.tensor(state.train_loss_sum, device=self.device)  # state holds it as of the save
        step_examples = args.total_train_batch_size()
        first_epoch, position = self._resume_position()
        self._call("on_train_begin")
        for epoch in range(first_epoch, num_epochs):
            if state.global_step >= max_steps:
                break
            start = position if epoch == first_epoch else 0  # global sample position in this epoch's order
            plan = self._batch_plan(dataset, epoch, start=start)
            loader = self._loader(dataset, plan, seed=args.seed + epoch)
            epoch_first_step = state.global_step - math.ceil(start / step_examples)
            state.samples_in_epoch = start
            self._call("on_epoch_begin")
            micro_batches = []
            for index, (indices, batch) in enumerate(zip(plan, loader)):
                micro_batches.append(batch)
                state.samples_in_epoch += len(indices) * self.world_size
                if len(micro_batches) < accumulation and index < len(plan) - 1:
                    continue
                self._call("on_step_begin")
                with peer_failures_named(f"training step {state.global_step + 1}"):
                    step_loss, grad_norm, applied = self._training_step(model, micro_batches, meter)
                micro_batches = []
                if applied:
                    loss_since_log += step_loss
                    self._run_loss_sum += step_loss
                    applied_since_log += 1
                    state.train_loss_steps += 1

                state.global_step += 1
                state.steps_in_epoch = state.global_step - epoch_first_step
                state.epoch = epoch + state.steps_in_epoch / steps_per_epoch
                self._call("on_step_end")
                if self.control.should_log:
                    mean_loss = loss_since_log.item() / applied_since_log if applied_since_log else float("nan")
                    self._log_training(mean_loss, grad_norm, meter)
                    loss_since_log.zero_()
                    applied_since_log = 0
                self._evaluate_and_save()
                if self.control.should_training_stop or self.control.should_epoch_stop:
                    break
            self.control.should_epoch_stop = False
            self._call("on_epoch_end")
            self._evaluate_and_save()
            if self.control.should_training_stop:
                break

        runtime = time.perf_counter() - start_time
        if args.load_best_model_at_end and state.best_model_checkpoint:
            logger.info(f"Loading the best model from {state.best_model_checkpoint} ({args.best_metric_name()}="
                        f"{state.best_metric}).")
            self._load_model_weights(Path(state.best_model_checkpoint))
        state.train_loss_sum = float(self._run_loss_sum)
        train_loss = state.train_loss_sum / state.train_loss_steps if state.train_loss_steps else float("nan")
        steps_done = state.global_step - start_step
        metrics = {"train_runtime": runtime, "train_loss": train_loss,
                   "train_samples_per_second": steps_done * args.total_train_batch_size() / runtime,
                   "train_steps_per_second": steps_done / runtime, "total_flos": state.total_flos, "epoch": state.epoch}
        if state.skipped_steps:
            metrics["skipped_steps"] = state.skipped_steps
        self.log(metrics)
        self._call("on_train_end")
        self.model_wrapped = self.model
        return TrainOutput(state.global_step, train_loss, metrics)

    def _training_step(self, model: torch.nn.Module, micro_batches: list[dict[str, Any]],
                       meter: ThroughputMeter) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        """One optimizer step over ``micro_batches``: (loss summed over processes, gradient norm, applied?)."""
        # Loss of each micro-batch weighted by its share of the labelled items of the whole step
        # (all processes), so that the gradient equals that of one big batch.
        counts = [self._count_items(b) for b in micro_batches]  # from the host copies: no device sync
        total = float(sum(counts))
        if self.world_size > 1:
            total = all_reduce_sum(torch.tensor(total, device=self.device)).item()
        total = max(total, 1.0)
        step_loss = torch.zeros((), device=self.device)
        for i, (batch, count) in enumerate(zip(micro_batches, counts)):
            meter.add(batch)
            batch = self._to_device(batch)
            with self._no_sync(model, last=i == len(micro_batches) - 1):
                with self._autocast():
                    loss = self.compute_loss(model, batch)
                loss = loss * (count / total) if count != total else loss
                scaled = loss * self.world_size if self.world_size > 1 else loss  # DDP and FSDP average gradients
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            step_loss += loss.detach().float()
        step_loss = all_reduce_sum(step_loss)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        grad_norm = self._clip_gradients(model)
        # fp16: the scaler skips steps with non-finite gradients itself, so only the loss is checked.
        applied = self._step_is_finite(step_loss, None if self.scaler else grad_norm)
        if applied and self.scaler:
            self.scaler.step(self.optimizer)
        elif applied:
            self.optimizer.step()
        if self.scaler:
            self.scaler.update()
        self.lr_scheduler.step()
        model.zero_grad(set_to_none=True)
        return step_loss, grad_norm, applied

    def _resume_position(self) -> tuple[int, int]:
        """(epoch, global sample position in its order) to continue from; (0, 0) for a fresh run."""
        state = self.state
        epoch = math.floor(state.epoch)
        if state.epoch == epoch:  # fresh (epoch 0.0), or a whole number of epochs done
            return epoch, 0
        return epoch, state.samples_in_epoch

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False):
        """The mean loss of one batch: ``model(**inputs)``'s first output. Override for a custom loss
        (return the mean over the batch's labelled items; accumulation weights it by their count)."""
        missing = [name for name in self.label_names if name not in inputs]
        if missing:
            raise KeyError(
                f"The batch has no {missing} (its keys: {sorted(inputs)}), so the model cannot compute a loss. "
                "Give each example a 'labels' (or 'label') field, or set TrainingArguments.label_names "
                "to the key(s) that hold the labels."
            )
        outputs = model(**inputs)
        loss = _first_output(outputs)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"{type(_unwrap(model)).__name__} returned {type(outputs).__name__} whose first output is "
                             "not a scalar loss; the Trainer needs model(**batch)[0] (or .loss) to be the loss.")
        return (loss, outputs) if return_outputs else loss

    def _log_training(self, loss: float, grad_norm: torch.Tensor | None, meter: ThroughputMeter) -> None:
        """Log loss, learning rate, grad norm, samples/s, tokens/s and (on known GPUs) MFU since the last log."""
        logs = {"loss": loss, "learning_rate": self.lr_scheduler.get_last_lr()[0]}
        if grad_norm is not None:
            logs["grad_norm"] = float(grad_norm)
        samples, tokens, seconds = meter.read_and_reset()  # summed over processes
        logs["samples_per_second"] = samples / seconds
        if tokens:
            logs["tokens_per_second"] = tokens / seconds
            flops = 6.0 * sum(p.numel() for p in self.model.parameters()) * tokens  # forward + backward estimate
            peak = peak_flops(self.device)
            if peak is not None:  # model FLOPs utilisation; no CPU figure (see utils.peak_flops)
                logs["mfu"] = flops / seconds / (peak * self.world_size)
            self.state.num_input_tokens_seen += tokens
            self.state.total_flos += flops
        self.log(logs)

    def _evaluate_and_save(self) -> None:
        control = self.control
        metrics = None
        if control.should_evaluate:
            control.should_evaluate = False
            with peer_failures_named(f"evaluation at step {self.state.global_step}"):
                metrics = self.evaluate()
        if control.should_save:
            control.should_save = False
            with peer_failures_named(f"saving the checkpoint of step {self.state.global_step}"):
                self._save_checkpoint(metrics)
        control.should_log = False

    def _clip_gradients(self, model: torch.nn.Module) -> torch.Tensor | None:
        """The global gradient norm (one fused norm, no host sync), clipping to max_grad_norm when it is > 0."""
        if self.args.max_grad_norm > 0:
            return local_tensor(torch.nn.utils.clip_grad_norm_(model.parameters(), self.args.max_grad_norm))
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        return local_tensor(torch.nn.utils.get_total_norm(grads)) if grads else None

    def _step_is_finite(self, step_loss: torch.Tensor, grad_norm: torch.Tensor | None) -> bool:
        """True when the loss and gradient norm are finite (one host sync); else skip (nan_policy='skip') or stop."""
        if bool(torch.isfinite(step_loss if grad_norm is None else step_loss + grad_norm)):
            return True
        loss = float(step_loss)
        what = f"training loss is {loss}" if not math.isfinite(loss) else f"gradient norm is {float(grad_norm)}"
        if self.args.nan_policy == "skip":
            self.state.skipped_steps += 1
            logger.warning(f"Skipped step {self.state.global_step + 1}: the {what} (nan_policy='skip'; "
                           f"{self.state.skipped_steps} step(s) skipped in this run so far).")
            return False
        self._stop_on_bad_step(f"The {what} at step {self.state.global_step + 1} (epoch {self.state.epoch:.2f}); "
                               "training stopped before applying that update.")
        return False

    def _stop_on_bad_step(self, problem: str) -> None:
        # The step that failed is global_step + 1 (a loss or gradient) or global_step (weights after its update);
        # either way the weights of global_step - 1 trained one finite step: the newest that counts as good.
        last = ckpt.last_good_checkpoint(self.args.output_dir, max_step=self.state.global_step - 1)
        self.control.should_training_stop = True
        self._call("on_train_end")
        raise FloatingPointError(
            f"{problem} "
            + (f"The last good checkpoint (weights verified finite, and a finite step trained from them) is {last}: "
               f"lower learning_rate and resume from it (resume_from_checkpoint={str(last)!r}); changed "
               "hyperparameters take effect on resume. " if last else "No good checkpoint was saved before it. ")
            + "Also worth trying: set max_grad_norm, use bf16 instead of fp16, check the data for bad values, or set "
            "nan_policy='skip' to skip such steps."
        )

    # ---- evaluation -------------------------------------------------------------------------------

    def evaluate(self, eval_dataset: Any = None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Loss and ``compute_metrics`` on the eval set, keys prefixed ``eval_``; logged and returned.

        With several processes, the predictions are gathered on rank 0 alone (or, with batch_eval_metrics, one
        batch at a time), which computes the metrics and sends them to the others.
        """
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            raise ValueError("evaluate() needs an eval dataset: pass eval_dataset= to the Trainer or to evaluate().")
        dataset = _require_dataset(dataset, "eval_dataset", "evaluate()")
        output = self._prediction_loop(dataset, metric_key_prefix, predictions_everywhere=False)
        self.log(output.metrics)
        self._call("on_evaluate", metrics=output.metrics)
        return output.metrics

    def predict(self, test_dataset: Any, metric_key_prefix: str = "test") -> PredictionOutput:
        """Predictions (host numpy, in the dataset's order, on every process), label ids when the dataset has
        labels, and metrics prefixed ``test_``."""
        dataset = _require_dataset(test_dataset, "test_dataset", "predict()")
        output = self._prediction_loop(dataset, metric_key_prefix, predictions_everywhere=True)
        self._call("on_predict", metrics=output.metrics)
        return output

    def prediction_step(self, model: torch.nn.Module, inputs: dict[str, Any]):
        """(mean loss or None, predictions or None, labels or None) of one batch, on the device."""
        inputs = self._to_device(inputs)
        has_labels = all(name in inputs for name in self.label_names)
        with torch.no_grad(), self._autocast():
            outputs = model(**inputs)
        loss = _first_output(outputs) if has_labels else None
        if isinstance(outputs, torch.Tensor):
            predictions = () if has_labels else (outputs,)
        elif hasattr(outputs, "keys"):
            predictions = tuple(outputs[key] for key in outputs.keys() if key not in _OUTPUT_KEYS_IGNORED)
        else:
            predictions = tuple(outputs[1:] if has_labels else outputs)
        predictions = tuple(p for p in predictions if isinstance(p, torch.Tensor))
        labels = tuple(inputs[name] for name in self.label_names) if has_labels else ()
        return loss, _single(predictions), _single(labels)

    def _prediction_loop(self, dataset: Any, prefix: str, predictions_everywhere: bool) -> PredictionOutput:
        """Each process predicts examples rank, rank + world, ... (longest first); outputs move to host numpy per
        batch and come back in the dataset's order."""
        args, model = self.args, self.model
        start = time.perf_counter()
        batches = self._eval_batches(dataset, longest_first=True)
        loader = self._loader(dataset, batches)
        per_batch = (args.batch_eval_metrics and self.compute_metrics is not None and not args.prediction_loss_only)
        # Every process runs as many batches as rank 0 (which has the most) when they meet in a collective per
        # batch: FSDP gathers weights inside forward, batch_eval_metrics gathers each batch's rows.
        rounds = self._eval_batch_count(len(dataset)) if per_batch or is_sharded(model) else len(batches)
        was_training = model.training
        model.eval()
        loss_sum, rows, predictions, labels, metrics = 0.0, 0, [], [], {}
        batch_iterator = iter(loader)
        for round_index in range(rounds):
            batch = next(batch_iterator, None)
            if batch is None:  # a process with fewer examples keeps step with the others; its output is dropped
                if is_sharded(model):
                    self.prediction_step(model, self._collate([dataset[0]]))
                prediction = label = None
            else:
                loss, prediction, label = self.prediction_step(model, batch)
                if self.preprocess_logits_for_metrics is not None and prediction is not None:
                    prediction = self.preprocess_logits_for_metrics(prediction, label)
                if loss is not None:  # weighted by labelled items: the exact mean over the whole set
                    count = self._count_items(batch)
                    loss_sum += loss.item() * count
                    rows += count
                prediction, label = to_host(prediction), to_host(label)
                self._call("on_prediction_step", num_batches=len(loader))
            if per_batch:
                parts = [part for part in gather_objects((prediction, label)) if part[0] is not None]
                result = self.compute_metrics(EvalPrediction(concat_rows([p for p, _ in parts]),
                                                             concat_rows([lab for _, lab in parts])),
                                              compute_result=round_index == rounds - 1)
                metrics = dict(result or {})
            elif prediction is not None or label is not None:
                predictions.append(prediction)
                labels.append(label)
        model.train(was_training)
        if per_batch or args.prediction_loss_only:
            predictions = labels = None
        else:
            places = [(index - self.rank) // self.world_size for batch in batches for index in batch]
            predictions, labels = (rows_in_place(concat_rows(parts), places) for parts in (predictions, labels))
        gather = gather_objects if predictions_everywhere else gather_to_rank_zero
        gathered = gather((loss_sum, rows, predictions, labels))
        if gathered is not None:  # on rank 0 (everywhere for predict)
            loss_sum, rows = sum(g[0] for g in gathered), sum(g[1] for g in gathered)
            predictions = interleave_ranks([g[2] for g in gathered])
            labels = interleave_ranks([g[3] for g in gathered])
            if not per_batch and self.compute_metrics is not None and predictions is not None \
                    and labels is not None and not args.prediction_loss_only:
                metrics = self.compute_metrics(EvalPrediction(predictions, labels))
            metrics = {key if key.startswith(f"{prefix}_") else f"{prefix}_{key}": float(value)
                       for key, value in metrics.items()}
            if rows:
                metrics = {f"{prefix}_loss": loss_sum / rows, **metrics}
        if not predictions_everywhere:
            metrics = broadcast_from_rank_zero(metrics)
        runtime = time.perf_counter() - start
        metrics.update({f"{prefix}_runtime": runtime, f"{prefix}_samples_per_second": len(dataset) / runtime})
        return PredictionOutput(predictions, labels, metrics)

    def _eval_batch_count(self, num_examples: int) -> int:
        """Evaluation batches of rank 0, which holds the most examples (ceil(num_examples / world))."""
        return math.ceil(math.ceil(num_examples / self.world_size) / self.args.per_device_eval_batch_size)

    # ---- the HF v3/v4 surface scripts call ---------------------------------------------------------

    def is_world_process_zero(self) -> bool:
        """True in the process that logs and saves (global rank 0)."""
        return self.rank == 0

    is_world_master = is_world_process_zero  # the v3 name

    def get_train_dataloader(self) -> DataLoader:
        """The first epoch's training batches, in the order train() uses."""
        return self._loader(_require_dataset(self.train_dataset, "train_dataset", "get_train_dataloader()"),
                            self._batch_plan(self.train_dataset, epoch=0))

    def get_eval_dataloader(self, eval_dataset: Any = None) -> DataLoader:
        dataset = _require_dataset(eval_dataset if eval_dataset is not None else self.eval_dataset, "eval_dataset",
                                   "get_eval_dataloader()")
        return self._loader(dataset, self._eval_batches(dataset))

    def get_test_dataloader(self, test_dataset: Any) -> DataLoader:
        dataset = _require_dataset(test_dataset, "test_dataset", "get_test_dataloader()")
        return self._loader(dataset, self._eval_batches(dataset))

    @staticmethod
    def num_examples(dataloader: DataLoader) -> int:
        return len(dataloader.dataset)

    def log_metrics(self, split: str, metrics: dict[str, float]) -> None:
        """Print ``metrics`` as an aligned table (main process only)."""
        if self.is_world_process_zero():
            width = max(map(len, metrics), default=0)
            print(f"***** {split} metrics *****")
            for key in sorted(metrics):
                value = metrics[key]
                print(f"  {key.ljust(width)} = {value:.4g}" if isinstance(value, float) else f"  {key.ljust(width)} = {value}")

    def save_metrics(self, split: str, metrics: dict[str, float], combined: bool = True) -> None:
        """Write ``<output_dir>/<split>_results.json`` (and merge into all_results.json when ``combined``)."""
        if not self.is_world_process_zero():
            return
        folder = Path(self.args.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / f"{split}_results.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
        if combined:
            path = folder / "all_results.json"
            merged = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            merged.update(metrics)
            atomic_write_text(path, json.dumps(merged, indent=2, sort_keys=True) + "\n")

    def save_state(self) -> None:
        """Write trainer_state.json to output_dir (main process only)."""
        if self.is_world_process_zero():
            Path(self.args.output_dir).mkdir(parents=True, exist_ok=True)
            self.state.save_to_json(Path(self.args.output_dir) / TRAINER_STATE_NAME)

    # ---- logging and saving -----------------------------------------------------------------------

    def log(self, logs: dict[str, float]) -> None:
        """Add epoch and step, append to state.log_history and hand to the on_log callbacks (sinks)."""
        logs = {**logs, "epoch": round(self.state.epoch, 4), "step": self.state.global_step}
        self.state.log_history.append(logs)
        self._call("on_log", logs=logs)

    def save_model(self, output_dir: str | None = None) -> None:
        """Weights (+ config), tokenizer and training_args.json into ``output_dir`` (default args.output_dir)."""
        folder = Path(output_dir or self.args.output_dir)
        state_dict = full_state_dict(self.model) if is_sharded(self.model) else None  # gathered on rank 0
        if self.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
            ckpt.save_model_weights(self.model, folder, state_dict)
            if self.processing_class is not None and hasattr(self.processing_class, "save_pretrained"):
                self.processing_class.save_pretrained(folder)
            atomic_write_text(folder / TRAINING_ARGS_NAME, self.args.to_json_string())
        barrier()

    def _save_checkpoint(self, metrics: dict[str, float] | None) -> None:
        args, state = self.args, self.state
        folder = Path(args.output_dir) / f"{CHECKPOINT_PREFIX}-{state.global_step}"
        name = args.best_metric_name()
        if metrics and name in metrics:
            value, greater = metrics[name], args.best_metric_greater()
            if state.best_metric is None or (value > state.best_metric if greater else value < state.best_metric):
                state.best_metric, state.best_model_checkpoint = value, str(folder)
        # An update can overflow with finite gradients (a huge step); such weights are never saved.
        if not all_true(ckpt.weights_are_finite(self.model), self.device):
            self._stop_on_bad_step(f"The weights are not finite after step {state.global_step}, so no checkpoint "
                                   f"was written ({folder.name}).")
        state.weights_finite = True
        state.train_loss_sum = float(self._run_loss_sum)
        rng_states = gather_to_rank_zero(get_rng_state())
        files = dict(scheduler=self.lr_scheduler, scaler=self.scaler, state=state, args_json=args.to_json_string(),
                     rng_states=rng_states)
        if args.fsdp:  # every process writes its shard
            ckpt.save_sharded_checkpoint(folder, model=self.model, optimizer=self.optimizer, rank=self.rank, **files)
        elif self.rank == 0:
            ckpt.save_checkpoint(folder, model=self.model, optimizer=self.optimizer, **files)
        if self.rank == 0:
            ckpt.rotate_checkpoints(args.output_dir, args.save_total_limit, state.best_model_checkpoint)
        barrier()
        self._call("on_save")

    def _load_model_weights(self, folder: Path) -> None:
        """The weights of one of this run's checkpoints (sharded or not), e.g. the best at the end."""
        if ckpt.is_sharded_checkpoint(folder):
            load_sharded(folder, self.model, None)
        else:
            ckpt.load_model_weights(self.model, folder)

    def _find_checkpoint(self, resume: str | bool | None) -> Path | None:
        resume = resume if resume is not None else self.args.resume_from_checkpoint
        if resume in (True, "last", "True", "true"):
            found = ckpt.last_checkpoint(self.args.output_dir)
            if found is None:
                raise FileNotFoundError(f"resume_from_checkpoint=True but {self.args.output_dir} holds no checkpoint-* "
                                        "folder; pass a checkpoint folder, or resume_from_checkpoint=None.")
            return found
        if resume in (None, False, ""):
            existing = ckpt.last_checkpoint(self.args.output_dir)
            if existing is not None and not self.args.overwrite_output_dir:
                raise FileExistsError(
                    f"output_dir {self.args.output_dir} already holds {existing.name} from an earlier run. Pass "
                    "resume_from_checkpoint=True to continue it, overwrite_output_dir=True to start over, "
                    "or another output_dir.")
            return None
        path = Path(resume)
        if not (path / TRAINER_STATE_NAME).is_file() and not ckpt.has_model_weights(path):
            raise FileNotFoundError(f"resume_from_checkpoint={str(resume)!r} is neither a checkpoint folder (no "
                                    f"{TRAINER_STATE_NAME} in it) nor a model folder (no weights in it).")
        return path

    def _load_checkpoint(self, folder: Path) -> None:
        logger.info(f"Resuming from {folder}.")
        saved = ckpt.read_trainer_state(folder)
        ckpt.check_best_model_checkpoint(saved, folder, self.args.output_dir)
        adjusted = self._resume_changes(folder, saved)
        if ckpt.is_sharded_checkpoint(folder):
            load_sharded(folder, self.model, self.optimizer)  # any number of processes may have written it
        elif self.args.fsdp and self.world_size > 1:
            raise ckpt.CheckpointError(
                f"{folder} was written without fsdp (one file of full weights and optimizer state); resume it "
                "without fsdp, or load its weights as a model folder and train with fsdp from step 0.")
        else:
            ckpt.load_model_weights(self.model, folder)
        rng = ckpt.load_training_state(folder, self.optimizer, self.lr_scheduler, self.scaler, self.rank)
        for name in ("global_step", "epoch", "steps_in_epoch", "samples_in_epoch", "log_history", "best_metric",
                     "best_model_checkpoint", "num_input_tokens_seen", "total_flos", "train_loss_sum",
                     "train_loss_steps", "skipped_steps"):
            setattr(self.state, name, getattr(saved, name))
        if adjusted:
            self._apply_changed_hyperparameters()
        try:
            set_rng_state(*rng)
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ckpt.CheckpointError(f"The RNG state in {folder} ({RNG_TENSORS_NAME}, {RNG_JSON_NAME}) is damaged "
                                       f"({error!r}); resume from another checkpoint, or delete this one.") from None

    def _resume_changes(self, folder: Path, saved: TrainerState) -> dict[str, tuple]:
        """Compare the checkpoint's arguments with this run's: return those that take effect; raise for the rest."""
        args = self.args
        adjusted, fixed = ckpt.resume_changes(ckpt.saved_training_args(folder) or {}, args)
        if saved.steps_per_epoch != self.state.steps_per_epoch:
            fixed["steps per epoch (dataset length / batch size / accumulation / processes)"] = (
                saved.steps_per_epoch, self.state.steps_per_epoch)
        if saved.train_batch_size != self.state.train_batch_size:
            fixed["examples per step (batch size x accumulation x processes)"] = (
                saved.train_batch_size, self.state.train_batch_size)
        listed = ", ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in fixed.items())
        if fixed and not args.resume_with_changed_data:
            raise ckpt.CheckpointError(
                f"Cannot resume {folder} with changed {listed}: these decide which examples each step sees. Resume "
                "with the checkpoint's values, or set resume_with_changed_data=True to continue anyway (the data "
                "order then differs from an uninterrupted run).")
        if fixed:
            logger.warning(f"Resuming {folder} with changed {listed} (resume_with_changed_data=True).")
        if adjusted and not self._owns_optimizer:
            logger.warning(f"Resuming with changed {', '.join(adjusted)}, but the optimizer and scheduler were passed "
                           "to the Trainer, so they keep the checkpoint's values.")
            return {}
        if adjusted:
            logger.info(f"Resuming at step {saved.global_step} with changed hyperparameters, which take effect now: "
                        + ", ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in adjusted.items()) + ".")
        return adjusted

    def _apply_changed_hyperparameters(self) -> None:
        """Set this run's optimizer hyperparameters on the loaded optimizer and rebuild the schedule at the resumed
        step, exactly as an uninterrupted run with these arguments would have it there."""
        from ..optimization import get_parameter_groups, get_scheduler

        args, step, groups = self.args, self.state.global_step, self.optimizer.param_groups
        for group, fresh in zip(groups, get_parameter_groups(self.model, args.weight_decay)):
            group.update(lr=args.learning_rate, initial_lr=args.learning_rate, weight_decay=fresh["weight_decay"],
                         betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon)
        scheduler = get_scheduler(args.lr_scheduler_type, self.optimizer,
                                  num_warmup_steps=args.get_warmup_steps(self.state.max_steps),
                                  num_training_steps=self.state.max_steps)
        scheduler.last_epoch = step
        for group, base, factor in zip(groups, scheduler.base_lrs, scheduler.lr_lambdas):
            group["lr"] = base * factor(step)
        scheduler._last_lr = [group["lr"] for group in groups]
        self.lr_scheduler = scheduler

    # ---- plumbing ---------------------------------------------------------------------------------

    def _create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        from ..optimization import AdamW, get_parameter_groups, get_scheduler

        args = self.args
        if self.optimizer is None:
            self.optimizer = AdamW(get_parameter_groups(self.model, args.weight_decay), lr=args.learning_rate,
                                   betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon)
        if self.lr_scheduler is None:
            self.lr_scheduler = get_scheduler(args.lr_scheduler_type, self.optimizer,
                                              num_warmup_steps=args.get_warmup_steps(num_training_steps),
                                              num_training_steps=num_training_steps)

    def _wrap_model(self) -> torch.nn.Module:
        """DDP (a wrapper), or FSDP (shards the model in place) with fsdp set; the model itself on one process."""
        self.model.train()
        if self.world_size == 1 and self.args.fsdp:
            logger.info("fsdp with one process: nothing to shard; checkpoints are still written sharded, so they "
                        "resume on any number of processes.")
        if self.world_size == 1 or self.model_wrapped is not self.model or is_sharded(self.model):
            return self.model_wrapped
        if self.args.fsdp:
            if not self._owns_optimizer and self.optimizer is not None:
                raise ValueError("fsdp shards the parameters, so the Trainer must create the optimizer after "
                                 "sharding: pass optimizers=(None, None) and set its hyperparameters through "
                                 "TrainingArguments, or train without fsdp.")
            shard_model(self.model, self.args.fsdp, self.args.bf16, self.device)
            return self.model
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        self.model_wrapped = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=device_ids)
        return self.model_wrapped

    def _batch_plan(self, dataset: Any, epoch: int, start: int = 0) -> list[list[int]]:
        args = self.args
        if args.group_by_length and self._lengths is None:
            self._lengths = example_lengths(dataset)
            if self._lengths is None:
                raise ValueError("group_by_length=True needs examples with an 'input_ids' (or 'length') field.")
        return epoch_batches(len(dataset), args.per_device_train_batch_size, seed=args.seed, epoch=epoch,
                             lengths=self._lengths if args.group_by_length else None,
                             drop_last=args.dataloader_drop_last, rank=self.rank, world_size=self.world_size,
                             accumulation=args.gradient_accumulation_steps, start=start)

    def _eval_batches(self, dataset: Any, longest_first: bool = False) -> list[list[int]]:
        """This process's evaluation batches: examples rank, rank + world, ..., in order, or longest first
        (similar lengths share a batch: less padding) when the examples' lengths can be read."""
        indices = list(range(self.rank, len(dataset), self.world_size))
        lengths = self._eval_lengths(dataset) if longest_first else None
        if lengths is not None:
            indices.sort(key=lambda index: -lengths[index])
        size = self.args.per_device_eval_batch_size
        return [indices[i : i + size] for i in range(0, len(indices), size)]

    def _eval_lengths(self, dataset: Any) -> list[int] | None:
        if self._eval_lengths_of is None or self._eval_lengths_of[0] is not dataset:
            self._eval_lengths_of = (dataset, example_lengths(dataset))
        return self._eval_lengths_of[1]

    def _loader(self, dataset: Any, batches: list[list[int]], seed: int = 0) -> DataLoader:
        # Own generator: creating the iterator then draws no number from the global torch RNG,
        # which a resumed run must find exactly as it was saved.
        return DataLoader(dataset, batch_sampler=batches, collate_fn=self._collate,
                          num_workers=self.args.dataloader_num_workers, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(seed))

    def _count_items(self, batch: dict[str, Any]) -> int:
        """Labelled items of a batch: the count its mean loss divides by (ignored labels excluded)."""
        labels = batch.get(self.label_names[0]) if self.label_names else None
        if isinstance(labels, torch.Tensor):
            if labels.dtype.is_floating_point or labels.dim() == 0:
                return max(labels.shape[0] if labels.dim() else 1, 1)
            return int((labels != IGNORE_INDEX).sum())
        return num_rows(batch)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {key: value.to(self.device, non_blocking=True) if isinstance(value, torch.Tensor) else value
                for key, value in batch.items()}

    def _autocast(self):
        if self.args.bf16 or self.args.fp16:
            return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.args.bf16 else torch.float16)
        return contextlib.nullcontext()

    def _no_sync(self, model: torch.nn.Module, last: bool):
        """Skip the gradient all-reduce (DDP) or reduce-scatter (FSDP) on all but the last micro-batch of a step."""
        if self.world_size == 1:
            return contextlib.nullcontext()
        if is_sharded(model):
            model.set_requires_gradient_sync(last)
            return contextlib.nullcontext()
        return contextlib.nullcontext() if last else model.no_sync()


def _require_dataset(dataset: Any, name: str, method: str) -> Any:
    if dataset is None:
        raise ValueError(f"{method} needs a {name}; pass {name}= to the Trainer.")
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        raise TypeError(f"{name} must support len() and [index] (a torch Dataset, list or datasets.Dataset), "
                        f"got {type(dataset).__name__}.")
    if len(dataset) == 0:
        raise ValueError(f"{name} is empty (0 examples); check how it was built or filtered.")
    return dataset


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, "module", model)


def _first_output(outputs: Any) -> Any:
    if isinstance(outputs, torch.Tensor):
        return outputs
    if hasattr(outputs, "keys") and "loss" in outputs.keys():
        return outputs["loss"]
    return outputs[0]


def _single(values: tuple) -> Any:
    return None if not values else values[0] if len(values) == 1 else values
