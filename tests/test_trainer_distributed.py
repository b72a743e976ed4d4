"""Two processes under torchrun (gloo, CPU) train and evaluate like one process with the same global batch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

CHILD = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    import torch
    import torch.nn.functional as F
    from safetensors.torch import save_file
    from tuneformers.trainer.trainer import Trainer
    from tuneformers.trainer.training_args import TrainingArguments

    output_dir, per_device = sys.argv[1], int(sys.argv[2])

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = torch.nn.Linear(4, 16), torch.nn.Linear(16, 1)
        def forward(self, x, labels=None):
            y = self.out(torch.tanh(self.hidden(x))).squeeze(-1)
            return F.mse_loss(y, labels), y

    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    data = [{"x": x[i], "labels": torch.sin(x[i]).sum()} for i in range(64)]
    torch.manual_seed(0)
    model = Net()
    args = TrainingArguments(output_dir=output_dir, per_device_train_batch_size=per_device,
                             gradient_accumulation_steps=2, max_steps=6, learning_rate=0.02, save_steps=3,
                             logging_steps=3, per_device_eval_batch_size=3, report_to="none", disable_tqdm=True)
    trainer = Trainer(model, args, train_dataset=data, eval_dataset=data[:13],
                      compute_metrics=lambda p: {"mae": float(np.abs(p.predictions - p.label_ids).mean()),
                                                 "n": len(p.predictions)})
    trainer.train()
    metrics = trainer.evaluate()
    if trainer.state.is_world_process_zero:
        save_file(dict(model.state_dict()), os.path.join(output_dir, "final.safetensors"))
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        with open(os.path.join(output_dir, "result.json"), "w") as handle:
            json.dump({"metrics": metrics, "losses": losses, "rank": int(os.environ.get("RANK", 0))}, handle)
    """
)


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
def test_two_process_torchrun_matches_one_process(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    single = subprocess.run([sys.executable, str(script), str(tmp_path / "one"), "8"], capture_output=True, text=True,
                            timeout=300, env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    double = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", str(script), str(tmp_path / "two"), "4"],
                            capture_output=True, text=True, timeout=300, env=env)
    assert double.returncode == 0, double.stderr[-3000:]

    one = json.loads((tmp_path / "one" / "result.json").read_text())
    two = json.loads((tmp_path / "two" / "result.json").read_text())
    assert two["rank"] == 0  # rank 0 alone writes
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    expected, actual = load_file(str(tmp_path / "one" / "final.safetensors")), load_file(str(tmp_path / "two" / "final.safetensors"))
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-6)
    # Evaluation: 13 examples split 7 + 6 over the ranks, gathered back in order, none counted twice.
    assert two["metrics"]["eval_n"] == 13
    for key in ("eval_loss", "eval_mae"):
        assert two["metrics"][key] == pytest.approx(one["metrics"][key], rel=1e-5)
    assert sorted(p.name for p in (tmp_path / "two").iterdir() if p.name.startswith("checkpoint")) == [
        "checkpoint-3", "checkpoint-6"]
    rng = json.loads((tmp_path / "two" / "checkpoint-6" / "rng_state.json").read_text())
    assert len(rng) == 2  # one RNG state per process
