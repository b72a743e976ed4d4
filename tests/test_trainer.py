"""Trainer: parity with a hand-written loop, accumulation, logs, checkpoints, callbacks, failures."""

from __future__ import annotations

import copy
import json
import math
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tuneformers.optimization import AdamW, get_linear_schedule_with_warmup, get_parameter_groups
from tuneformers.trainer import checkpoint as ckpt
from tuneformers.trainer.callbacks import EarlyStoppingCallback, TrainerCallback
from tuneformers.trainer.trainer import EvalPrediction, Trainer
from tuneformers.trainer.training_args import TrainingArguments
from tuneformers.trainer.utils import epoch_batches, set_seed


class Regressor(torch.nn.Module):
    """y = w.x + b with dropout on the input: returns (mean squared error, predictions)."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x, labels=None):
        prediction = self.linear(self.dropout(x)).squeeze(-1)
        if labels is None:
            return (prediction,)
        return F.mse_loss(prediction, labels), prediction


class Tagger(torch.nn.Module):
    """Token classifier: mean cross-entropy over the tokens whose label is not -100."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(20, 8)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, input_ids, labels=None):
        logits = self.head(torch.tanh(self.embedding(input_ids)))
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100) if labels is not None else None
        return (loss, logits) if loss is not None else (logits,)


def regression_data(n: int = 64, seed: int = 0) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = x @ torch.tensor([0.5, -0.3, 0.2, 0.1]) + 0.1 * torch.randn(n, generator=generator)
    return [{"x": x[i], "labels": y[i]} for i in range(n)]


def quiet_args(tmp_path, **overrides) -> TrainingArguments:
    settings = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=8, learning_rate=0.05,
                    save_strategy="no", report_to="none", disable_tqdm=True, logging_steps=1)
    settings.update(overrides)
    return TrainingArguments(**settings)


def test_losses_and_weights_match_a_hand_written_loop(tmp_path):
    data = regression_data()
    torch.manual_seed(0)
    model = Regressor(dropout=0.2)
    reference = copy.deepcopy(model)
    args = quiet_args(tmp_path, max_steps=10, weight_decay=0.01, warmup_steps=2, max_grad_norm=0.5)
    trainer = Trainer(model, args, train_dataset=data)
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]

    # The same recipe by hand: seed, batches from the documented order rule, AdamW, linear warmup.
    set_seed(42)
    optimizer = AdamW(get_parameter_groups(reference, 0.01), lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, 2, 10)
    hand_losses = []
    for step in range(10):
        epoch, index = divmod(step, 8)
        order = np.random.default_rng([42, epoch]).permutation(64)[index * 8 : (index + 1) * 8]
        x = torch.stack([data[i]["x"] for i in order])
        y = torch.stack([data[i]["labels"] for i in order])
        loss = reference(x, labels=y)[0]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
        optimizer.step()
        scheduler.step()
        reference.zero_grad()
        hand_losses.append(loss.item())
    assert losses == hand_losses
    for (name, ours), theirs in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(ours, theirs), name


@pytest.mark.parametrize("kind", ["regression", "tokens"])
def test_accumulating_4x8_equals_one_batch_of_32(tmp_path, kind):
    if kind == "regression":
        data, make = regression_data(96), Regressor
    else:  # uneven numbers of labelled tokens per example: a mean of means would differ
        rng = np.random.default_rng(0)
        data = []
        for _ in range(96):
            labels = rng.integers(0, 3, 6)
            labels[rng.integers(0, 6) :] = -100
            data.append({"input_ids": torch.tensor(rng.integers(0, 20, 6)), "labels": torch.tensor(labels)})
        make = Tagger
    results = []
    for batch_size, accumulation in ((32, 1), (8, 4)):
        torch.manual_seed(0)
        model = make()
        args = quiet_args(tmp_path, max_steps=3, per_device_train_batch_size=batch_size,
                          gradient_accumulation_steps=accumulation, learning_rate=1e-2, max_grad_norm=0.0)
        trainer = Trainer(model, args, train_dataset=data)
        trainer.train()
        results.append((model.state_dict(), [e["loss"] for e in trainer.state.log_history if "loss" in e]))
    (big, big_losses), (small, small_losses) = results
    np.testing.assert_allclose(small_losses, big_losses, rtol=0, atol=1e-6)
    for name in big:
        torch.testing.assert_close(small[name], big[name], rtol=0, atol=1e-6)
    if kind == "tokens":  # the test can fail: equal weighting of micro-batches gives another update
        torch.manual_seed(0)
        naive = make()
        batch = [data[i] for i in np.random.default_rng([42, 0]).permutation(96)[:32]]
        ids = torch.stack([b["input_ids"] for b in batch])
        labels = torch.stack([b["labels"] for b in batch])
        exact = torch.autograd.grad(naive(ids, labels)[0], naive.head.weight)[0]
        means = sum(torch.autograd.grad(naive(ids[i : i + 8], labels[i : i + 8])[0] / 4, naive.head.weight)[0]
                    for i in range(0, 32, 8))
        assert (exact - means).abs().max() > 1e-4


def test_tensorboard_events_and_trainer_state_json(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = quiet_args(tmp_path, max_steps=8, logging_steps=2, report_to=["tensorboard", "jsonl"], save_steps=4, save_strategy="steps",
                      eval_strategy="steps", eval_steps=4)
    torch.manual_seed(0)
    trainer = Trainer(Regressor(), args, train_dataset=regression_data(), eval_dataset=regression_data(16, seed=1))
    trainer.train()
    events = EventAccumulator(args.get_logging_dir())
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert {"train/loss", "train/learning_rate", "train/samples_per_second", "eval/loss"} <= set(scalars)
    logged = [e for e in trainer.state.log_history if "loss" in e]
    loss_events = events.Scalars("train/loss")
    assert [e.step for e in loss_events] == [2, 4, 6, 8]
    np.testing.assert_allclose([e.value for e in loss_events], [e["loss"] for e in logged], rtol=1e-6)
    lr_events = events.Scalars("train/learning_rate")
    np.testing.assert_allclose([e.value for e in lr_events], [0.05 * (1 - s / 8) for s in (2, 4, 6, 8)], rtol=1e-6)

    state = json.loads((tmp_path / "out" / "checkpoint-8" / "trainer_state.json").read_text())
    assert state["global_step"] == 8 and state["max_steps"] == 8 and state["epoch"] == 1.0
    assert [e["step"] for e in state["log_history"] if "loss" in e] == [2, 4, 6, 8]
    assert [e["step"] for e in state["log_history"] if "eval_loss" in e] == [4, 8]
    eval_losses = {e["step"]: e["eval_loss"] for e in state["log_history"] if "eval_loss" in e}
    best_step = min(eval_losses, key=eval_losses.get)  # default metric_for_best_model: eval loss, lower is better
    assert state["best_model_checkpoint"] == str(tmp_path / "out" / f"checkpoint-{best_step}")
    assert state["best_metric"] == eval_losses[best_step]
    lines = (tmp_path / "out" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines][:2] == [2, 4]


def test_resumed_run_replaces_the_tensorboard_points_logged_after_its_checkpoint(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = quiet_args(tmp_path, max_steps=8, logging_steps=2, report_to=["tensorboard"], save_steps=4,
                      save_strategy="steps")
    torch.manual_seed(0)
    Trainer(Regressor(), args, train_dataset=regression_data()).train()  # logs 2, 4, 6, 8; saves 4, 8
    shutil.rmtree(tmp_path / "out" / "checkpoint-8")  # as if killed after logging step 8, before saving it
    torch.manual_seed(1)
    resumed = Trainer(Regressor(), args, train_dataset=regression_data())
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))
    events = EventAccumulator(args.get_logging_dir())
    events.Reload()
    loss_events = events.Scalars("train/loss")
    assert [e.step for e in loss_events] == [2, 4, 6, 8]  # not 2, 4, 6, 8, 6, 8
    resumed_losses = {e["step"]: e["loss"] for e in resumed.state.log_history if "loss" in e}
    np.testing.assert_allclose([e.value for e in loss_events], [resumed_losses[s] for s in (2, 4, 6, 8)], rtol=1e-6)


def test_evaluate_and_predict_stream_to_numpy(tmp_path):
    data = [{"input_ids": torch.tensor(np.arange(n) % 20), "labels": torch.tensor([n % 3] * n)} for n in (3, 5, 2, 7, 4)]

    def pad_collator(features):
        length = max(len(f["input_ids"]) for f in features)
        pad = lambda t, v: F.pad(t, (0, length - len(t)), value=v)  # noqa: E731
        return {"input_ids": torch.stack([pad(f["input_ids"], 0) for f in features]),
                "labels": torch.stack([pad(f["labels"], -100) for f in features])}

    seen = []

    def compute_metrics(prediction: EvalPrediction):
        seen.append(prediction)
        mask = prediction.label_ids != -100
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids)[mask].mean())}

    torch.manual_seed(0)
    model = Tagger()
    args = quiet_args(tmp_path, per_device_eval_batch_size=2)
    trainer = Trainer(model, args, data_collator=pad_collator, eval_dataset=data, compute_metrics=compute_metrics)
    metrics = trainer.evaluate()
    assert set(metrics) >= {"eval_loss", "eval_accuracy", "eval_runtime", "eval_samples_per_second"}
    predictions = seen[0].predictions
    assert isinstance(predictions, np.ndarray) and predictions.shape == (5, 7, 3)  # ragged batches padded
    with torch.no_grad():
        for row, example in enumerate(data):
            logits = model(example["input_ids"][None])[0][0].numpy()
            np.testing.assert_allclose(predictions[row, : len(logits)], logits, rtol=1e-6)
            assert (seen[0].label_ids[row, len(logits) :] == -100).all()
    losses = [model(*pad_collator([e]).values())[0].item() for e in data]
    counts = [len(e["labels"]) for e in data]  # the exact mean over labelled tokens, not a mean of batch means
    assert metrics["eval_loss"] == pytest.approx(np.dot(losses, counts) / sum(counts), rel=1e-6)
    output = trainer.predict(data)
    assert output.metrics["test_accuracy"] == metrics["eval_accuracy"]
    np.testing.assert_array_equal(output.predictions, predictions)


def test_rotation_never_deletes_the_best_checkpoint(tmp_path):
    for step in (2, 4, 6, 8):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
    deleted = ckpt.rotate_checkpoints(tmp_path, 2, best=str(tmp_path / "checkpoint-2"))
    assert [p.name for p in deleted] == ["checkpoint-4", "checkpoint-6"]
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-8"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-2", "checkpoint-8"]  # no half-deleted debris
    ckpt.rotate_checkpoints(tmp_path, 1, best=str(tmp_path / "checkpoint-2"))  # best + newest survive limit 1
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["checkpoint-2", "checkpoint-8"]


def test_load_best_model_at_end_and_early_stopping(tmp_path):
    scores = iter([3.0, 1.0, 2.0, 2.5, 2.6, 2.7])
    args = quiet_args(tmp_path, max_steps=40, save_strategy="steps", save_steps=2, eval_strategy="steps", eval_steps=2,
                      save_total_limit=1, load_best_model_at_end=True, metric_for_best_model="score",
                      greater_is_better=False)
    torch.manual_seed(0)
    trainer = Trainer(Regressor(), args, train_dataset=regression_data(), eval_dataset=regression_data(8),
                      compute_metrics=lambda p: {"score": next(scores)},
                      callbacks=[EarlyStoppingCallback(early_stopping_patience=3)])
    trainer.train()
    assert trainer.state.global_step == 10  # best at step 4, then 3 evaluations without improvement
    assert trainer.state.best_model_checkpoint.endswith("checkpoint-4") and trainer.state.best_metric == 1.0
    assert [p.name for p in ckpt.list_checkpoints(args.output_dir)] == ["checkpoint-4", "checkpoint-10"]
    best = ckpt.load_file(str(tmp_path / "out" / "checkpoint-4" / "model.safetensors"))
    assert torch.equal(trainer.model.linear.weight, best["linear.weight"])


def test_callback_can_stop_training(tmp_path):
    class StopAtThree(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            control.should_training_stop = state.global_step == 3

    trainer = Trainer(Regressor(), quiet_args(tmp_path, num_train_epochs=5), train_dataset=regression_data(),
                      callbacks=[StopAtThree()])
    assert trainer.train().global_step == 3


def test_group_by_length_and_batch_plan():
    lengths = np.random.default_rng(0).integers(5, 100, 1000).tolist()
    batches = epoch_batches(1000, 10, seed=1, epoch=0, lengths=lengths)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert batches == epoch_batches(1000, 10, seed=1, epoch=0, lengths=lengths)
    assert batches != epoch_batches(1000, 10, seed=1, epoch=1, lengths=lengths)
    grouped = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    shuffled = np.mean([np.ptp([lengths[i] for i in b]) for b in epoch_batches(1000, 10, seed=1, epoch=0)])
    assert grouped < shuffled / 5  # far less padding
    # Two ranks: equal numbers of batches, together covering every example (one wrapped around).
    parts = [epoch_batches(11, 2, seed=1, epoch=0, rank=r, world_size=2) for r in (0, 1)]
    assert len(parts[0]) == len(parts[1]) == 3
    assert sorted(i for part in parts for b in part for i in b) == sorted(list(range(11)) + [parts[0][0][0]])


@pytest.mark.parametrize("lengths", [None, np.random.default_rng(1).integers(5, 100, 203).tolist()])
def test_the_batch_plan_is_in_global_positions_the_same_steps_for_any_number_of_processes(lengths):
    """16 examples per optimizer step split as 1 x 16, 2 x 8, 4 x 2 x accumulation 2, or 8 x 1 x 2: each step holds
    the same examples, and a plan started at a step boundary continues the uninterrupted one."""
    def steps(world: int, per_device: int, accumulation: int, start: int = 0) -> list[set[int]]:
        plans = [epoch_batches(203, per_device, seed=3, epoch=2, lengths=lengths, rank=rank, world_size=world,
                               accumulation=accumulation, start=start) for rank in range(world)]
        return [set().union(*(b for plan in plans for b in plan[i : i + accumulation]))
                for i in range(0, len(plans[0]), accumulation)]

    reference = steps(1, 16, 1)
    assert len(reference) == 13 and set().union(*reference) == set(range(203))
    for world, per_device, accumulation in [(2, 8, 1), (4, 2, 2), (8, 1, 2)]:
        assert steps(world, per_device, accumulation)[:12] == reference[:12]  # the last step wraps around
        assert steps(world, per_device, accumulation, start=5 * 16)[:7] == reference[5:12]


class AutocastProbe(Regressor):
    """A Regressor that records, on every forward, whether autocast was on and the dtype its matmul produced."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x, labels=None):
        output = super().forward(x, labels)
        self.seen.append((torch.is_autocast_enabled("cpu"), output[-1].dtype))
        return output


def test_bf16_autocast_on_cpu_trains(tmp_path):
    runs = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        model = AutocastProbe()
        trainer = Trainer(model, quiet_args(tmp_path, max_steps=4, bf16=bf16), train_dataset=regression_data())
        trainer.train()
        runs[bf16] = model, trainer, [e["loss"] for e in trainer.state.log_history if "loss" in e]
    (fp32_model, _, fp32_losses), (model, trainer, losses) = runs[False], runs[True]
    assert fp32_model.seen == [(False, torch.float32)] * 4
    assert model.seen == [(True, torch.bfloat16)] * 4  # the forward ran in bfloat16
    assert all(p.dtype == torch.float32 for p in model.parameters())
    moments = [value for param_state in trainer.optimizer.state.values() for value in param_state.values()
               if isinstance(value, torch.Tensor) and value.dim() > 0]
    assert moments and all(m.dtype == torch.float32 for m in moments)
    # bfloat16 rounding (about 3 significant digits) moves the losses a little, and only a little.
    assert losses != fp32_losses
    np.testing.assert_allclose(losses, fp32_losses, rtol=1e-2)


# ---- failures speak to the user -----------------------------------------------------------------


def test_missing_labels_is_named(tmp_path):
    data = [{"x": torch.randn(4)} for _ in range(8)]
    with pytest.raises(KeyError, match=r"no \['labels'\].*'x'.*label_names"):
        Trainer(Regressor(), quiet_args(tmp_path, max_steps=1), train_dataset=data).train()


def test_empty_dataset_and_missing_eval_dataset(tmp_path):
    with pytest.raises(ValueError, match="train_dataset is empty"):
        Trainer(Regressor(), quiet_args(tmp_path, max_steps=1), train_dataset=[]).train()
    trainer = Trainer(Regressor(), quiet_args(tmp_path, max_steps=1, eval_strategy="steps"),
                      train_dataset=regression_data())
    with pytest.raises(ValueError, match="eval_strategy='steps' needs an eval_dataset"):
        trainer.train()
    with pytest.raises(ValueError, match="evaluate\\(\\) needs an eval dataset"):
        trainer.evaluate()


def test_fp16_on_cpu_is_refused(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("has CUDA")
    with pytest.raises(ValueError, match="fp16=True needs a CUDA device.*bf16=True"):
        Trainer(Regressor(), quiet_args(tmp_path, fp16=True))


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    data = regression_data()
    data[50] = {"x": data[50]["x"], "labels": torch.tensor(float("nan"))}
    where = [step for step, b in enumerate(epoch_batches(64, 8, seed=42, epoch=0)) if 50 in b][0] + 1
    args = quiet_args(tmp_path, max_steps=8, save_strategy="steps", save_steps=1)
    torch.manual_seed(0)
    trainer = Trainer(Regressor(), args, train_dataset=data)
    # checkpoint-{where - 1} gave the NaN loss, so the good one named is the one before it (a finite step followed it)
    named = rf"checkpoint-{where - 2}:" if where > 2 else "No good checkpoint"
    with pytest.raises(FloatingPointError, match=rf"nan at step {where} .*{named}"):
        trainer.train()
    last = ckpt.last_checkpoint(args.output_dir)
    assert last is None if where == 1 else last.name == f"checkpoint-{where - 1}"
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_existing_checkpoints_need_resume_or_overwrite(tmp_path):
    args = quiet_args(tmp_path, max_steps=2, save_strategy="steps", save_steps=2)
    Trainer(Regressor(), args, train_dataset=regression_data()).train()
    with pytest.raises(FileExistsError, match="resume_from_checkpoint=True.*overwrite_output_dir=True"):
        Trainer(Regressor(), args, train_dataset=regression_data()).train()


def test_column_dataset_lengths_are_read_by_column(tmp_path):
    class ColumnDataset:  # the part of HF datasets.Dataset the Trainer uses
        column_names = ["input_ids", "labels"]

        def __init__(self, rows):
            self.rows = rows
            self.column_reads = 0

        def __len__(self):
            return len(self.rows)

        def __getitem__(self, key):
            if isinstance(key, str):
                self.column_reads += 1
                return [row[key] for row in self.rows]
            return self.rows[key]

    rng = np.random.default_rng(0)
    dataset = ColumnDataset([{"input_ids": torch.tensor(rng.integers(0, 20, n)), "labels": torch.tensor(rng.integers(0, 3, n))}
                             for n in rng.integers(2, 9, 40)])

    def pad(features):
        length = max(len(f["input_ids"]) for f in features)
        return {key: torch.stack([F.pad(f[key], (0, length - len(f[key])), value=-100 * (key == "labels"))
                                  for f in features]) for key in ("input_ids", "labels")}

    trainer = Trainer(Tagger(), quiet_args(tmp_path, max_steps=5, group_by_length=True), data_collator=pad,
                      train_dataset=dataset)
    trainer.train()
    assert dataset.column_reads == 1  # lengths computed once, from the column


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_cuda(tmp_path, precision):
    torch.manual_seed(0)
    trainer = Trainer(Regressor(), quiet_args(tmp_path, max_steps=6, **{precision: True}), train_dataset=regression_data())
    trainer.train()
    assert trainer.model.linear.weight.device.type == "cuda"
    assert (trainer.scaler is not None) == (precision == "fp16")
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses) and losses[-1] < losses[0]
