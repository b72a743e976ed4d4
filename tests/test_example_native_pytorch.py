"""examples/finetune_native_pytorch.py runs on a small slice, lowers the loss, and --freeze-encoder trains only the head."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "finetune_native_pytorch.py"
SMALL = ["--train-size", "96", "--eval-size", "32", "--epochs", "2", "--batch-size", "16", "--max-length", "32",
         "--log-every", "4"]  # fmt: skip


def load_example():
    spec = importlib.util.spec_from_file_location("finetune_native_pytorch", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_example_script_lowers_the_training_loss(minilm_dir, rotten_tomatoes_file):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--model", str(minilm_dir), "--learning-rate", "1e-4", *SMALL],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    before = float(re.search(r"train_loss_before=([\d.]+)", result.stdout).group(1))
    after = float(re.search(r"train_loss_after=([\d.]+)", result.stdout).group(1))
    assert after < 0.8 * before, result.stdout
    assert re.fullmatch(r"accuracy=[01]\.\d{3}", lines[-1]), lines[-1]
    assert len(re.findall(r"step=\d+/12 loss=", result.stdout)) == 3  # 2 epochs x 6 batches, logged every 4


@pytest.mark.slow
def test_frozen_encoder_trains_only_the_head(minilm_dir, rotten_tomatoes_file):
    from tuneformers import BertForSequenceClassification

    pretrained = BertForSequenceClassification.from_pretrained(minilm_dir, num_labels=2).bert.state_dict()
    results = load_example().main(["--model", str(minilm_dir), "--freeze-encoder", *SMALL])
    model = results["model"]
    for name, tensor in model.bert.state_dict().items():
        assert torch.equal(tensor, pretrained[name]), f"{name} changed although the encoder was frozen"
    assert {name for name, p in model.named_parameters() if p.requires_grad} == {"classifier.weight", "classifier.bias"}
    assert results["train_loss_after"] < results["train_loss_before"]
