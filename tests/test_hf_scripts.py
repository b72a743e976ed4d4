"""Script tier: programs shaped like Hugging Face's example scripts run end to end against tuneformers on
real local data (Rotten Tomatoes snippets as SST-2), and the metric files they write are checked."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

import tuneformers

SCRIPTS = Path(__file__).parent / "hf_scripts"


def write_sst2(folder: Path, n_train: int, n_dev: int, n_test: int) -> list[int]:
    """SST-2's train.tsv, dev.tsv and test.tsv from Rotten Tomatoes snippets; returns the dev labels."""
    reviews = tuneformers.load_rotten_tomatoes(max_examples=n_train + n_dev + n_test)
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": reviews[:n_train], "dev": reviews[n_train:n_train + n_dev], "test": reviews[n_train + n_dev:]}
    for split, rows in parts.items():
        with open(folder / f"{split}.tsv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\")
            if split == "test":
                writer.writerow(["index", "sentence"])
                writer.writerows((index, row.text.replace("\t", " ")) for index, row in enumerate(rows))
            else:
                writer.writerow(["sentence", "label"])
                writer.writerows((row.text.replace("\t", " "), row.label) for row in rows)
    return [row.label for row in parts["dev"]]


@pytest.mark.slow
def test_run_glue_v3_style_fine_tunes_minilm_on_sst2_files(tmp_path, minilm_dir):
    dev_labels = write_sst2(tmp_path / "SST-2", n_train=400, n_dev=100, n_test=16)
    out = tmp_path / "out"
    command = [sys.executable, str(SCRIPTS / "run_glue_v3_style.py"), "--model_name_or_path", str(minilm_dir),
               "--task_name", "SST-2", "--data_dir", str(tmp_path / "SST-2"), "--do_train", "--do_eval",
               "--do_predict", "--max_seq_length", "64", "--per_gpu_train_batch_size", "16",
               "--per_device_eval_batch_size", "64", "--learning_rate", "1e-4", "--num_train_epochs", "2",
               "--output_dir", str(out), "--save_steps", "1000", "--logging_steps", "25", "--evaluate_during_training",
               "--no_cuda", "--seed", "1", "--report_to", "none", "--disable_tqdm"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "per_gpu_train_batch_size is deprecated" in result.stderr and "device: cpu, n_gpu: 0" in result.stderr
    results = dict(line.split(" = ") for line in (out / "eval_results_sst-2.txt").read_text().splitlines())
    majority = max(dev_labels.count(0), dev_labels.count(1)) / len(dev_labels)
    assert float(results["eval_acc"]) > majority + 0.1, (results, majority)
    predictions = (out / "test_results_sst-2.txt").read_text().splitlines()
    assert predictions[0] == "index\tprediction" and len(predictions) == 17
    assert {line.split("\t")[1] for line in predictions[1:]} <= {"0", "1"}
    reloaded = tuneformers.AutoModelForSequenceClassification.from_pretrained(str(out))
    assert reloaded.config.finetuning_task == "sst-2" and (out / "vocab.txt").is_file()
