"""Issue 15, what a training run writes and resumes: non-finite steps, resumes with changed arguments, the output
folder's lock, one timeline, debris, durability, the log after a resume, checkpoint load errors, the CLI run folder.

Each test reproduces a failure of the code before the fix (named in its docstring) on a tiny regression model.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from tuneformers.trainer import checkpoint as ckpt
from tuneformers.trainer.callbacks import TrainerCallback
from tuneformers.trainer.output_folder import (OutputFolderLockedError, lock_path, output_folder_lock, recover_swap,
                                               swap_in_folder)
from tuneformers.trainer.trainer import Trainer
from tuneformers.trainer.training_args import TrainingArguments
from tuneformers.trainer_utils import list_checkpoints


class Regressor(torch.nn.Module):
    """y = w.x + b: returns (mean squared error, predictions)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x, labels=None):
        prediction = self.linear(x).squeeze(-1)
        return (F.mse_loss(prediction, labels), prediction) if labels is not None else (prediction,)


class Chain(torch.nn.Module):
    """Two linear layers, no activation: a huge learning rate makes the loss overflow one step later."""

    def __init__(self):
        super().__init__()
        self.first, self.second = torch.nn.Linear(4, 16), torch.nn.Linear(16, 1)

    def forward(self, x, labels=None):
        prediction = self.second(self.first(x)).squeeze(-1)
        return (F.mse_loss(prediction, labels), prediction) if labels is not None else (prediction,)


def regression_data(n: int = 64) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    y = x @ torch.tensor([0.5, -0.3, 0.2, 0.1]) + 0.1 * torch.randn(n, generator=generator)
    return [{"x": x[i], "labels": y[i]} for i in range(n)]


def make_args(output_dir: Path, **overrides) -> TrainingArguments:
    settings = dict(output_dir=str(output_dir), per_device_train_batch_size=8, learning_rate=0.05,
                    save_strategy="steps", save_steps=2, report_to="none", disable_tqdm=True, logging_steps=1)
    settings.update(overrides)
    return TrainingArguments(**settings)


def train(output_dir: Path, model_class=Regressor, resume=None, callbacks=(), **overrides):
    torch.manual_seed(0)
    trainer = Trainer(model_class(), make_args(output_dir, **overrides), train_dataset=regression_data(),
                      callbacks=list(callbacks))
    return trainer, trainer.train(resume_from_checkpoint=resume)


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def all_finite(path: Path) -> bool:
    return all(torch.isfinite(t).all() for t in load_file(str(path)).values())


@pytest.fixture
def logs(caplog):
    with caplog.at_level(logging.INFO, logger="tuneformers"):
        yield caplog


class PoisonGradientAt(TrainerCallback):
    """Make the gradient of one step NaN while its loss stays finite (a bad kernel, a bad example's backward)."""

    def __init__(self, step: int):
        self.step, self.handle = step, None

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if self.handle is not None:
            self.handle.remove()
            self.handle = None
        if state.global_step + 1 == self.step:
            self.handle = model.linear.weight.register_hook(lambda grad: grad * float("nan"))


# ---- 1. numerical faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_grad_norm", [1.0, 0.0])
def test_a_step_with_a_nan_gradient_is_never_applied_and_the_named_checkpoint_is_finite(tmp_path, max_grad_norm):
    """Before: the NaN-gradient step was applied, checkpoint-3 was all NaN, and the loss error at step 4 named it."""
    output = tmp_path / "out"
    with pytest.raises(FloatingPointError, match="gradient norm is nan at step 3") as error:
        train(output, callbacks=[PoisonGradientAt(3)], max_steps=6, save_steps=1, max_grad_norm=max_grad_norm)
    assert [p.name for p in list_checkpoints(output)] == ["checkpoint-1", "checkpoint-2"]
    named = re.search(r"The last good checkpoint .* is (\S+checkpoint-\d+):", str(error.value)).group(1)
    assert Path(named).name == "checkpoint-1"  # checkpoint-2's weights gave the NaN gradient: not counted as good
    for folder in list_checkpoints(output):
        assert all_finite(folder / "model.safetensors")
        assert json.loads((folder / "trainer_state.json").read_text())["weights_finite"] is True


def test_nan_policy_skip_drops_the_step_counts_it_and_finishes(tmp_path, logs):
    trainer, result = train(tmp_path / "out", callbacks=[PoisonGradientAt(3)], max_steps=6, nan_policy="skip")
    assert result.global_step == 6 and trainer.state.skipped_steps == 1 and result.metrics["skipped_steps"] == 1
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert any("Skipped step 3: the gradient norm is nan" in r.getMessage() for r in logs.records)
    with pytest.raises(ValueError, match="nan_policy='ignore' is not one of 'error', 'skip'"):
        TrainingArguments(nan_policy="ignore")


def test_a_huge_learning_rate_names_a_checkpoint_that_trained_finitely_and_lowering_it_on_resume_works(tmp_path, logs):
    """Before: resuming with another learning_rate kept the checkpoint's, so the error's advice could not work."""
    output, common = tmp_path / "out", dict(save_steps=1, lr_scheduler_type="constant", max_grad_norm=0.0)
    train(output, Chain, max_steps=3, learning_rate=1e-2, **common)
    with pytest.raises(FloatingPointError, match=r"training loss is (inf|nan) at step 5") as error:
        train(output, Chain, resume=str(output / "checkpoint-3"), max_steps=8, learning_rate=1e10, **common)
    assert all_finite(output / "checkpoint-4" / "model.safetensors")  # finite, yet its loss overflowed
    named = re.search(r"resume_from_checkpoint='([^']+)'", str(error.value)).group(1)
    assert Path(named).name == "checkpoint-3"
    trainer, result = train(output, Chain, resume=named, max_steps=8, learning_rate=1e-3, **common)
    assert result.global_step == 8 and all(torch.isfinite(p).all() for p in trainer.model.parameters())
    rates = {entry["step"]: entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry}
    assert rates[2] == 1e-2 and all(rates[step] == 1e-3 for step in range(4, 9))
    assert any("learning_rate 0.01 -> 0.001" in r.getMessage() for r in logs.records)


# ---- 2. resume with changed hyperparameters ------------------------------------------------------------------


def test_changed_learning_rate_warmup_and_weight_decay_take_effect_on_resume_and_are_logged_once(tmp_path, logs):
    """Before: the resumed run trained at the checkpoint's learning rate (the scheduler state overrode it)."""
    train(tmp_path / "a", max_steps=6, learning_rate=1e-2)
    changed = dict(max_steps=6, learning_rate=1e-3, warmup_steps=3, weight_decay=0.1)
    resumed, _ = train(tmp_path / "a", resume=str(tmp_path / "a" / "checkpoint-2"), **changed)
    reference, _ = train(tmp_path / "b", **changed)  # the schedule an uninterrupted run with these arguments has
    def rates(trainer):
        return [entry["learning_rate"] for entry in trainer.state.log_history if entry.get("step", 0) > 2
                and "learning_rate" in entry]
    assert rates(resumed) == pytest.approx(rates(reference), rel=1e-12) and len(rates(resumed)) == 4
    assert [group["weight_decay"] for group in resumed.optimizer.param_groups] == [0.1, 0.0]
    lines = [r.getMessage() for r in logs.records if "changed hyperparameters" in r.getMessage()]
    assert len(lines) == 1
    assert all(part in lines[0] for part in ("learning_rate 0.01 -> 0.001", "warmup_steps 0 -> 3", "weight_decay"))


def test_changes_that_cannot_take_effect_are_an_error_naming_the_field_unless_overridden(tmp_path):
    train(tmp_path / "a", max_steps=4)
    checkpoint = str(tmp_path / "a" / "checkpoint-2")
    with pytest.raises(ckpt.CheckpointError, match=r"examples per step \(batch size x accumulation x processes\) "
                       "8 -> 4.*resume_with_changed_data"):
        train(tmp_path / "a", resume=checkpoint, max_steps=4, per_device_train_batch_size=4)
    with pytest.raises(ckpt.CheckpointError, match="seed 42 -> 7"):
        train(tmp_path / "a", resume=checkpoint, max_steps=4, seed=7)
    _, result = train(tmp_path / "a", resume=checkpoint, max_steps=4, seed=7, resume_with_changed_data=True)
    assert result.global_step == 4


# ---- 3. the output folder's lock ---------------------------------------------------------------------------

SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    import torch
    sys.path.insert(0, sys.argv[2])
    from test_trainer_reliability import Regressor, make_args, regression_data
    from pathlib import Path
    from tuneformers.trainer.callbacks import TrainerCallback
    from tuneformers.trainer.trainer import Trainer

    class Slow(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            time.sleep(0.4)

    torch.manual_seed(0)
    trainer = Trainer(Regressor(), make_args(Path(sys.argv[1]), max_steps=6, save_steps=3),
                      train_dataset=regression_data(), callbacks=[Slow()])
    trainer.train()
    """
)


def test_a_second_run_into_a_locked_folder_gets_one_clear_error_and_the_first_finishes_intact(tmp_path):
    """Before: both ran; rotation and re-saves of one deleted the other's temporary folders."""
    output = tmp_path / "out"
    script = tmp_path / "slow.py"
    script.write_text(SLOW_RUN)
    first = subprocess.Popen([sys.executable, str(script), str(output), str(Path(__file__).parent)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not lock_path(output).is_file() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert lock_path(output).is_file(), first.communicate()[1][-3000:]
    with pytest.raises(OutputFolderLockedError, match=rf"is in use by another run \(pid {first.pid} on host"):
        train(output, max_steps=2, overwrite_output_dir=True)
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-3000:]
    assert [p.name for p in list_checkpoints(output)] == ["checkpoint-3", "checkpoint-6"]
    assert json.loads((output / "checkpoint-6" / "trainer_state.json").read_text())["global_step"] == 6
    assert not lock_path(output).exists()  # released at the end of the run


def test_a_lock_left_by_a_killed_run_is_taken_over_with_a_log_line(tmp_path, logs):
    output = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tuneformers.trainer.output_folder import "
                               "output_folder_lock as l\nwith l(sys.argv[1]):\n  print('held', flush=True); "
                               "time.sleep(60)", str(output)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # SIGKILL: the lock file stays, naming a process that is gone
    holder.wait()
    assert lock_path(output).is_file()
    _, result = train(output, max_steps=2)
    assert result.global_step == 2
    assert any("Taking over the lock" in r.getMessage() and f"pid {holder.pid}" in r.getMessage() for r in logs.records)


def test_the_lock_is_reentrant_within_a_process_only(tmp_path):
    with output_folder_lock(tmp_path / "out"), output_folder_lock(tmp_path / "out"):
        holder = subprocess.run([sys.executable, "-c", "import sys; from tuneformers.trainer.output_folder import "
                                 "output_folder_lock as l\nwith l(sys.argv[1]): pass", str(tmp_path / "out")],
                                capture_output=True, text=True)
        assert holder.returncode == 1 and f"pid {os.getpid()}" in holder.stderr
    assert not lock_path(tmp_path / "out").exists()


def test_the_lock_goes_inside_the_folder_when_its_parent_is_read_only(tmp_path, monkeypatch):
    """A mounted volume as output_dir: nothing can be created beside it, so the lock file lives in it."""
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    folder = tmp_path / "volume"
    assert lock_path(folder) == folder / ".tuneformers.lock"
    with output_folder_lock(folder):
        assert json.loads((folder / ".tuneformers.lock").read_text())["pid"] == os.getpid()
    assert names(folder) == []


# ---- 4. one timeline ------------------------------------------------------------------------------------------


def test_resuming_from_an_older_checkpoint_moves_the_abandoned_timeline_aside(tmp_path, logs):
    """Before: rotation kept the abandoned checkpoint-8 as the newest and deleted each new checkpoint."""
    output = tmp_path / "out"
    train(output, max_steps=8)
    _, result = train(output, resume=str(output / "checkpoint-2"), max_steps=5, save_total_limit=2)
    assert result.global_step == 5
    assert [p.name for p in list_checkpoints(output)] == ["checkpoint-4", "checkpoint-5"]
    aside = [p for p in output.iterdir() if p.name.startswith("abandoned-")]
    assert len(aside) == 1 and names(aside[0]) == ["checkpoint-4", "checkpoint-6", "checkpoint-8"]
    assert any("belong to an abandoned run" in r.getMessage() for r in logs.records)
    assert ckpt.last_checkpoint(output).name == "checkpoint-5"  # resume_from_checkpoint=True follows this run


# ---- 5. debris of interrupted saves ------------------------------------------------------------------------------


def test_the_next_run_removes_every_leftover_of_interrupted_saves_and_says_so(tmp_path, logs):
    """Before: only .checkpoint-N.*.tmp folders were removed (by rotation, if any); the rest stayed for good."""
    import shutil

    output = tmp_path / "out"
    train(output, max_steps=4)
    shutil.copytree(output / "checkpoint-4", output / ".checkpoint-4.old")  # a re-save killed after its 1st rename
    shutil.copytree(output / "checkpoint-2", output / ".checkpoint-2.old")  # ... and before its 2nd: restored
    shutil.rmtree(output / "checkpoint-2")
    (output / "checkpoint-6").mkdir()  # rotation killed after deleting trainer_state.json
    (output / "checkpoint-6" / "model.safetensors").write_bytes(b"x")
    (output / ".checkpoint-8.x1y2.tmp").mkdir()  # a save killed half-way
    (output / ".model.safetensors.abc.tmp").write_bytes(b"x" * 100)  # an atomic write killed half-way
    (output / "checkpoint-4" / ".config.json.def.tmp").write_bytes(b"{")
    _, result = train(output, resume=True, max_steps=4)
    assert result.global_step == 4
    assert names(output) == ["checkpoint-2", "checkpoint-4"]
    assert not any(name.startswith(".") for name in names(output / "checkpoint-4"))
    messages = " | ".join(r.getMessage() for r in logs.records if r.getMessage().startswith("Cleaning"))
    for what in ("restored checkpoint-2 from .checkpoint-2.old", "deleted .checkpoint-4.old", "deleted checkpoint-6",
                 "deleted .checkpoint-8.x1y2.tmp", "deleted .model.safetensors.abc.tmp",
                 "deleted checkpoint-4/.config.json.def.tmp"):
        assert what in messages


# ---- 6. durability -------------------------------------------------------------------------------------------


def test_every_checkpoint_file_and_the_folder_rename_are_fsynced(tmp_path, monkeypatch):
    """Before: optimizer.pt, scheduler.pt (torch.save) and the renamed folder were never fsynced."""
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    output = (tmp_path / "out").resolve()
    train(output, max_steps=2)
    temporary = [Path(path) for path in synced if ".checkpoint-2." in path]
    assert {"optimizer.pt", "scheduler.pt", "model.safetensors", "rng_state.safetensors", "trainer_state.json"} <= {
        path.name for path in temporary}
    last_file = max(index for index, path in enumerate(synced) if ".checkpoint-2." in path)
    assert str(output) in synced[last_file + 1:]  # the output folder itself, after the rename


# ---- 7. the log after a resume ---------------------------------------------------------------------------------


class CrashAtLog(TrainerCallback):
    def on_log(self, args, state, control, **kwargs):
        if state.global_step == 5:
            raise KeyboardInterrupt  # the run dies after log.jsonl got step 5, one step past checkpoint-4


def test_after_a_resume_the_log_has_no_repeats_and_train_loss_covers_the_whole_run(tmp_path):
    """Before: log.jsonl repeated step 5 and train_loss was the mean of steps 5-6 only."""
    settings = dict(max_steps=6, save_steps=2, report_to="jsonl")
    _, reference = train(tmp_path / "full", **settings)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "out", callbacks=[CrashAtLog()], **settings)
    _, resumed = train(tmp_path / "out", resume=True, **settings)
    lines = [json.loads(line) for line in (tmp_path / "out" / "log.jsonl").read_text().splitlines()]
    steps = [entry["step"] for entry in lines if "loss" in entry]
    assert steps == [1, 2, 3, 4, 5, 6]
    expected = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [entry["loss"] for entry in lines if "loss" in entry] == [entry["loss"] for entry in expected if "loss" in entry]
    assert resumed.training_loss == pytest.approx(reference.training_loss, rel=1e-6)


# ---- 8. checkpoint load errors ------------------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _wrong_types(path: Path) -> None:
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "global_step": "four"}))


def _best_outside(path: Path) -> None:
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "best_model_checkpoint": "/etc"}))


DAMAGE = {
    "empty trainer_state": ("trainer_state.json", lambda p: p.write_text(""), r"trainer_state.json is empty"),
    "truncated trainer_state": ("trainer_state.json", _truncate, r"trainer_state.json is not valid JSON"),
    "mistyped trainer_state": ("trainer_state.json", _wrong_types, r"trainer_state.json has values of the wrong type.*global_step"),
    "empty rng_state.json": ("rng_state.json", lambda p: p.write_text(""), r"rng_state.json is missing, empty or not valid"),
    "mistyped rng_state.json": ("rng_state.json", lambda p: p.write_text("[1]"), r"rng_state.json must be a list"),
    "truncated optimizer.pt": ("optimizer.pt", _truncate, r"optimizer.pt is truncated or damaged"),
    "truncated model.safetensors": ("model.safetensors", _truncate, r"model.safetensors is truncated or damaged"),
    "best outside the folder": ("trainer_state.json", _best_outside, r"best_model_checkpoint='/etc'.*refusing"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_checkpoint_is_an_error_naming_the_file_and_the_fix(tmp_path, case):
    """Before: JSONDecodeError, TypeError, RuntimeError or SafetensorError without the file; /etc was accepted."""
    name, damage, message = DAMAGE[case]
    output = tmp_path / "out"
    train(output, max_steps=4)
    damage(output / "checkpoint-4" / name)
    with pytest.raises(ckpt.CheckpointError, match=message) as error:
        train(output, resume=str(output / "checkpoint-4"), max_steps=4)
    assert str(output / "checkpoint-4") in str(error.value)
    assert "best outside" in case or "resume from another checkpoint, or delete this one" in str(error.value)


def test_a_checkpoint_whose_state_does_not_parse_is_not_a_resume_candidate(tmp_path):
    output = tmp_path / "out"
    train(output, max_steps=4)
    (output / "checkpoint-4" / "trainer_state.json").write_text("")
    assert ckpt.last_checkpoint(output).name == "checkpoint-2"
    trainer, result = train(output, resume=True, max_steps=4)
    assert result.global_step == 4 and trainer.state.log_history[0]["step"] == 1


class Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_malicious_optimizer_pickle_is_refused_without_suggesting_weights_only_false(tmp_path):
    output = tmp_path / "out"
    train(output, max_steps=2)
    marker = tmp_path / "pwned"
    torch.save({"state": Payload(marker), "param_groups": []}, output / "checkpoint-2" / "optimizer.pt")
    with pytest.raises(ckpt.CheckpointError, match="Refused to load .*optimizer.pt") as error:
        train(output, resume=True, max_steps=2)
    assert "weights_only" not in str(error.value) and not marker.exists()


def test_a_checkpoint_written_by_hf_transformers_trainer_says_so(tmp_path):
    """Before: FileNotFoundError for rng_state.safetensors."""
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=37)
    data = [{"input_ids": torch.tensor([1, 2, 3]), "labels": torch.tensor(0)} for _ in range(4)]
    hf_args = transformers.TrainingArguments(output_dir=str(tmp_path / "hf"), max_steps=1, save_steps=1,
                                             report_to="none", use_cpu=True, per_device_train_batch_size=2,
                                             disable_tqdm=True)
    transformers.Trainer(model=transformers.BertForSequenceClassification(config), args=hf_args,
                         train_dataset=data).train()
    folder = tmp_path / "hf" / "checkpoint-1"
    with pytest.raises(ckpt.CheckpointError, match=r"written by another library.*from_pretrained"):
        train(tmp_path / "out", resume=str(folder), max_steps=2)


@pytest.mark.parametrize("failure", ["ENOSPC", "torch enforce"])
def test_a_full_disk_while_saving_says_no_space_left_on_the_device(tmp_path, monkeypatch, failure):
    """Before: 'enforce fail at inline_container.cc' (or a bare OSError) naming a temporary file."""
    def full_disk(*args, **kwargs):
        if failure == "ENOSPC":
            raise OSError(errno.ENOSPC, "No space left on device")
        raise RuntimeError("[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file "
                           "data/0: file write failed")

    import shutil

    monkeypatch.setattr(torch, "save", full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(100, 100, 0))
    output = tmp_path / "out"
    with pytest.raises(ckpt.NoSpaceError, match=r"No space left on /\S* while writing checkpoint-2"):
        train(output, max_steps=2)
    assert names(output) == []  # no half-written checkpoint, no temporary folder


# ---- 9. the CLI run folder ------------------------------------------------------------------------------------


def test_cli_train_refuses_a_folder_holding_a_trained_model_without_overwrite(tmp_path, capsys):
    """Before: the second run silently replaced the first run's model."""
    from tuneformers.cli.main import main

    output = tmp_path / "run"
    output.mkdir()
    (output / "metrics.json").write_text("{}")
    (output / "model.safetensors").write_bytes(b"")
    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(10)))
    code = main(["train", "--train_file", str(data), "--output_dir", str(output), "--max_steps", "1"])
    assert code == 2
    assert "already holds a trained model (metrics.json, model.safetensors)" in capsys.readouterr().err
    with output_folder_lock(output):  # the command holds the lock too: another process would be refused
        pass


def test_cli_train_into_a_folder_another_process_holds_is_refused(tmp_path, capsys):
    from tuneformers.cli.main import main

    output = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from tuneformers.trainer.output_folder import "
                               "output_folder_lock as l\nwith l(sys.argv[1]):\n  print('held', flush=True); "
                               "time.sleep(60)", str(output)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        data = tmp_path / "data.csv"
        data.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(10)))
        code = main(["train", "--train_file", str(data), "--output_dir", str(output), "--max_steps", "1"])
        assert code == 2 and f"is in use by another run (pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


def _run_folder(folder: Path, run: str) -> None:
    folder.mkdir(parents=True)
    for name in ("model.safetensors", "metrics.json", "trainer_state.json", "training_args.json", "vocab.txt"):
        (folder / name).write_text(run)


class Killed(BaseException):
    pass


@pytest.mark.parametrize("kill_at", [1, 2, 3, 4])
def test_a_final_save_killed_at_any_rename_leaves_one_run_never_a_mix(tmp_path, monkeypatch, kill_at):
    """Before: the final files were written one by one into the folder: a kill left new weights beside old metrics."""
    folder = tmp_path / "run"
    _run_folder(folder, "old")
    (folder / "checkpoint-3").mkdir()  # the new run's checkpoints and log live in the folder until the swap
    (folder / "log.jsonl").write_text("new")
    new = tmp_path / ".run.final-x.tmp"
    _run_folder(new, "new")
    real_replace, calls = os.replace, []

    def replace_then_die(source, target):
        calls.append(source)
        if len(calls) == kill_at:
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace_then_die)
    try:
        swap_in_folder(new, folder)
    except Killed:
        pass
    monkeypatch.setattr(os, "replace", real_replace)
    recover_swap(folder)
    contents = {(folder / name).read_text() for name in ("model.safetensors", "metrics.json", "training_args.json",
                                                       "trainer_state.json", "vocab.txt")}
    assert len(contents) == 1  # one run's files, whichever
    if contents == {"new"}:
        assert (folder / "checkpoint-3").is_dir() and (folder / "log.jsonl").read_text() == "new"
    assert names(tmp_path) == ["run"]  # no sibling left over (the lock file goes with the run)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, minilm_dir) -> Path:
    """A 2-layer, 32-wide random BERT with the real all-MiniLM-L6-v2 tokenizer."""
    import shutil

    from tuneformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=64)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (minilm_dir / name).is_file():
            shutil.copy(minilm_dir / name, folder / name)
    return folder


def test_cli_train_killed_during_its_final_save_leaves_one_run_after_recovery(tmp_path, tiny_model_dir, monkeypatch):
    """The command's final folder is one unit: killed between its two renames, the folder is one run's, whole."""
    import hashlib

    from tuneformers.cli.main import main
    from tuneformers.trainer import output_folder

    data = tmp_path / "data.csv"
    data.write_text("text,label\n" + "".join(f"review number {i} is {'good' if i % 2 else 'bad'},{i % 2}\n"
                                             for i in range(24)))
    output = tmp_path / "run"
    def command(steps: int) -> list[str]:
        return ["train", "--model", str(tiny_model_dir), "--train_file", str(data), "--output_dir", str(output),
                "--max_steps", str(steps), "--validation_fraction", "0", "--max_length", "16", "--no_plot",
                "--report_to", "jsonl", "--disable_tqdm", "--save_strategy", "steps", "--save_steps", "1"]
    assert main(command(1)) == 0
    first_model = hashlib.sha256((output / "model.safetensors").read_bytes()).hexdigest()

    class DieBeforeTheLastRename:  # the swap's renames: new -> .run.new, run -> .run.old, .run.new -> run
        def __getattr__(self, name):
            return getattr(os, name)

        def replace(self, source, target):
            if Path(target) == output:
                raise Killed
            os.replace(source, target)

    monkeypatch.setattr(output_folder, "os", DieBeforeTheLastRename())
    with pytest.raises(Killed):
        main(command(2) + ["--overwrite_output_dir"])
    monkeypatch.undo()
    assert not output.exists()  # killed between the renames
    recover_swap(output)
    state = json.loads((output / "trainer_state.json").read_text())
    metrics = json.loads((output / "metrics.json").read_text())
    model = hashlib.sha256((output / "model.safetensors").read_bytes()).hexdigest()
    assert state["global_step"] == 2 and metrics["epoch"] == state["epoch"] and model != first_model
    assert [p.name for p in list_checkpoints(output)] == ["checkpoint-1", "checkpoint-2"]  # the run's own checkpoints
    steps = [json.loads(line)["step"] for line in (output / "log.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and steps[-1] == 2  # one timeline
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".run")) == []
