"""Kill-and-resume: a run killed with SIGKILL mid-epoch and mid-save, then resumed, ends bit-identical."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import torch
from safetensors.torch import load_file

CHILD = textwrap.dedent(
    """
    import os, random, signal, sys
    import numpy as np
    import torch
    import torch.nn.functional as F
    from safetensors.torch import save_file
    from tuneformers.trainer import checkpoint as ckpt
    from tuneformers.trainer.callbacks import TrainerCallback
    from tuneformers.trainer.trainer import Trainer
    from tuneformers.trainer.training_args import TrainingArguments

    output_dir, mode, at_step = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class Net(torch.nn.Module):  # dropout: the torch RNG state matters
        def __init__(self):
            super().__init__()
            self.hidden, self.out, self.drop = torch.nn.Linear(4, 16), torch.nn.Linear(16, 1), torch.nn.Dropout(0.3)
        def forward(self, x, labels=None):
            y = self.out(self.drop(torch.tanh(self.hidden(x)))).squeeze(-1)
            return F.mse_loss(y, labels), y

    def noisy_collator(features):  # python and numpy RNG states matter too
        x = torch.stack([f["x"] for f in features])
        x = x + torch.from_numpy(np.random.normal(0, 0.01, x.shape).astype("float32")) * random.random()
        return {"x": x, "labels": torch.stack([f["labels"] for f in features])}

    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=g)
    data = [{"x": x[i], "labels": torch.sin(x[i]).sum()} for i in range(60)]
    torch.manual_seed(0)
    model = Net()
    args = TrainingArguments(output_dir=output_dir, per_device_train_batch_size=8, gradient_accumulation_steps=2,
                             num_train_epochs=3, learning_rate=0.02, save_steps=3, save_total_limit=2,
                             eval_strategy="steps", eval_steps=2, logging_steps=2, report_to="none")

    class KillAtStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == at_step:
                os.kill(os.getpid(), signal.SIGKILL)

    if mode == "kill_save":  # die after the weights of checkpoint-<at_step> are written, before the rest
        write_weights = ckpt.save_model_weights
        def write_then_die(model, folder):
            write_weights(model, folder)
            if f"checkpoint-{at_step}." in folder.name:
                os.kill(os.getpid(), signal.SIGKILL)
        ckpt.save_model_weights = write_then_die

    callbacks = [KillAtStep()] if mode == "kill_step" else []
    trainer = Trainer(model, args, data_collator=noisy_collator, train_dataset=data, eval_dataset=data[:16],
                      callbacks=callbacks)
    trainer.train(resume_from_checkpoint=True if mode in ("kill_save", "resume") else None)
    save_file(dict(model.state_dict()), os.path.join(output_dir, "final.safetensors"))
    """
)


def run(tmp_path, output_dir, mode, at_step=0):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.run([sys.executable, str(script), str(output_dir), mode, str(at_step)],
                          capture_output=True, text=True, timeout=300)


def test_sigkill_mid_epoch_and_mid_save_then_resume_is_bit_identical(tmp_path):
    reference = run(tmp_path, tmp_path / "full", "full")
    assert reference.returncode == 0, reference.stderr[-3000:]

    output_dir = tmp_path / "killed"
    # 8 batches of 8 (the last one 4) per epoch, 2 per step: 4 steps per epoch, 12 in all; saves every 3.
    killed = run(tmp_path, output_dir, "kill_step", 7)  # mid-epoch 2, one step after checkpoint-6
    assert killed.returncode == -signal.SIGKILL
    assert sorted(p.name for p in output_dir.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-3", "checkpoint-6"]

    killed = run(tmp_path, output_dir, "kill_save", 9)  # resumes from 6 (mid-epoch), dies writing checkpoint-9
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert "Resuming from" in killed.stderr
    names = sorted(p.name for p in output_dir.iterdir())
    assert "checkpoint-9" not in names and "checkpoint-6" in names
    assert any(name.startswith(".checkpoint-9.") for name in names)  # the half-written temporary folder

    resumed = run(tmp_path, output_dir, "resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "skipped 2 steps of epoch" in resumed.stderr  # progress bar shows the resume skip
    expected = load_file(str(tmp_path / "full" / "final.safetensors"))
    actual = load_file(str(output_dir / "final.safetensors"))
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name
    assert not any(p.name.startswith(".checkpoint-") for p in output_dir.iterdir())  # stray temp folder cleaned
