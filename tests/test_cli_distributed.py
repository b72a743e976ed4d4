"""`tuneformers train --nproc_per_node M --nnodes N --rdzv_endpoint ...` re-launches itself through torchrun: two
simulated machines (two commands on localhost) with FSDP train the same model as one process with the same global
batch, and rank 0 alone writes the run folder and prints the summary."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tuneformers import BertConfig, BertForSequenceClassification, load_rotten_tomatoes

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def model_without_dropout(tmp_path_factory, minilm_dir) -> Path:
    folder = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=512, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (minilm_dir / name).is_file():
            shutil.copy(minilm_dir / name, folder / name)
    return folder


def train_command(model: Path, data: Path, output: Path, per_device: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tuneformers", "train", "--model", str(model), "--train_file", str(data),
            "--output_dir", str(output), "--max_steps", "4", "--per_device_train_batch_size", str(per_device),
            "--learning_rate", "1e-3", "--max_length", "32", "--logging_steps", "2", "--eval_steps", "2",
            "--save_steps", "2", "--group_by_length", "--bf16", "false", "--no_plot", "--disable_tqdm", *extra]


def test_two_machines_with_fsdp_train_like_one_process_and_write_one_run_folder(tmp_path, model_without_dropout):
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": e.text, "label": e.label}) + "\n"
                            for e in load_rotten_tomatoes(max_examples=80, seed=3)), encoding="utf-8")
    single = subprocess.run(train_command(model_without_dropout, data, tmp_path / "one", 16), capture_output=True,
                            text=True, env=ENV, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        endpoint = f"localhost:{sock.getsockname()[1]}"
    machines = []
    for _ in range(2):
        command = train_command(model_without_dropout, data, tmp_path / "two", 8, "--fsdp", "full_shard",
                                "--nproc_per_node", "1", "--nnodes", "2", "--rdzv_endpoint", endpoint)
        machines.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV))
        time.sleep(1.0)
    outputs = [machine.communicate(timeout=300) for machine in machines]
    assert [m.returncode for m in machines] == [0, 0], "\n".join(err[-3000:] for _, err in outputs)
    assert all("launching 1 process(es) per machine on 2 machine(s) through torchrun" in err for _, err in outputs)
    assert sum("tuneformers train: summary" in out for out, _ in outputs) == 1  # rank 0 alone reports

    one, two = tmp_path / "one", tmp_path / "two"
    assert json.loads((two / "metrics.json").read_text())["eval_accuracy"] == pytest.approx(
        json.loads((one / "metrics.json").read_text())["eval_accuracy"])
    expected, actual = load_file(str(one / "model.safetensors")), load_file(str(two / "model.safetensors"))
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-5, atol=1e-5, msg=name)
    assert BertForSequenceClassification.from_pretrained(two).config.num_labels == 2


def test_pretrain_from_scratch_in_two_processes_trains_one_tokenizer_and_one_cache(tmp_path):
    lines = [example.text for example in load_rotten_tomatoes(max_examples=400, seed=4)]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "pretrained"
    result = subprocess.run(
        [sys.executable, "-m", "tuneformers", "pretrain", "--nproc_per_node", "2", "--train_file", str(corpus),
         "--config_name", "bert", "--vocab_size", "400", "--hidden_size", "32", "--num_hidden_layers", "2",
         "--num_attention_heads", "4", "--intermediate_size", "37", "--block_size", "32", "--max_steps", "12",
         "--eval_steps", "12", "--per_device_train_batch_size", "8", "--learning_rate", "5e-3", "--output_dir",
         str(output), "--report_to", "none", "--disable_tqdm", "--no_plot"],
        capture_output=True, text=True, env=ENV, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("trained a") == 1  # rank 0 trained the tokenizer and alone prints
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["eval_perplexity"] < metrics["eval_perplexity_before"]
    assert sorted(path.suffix for path in (output / "lm_cache").glob("cached_*")) == [".ids", ".starts"]
    from tuneformers import AutoTokenizer

    saved, shared = AutoTokenizer.from_pretrained(output), AutoTokenizer.from_pretrained(output / "lm_cache" / "new_tokenizer")
    assert saved.get_vocab() == shared.get_vocab()
