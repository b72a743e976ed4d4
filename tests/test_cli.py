"""`tuneformers train / evaluate / predict / plot / env` end to end, as subprocesses, on real data.

Fast tests use a tiny random BERT that shares all-MiniLM-L6-v2's tokenizer (so tokenization is
real) on Rotten Tomatoes snippets; the slow test fine-tunes the real checkpoint for a few steps.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tuneformers import (AutoModelForSequenceClassification, AutoTokenizer, BertConfig,  # noqa: E402
                         BertForSequenceClassification, load_lee_similarity, load_rotten_tomatoes)
from tuneformers.cli.main import main  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def tuneformers(*argv: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tuneformers", *map(str, argv)], capture_output=True, text=True,
                            cwd=cwd, timeout=timeout)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def check_png(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        from PIL import Image
    except ImportError:
        return width, height
    with Image.open(path) as image:
        image.verify()
        assert image.size == (width, height)
    return width, height


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory, minilm_dir) -> Path:
    """A 2-layer, 32-wide random BERT with the real all-MiniLM-L6-v2 tokenizer."""
    folder = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=37, max_position_embeddings=512)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        if (minilm_dir / name).is_file():
            shutil.copy(minilm_dir / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> dict[str, Path]:
    """Real Rotten Tomatoes snippets as a CSV training file and a JSONL test file with string labels."""
    folder = tmp_path_factory.mktemp("reviews")
    examples = load_rotten_tomatoes(max_examples=160, seed=7)
    names = ("rotten", "fresh")
    with open(folder / "train.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "verdict"])
        writer.writerows([example.text, names[example.label]] for example in examples[:120])
    with open(folder / "test.jsonl", "w", encoding="utf-8") as handle:
        for index, example in enumerate(examples[120:]):
            handle.write(json.dumps({"id": index, "review": example.text, "verdict": names[example.label]}) + "\n")
    return {"train": folder / "train.csv", "test": folder / "test.jsonl", "labels": [names[e.label] for e in examples[120:]]}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_model_dir, reviews) -> dict:
    output = tmp_path_factory.mktemp("run") / "reviews"
    result = tuneformers("train", "--model", tiny_model_dir, "--train_file", reviews["train"],
                         "--text_column", "review", "--label_column", "verdict", "--output_dir", output,
                         "--max_steps", 6, "--per_device_train_batch_size", 16, "--logging_steps", 2,
                         "--eval_steps", 3, "--max_length", 48, "--disable_tqdm")
    return {"output": output, "stdout": result.stdout}


def test_train_writes_a_loadable_model_metrics_state_logs_and_plot(tiny_run, reviews):
    output = tiny_run["output"]
    model = AutoModelForSequenceClassification.from_pretrained(output)
    assert model.config.id2label == {0: "fresh", 1: "rotten"} and model.config.problem_type == \
        "single_label_classification"
    tokenizer = AutoTokenizer.from_pretrained(output)
    batch = tokenizer(["a fine film"], return_tensors="pt")
    assert model(**batch).logits.shape == (1, 2)

    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["num_train_examples"] == 108 and metrics["num_eval_examples"] == 12  # 10 % held out
    for key in ("train_loss", "train_runtime", "eval_loss", "eval_accuracy", "eval_f1_macro",
                "eval_majority_class_accuracy"):
        assert isinstance(metrics[key], float), key
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and metrics["task"] == "classification"

    state = json.loads((output / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    assert [logs["step"] for logs in state["log_history"] if "eval_accuracy" in logs] == [3, 6]
    assert [logs["step"] for logs in state["log_history"] if "learning_rate" in logs] == [1, 2, 4, 6]  # logging_first_step
    assert list((output / "runs").rglob("events.out.tfevents.*")), "no TensorBoard event file"

    width, height = check_png(output / "training_plot.png")
    assert width >= 800 and height >= 300
    summary = tiny_run["stdout"]
    assert "tuneformers train: summary" in summary and "held-out accuracy" in summary


def test_evaluate_reports_the_metrics_of_the_saved_model(tiny_run, reviews, tmp_path):
    output = tiny_run["output"]
    result = tuneformers("evaluate", output, reviews["test"], "--text_column", "review", "--label_column", "verdict",
                         "--output", tmp_path / "metrics.json", "--disable_tqdm")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["eval_samples"] == 40 and "accuracy" in result.stdout
    # The same numbers straight from the model.
    model = AutoModelForSequenceClassification.from_pretrained(output)
    tokenizer = AutoTokenizer.from_pretrained(output)
    rows = [json.loads(line) for line in reviews["test"].read_text().splitlines()]
    batch = tokenizer([row["review"] for row in rows], truncation=True, max_length=48, padding=True,
                      return_tensors="pt")  # the run's --max_length, which evaluate reads from its metrics.json
    assert batch["attention_mask"].sum(1).max() == 48, "some test reviews must be longer than 48 tokens"
    labels = torch.tensor([model.config.label2id[row["verdict"]] for row in rows])
    with torch.no_grad():
        outputs = model(**batch, labels=labels)
    assert metrics["eval_accuracy"] == pytest.approx((outputs.logits.argmax(-1) == labels).float().mean().item())
    assert metrics["eval_loss"] == pytest.approx(outputs.loss.item(), rel=1e-4)


def test_evaluate_and_predict_truncate_as_the_model_was_trained(tmp_path):
    from tuneformers.cli.inference import DEFAULT_MAX_LENGTH, resolve_max_length

    def resolved(max_length, metrics=None):
        if metrics is not None:
            (tmp_path / "metrics.json").write_text(metrics)
        args = argparse.Namespace(max_length=max_length, model_dir=str(tmp_path))
        resolve_max_length(args)
        return args.max_length

    assert resolved(None) == DEFAULT_MAX_LENGTH == 128  # no metrics.json: not a `tuneformers train` folder
    assert resolved(None, json.dumps({"max_length": 48})) == 48
    assert resolved(256) == 256  # the flag wins
    assert resolved(None, "not json") == DEFAULT_MAX_LENGTH


def test_predict_writes_one_row_per_input(tiny_run, reviews, tmp_path):
    output = tiny_run["output"]
    result = tuneformers("predict", output, reviews["test"], "--text_column", "review", "--batch_size", 16,
                         "--output", tmp_path / "predictions.csv")
    assert "predict" in result.stderr  # the progress bar
    with open(tmp_path / "predictions.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and [row["id"] for row in rows] == [str(i) for i in range(40)]
    assert set(rows[0]) == {"id", "review", "verdict", "predicted_label", "prob_fresh", "prob_rotten"}
    for row in rows:
        probabilities = {"fresh": float(row["prob_fresh"]), "rotten": float(row["prob_rotten"])}
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert row["predicted_label"] == max(probabilities, key=probabilities.get)

    assert main(["predict", str(output), str(reviews["test"]), "--text_column", "review", "--batch_size", "7",
                 "--output", str(tmp_path / "predictions.jsonl"), "--disable_tqdm"]) == 0  # in-process: faster
    records = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 40 and [r["id"] for r in records] == list(range(40))
    np.testing.assert_allclose([r["probabilities"]["fresh"] for r in records],
                               [float(row["prob_fresh"]) for row in rows], atol=2e-6)


def test_regression_on_text_pairs_in_process(tmp_path, tiny_model_dir, capsys):
    """Fractional labels make a regression task; the pair column feeds segment B."""
    pairs = load_lee_similarity()[:60]
    with open(tmp_path / "pairs.tsv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["a", "b", "score"])
        writer.writerows([p.text[:200], p.text_pair[:200], p.label] for p in pairs)
    output = tmp_path / "run"
    code = main(["train", "--model", str(tiny_model_dir), "--train_file", str(tmp_path / "pairs.tsv"),
                 "--text_column", "a", "--text_pair_column", "b", "--label_column", "score", "--output_dir",
                 str(output), "--max_steps", "2", "--max_length", "64", "--no_plot", "--report_to", "none",
                 "--disable_tqdm", "--ignore_mismatched_sizes"])  # the tiny model has a 2-label head
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["task"] == "regression" and {"eval_mse", "eval_pearson", "eval_spearmanr"} <= set(metrics)
    assert AutoModelForSequenceClassification.from_pretrained(output).config.problem_type == "regression"
    assert not (output / "training_plot.png").exists()
    code = main(["predict", str(output), str(tmp_path / "pairs.tsv"), "--text_column", "a", "--text_pair_column",
                 "b", "--output", str(tmp_path / "scores.jsonl"), "--disable_tqdm"])
    assert code == 0
    records = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert len(records) == 60 and all(isinstance(r["prediction"], float) for r in records)


def test_evaluate_rejects_labels_the_model_does_not_know(tiny_run, tmp_path, capsys):
    data = tmp_path / "odd.csv"
    data.write_text("review,verdict\ngood,fresh\nbad,meh\n", encoding="utf-8")
    code = main(["evaluate", str(tiny_run["output"]), str(data), "--text_column", "review", "--label_column",
                 "verdict"])
    err = capsys.readouterr().err
    assert code == 2 and "label(s) ['meh']" in err and "fresh" in err


def test_plot_command_redraws_from_trainer_state(tiny_run, tmp_path):
    tuneformers("plot", tiny_run["output"], "--output", tmp_path / "again.png")
    check_png(tmp_path / "again.png")


def test_env_lists_versions_and_hardware():
    result = tuneformers("env")
    for name in ("python", "torch", "numpy", "tokenizers", "safetensors", "cpu", "cuda"):
        assert f"- {name}" in result.stdout, name
    assert torch.__version__ in result.stdout

def test_env_json(capsys):
    assert main(["env", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["torch"].startswith(torch.__version__) and info["numpy"].startswith(np.__version__)


@pytest.mark.slow
def test_train_the_real_checkpoint_on_files(tmp_path, minilm_dir, reviews):
    """all-MiniLM-L6-v2 from its folder, a JSONL validation file, a YAML config under explicit flags."""
    config = tmp_path / "run.yaml"
    config.write_text("max_steps: 100\nlearning_rate: 1.0e-4\nlogging_steps: 2\neval_steps: 2\nmax_length: 64\n")
    output = tmp_path / "minilm"
    tuneformers("train", "--config", config, "--model", minilm_dir, "--train_file", reviews["train"],
                "--validation_file", reviews["test"], "--text_column", "review", "--label_column", "verdict",
                "--output_dir", output, "--max_steps", 2, "--per_device_train_batch_size", 8, "--disable_tqdm")
    state = json.loads((output / "trainer_state.json").read_text())
    assert state["global_step"] == 2  # the flag beat the config file
    assert [logs["step"] for logs in state["log_history"] if "eval_loss" in logs] == [2]
    model = AutoModelForSequenceClassification.from_pretrained(output)
    assert model.config.num_hidden_layers == 6 and model.config.id2label == {0: "fresh", 1: "rotten"}
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["num_eval_examples"] == 40 and 0 <= metrics["eval_accuracy"] <= 1
    check_png(output / "training_plot.png")


def test_same_seed_same_model(tmp_path, tiny_model_dir):
    """The new (3-label) classification head is drawn after seeding too, so two runs give the same weights."""
    from safetensors.torch import load_file

    examples = load_rotten_tomatoes(max_examples=24, seed=5)
    data = tmp_path / "three.jsonl"
    data.write_text("".join(json.dumps({"text": e.text, "label": ["a", "b", "c"][i % 3]}) + "\n"
                            for i, e in enumerate(examples)), encoding="utf-8")
    weights = []
    for run in ("a", "b"):
        code = main(["train", "--model", str(tiny_model_dir), "--train_file", str(data), "--output_dir",
                     str(tmp_path / run), "--max_steps", "1", "--validation_fraction", "0", "--max_length", "16",
                     "--no_plot", "--report_to", "none", "--disable_tqdm", "--ignore_mismatched_sizes", "--seed", "3"])
        assert code == 0
        weights.append(load_file(str(tmp_path / run / "model.safetensors")))
    assert weights[0]["classifier.weight"].shape == (3, 32)
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=0, atol=0, msg=key)


def test_train_without_matplotlib_warns_first_and_finishes(tmp_path, tiny_model_dir, capsys, monkeypatch):
    """Issue 11: a missing optional dependency is noticed before training, never after the work is done."""
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "matplotlib" else real_find_spec(name, *args))
    examples = load_rotten_tomatoes(max_examples=24, seed=5)
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": e.text, "label": e.label}) + "\n" for e in examples), encoding="utf-8")
    code = main(["train", "--model", str(tiny_model_dir), "--train_file", str(data), "--output_dir",
                 str(tmp_path / "run"), "--max_steps", "1", "--validation_fraction", "0", "--max_length", "16",
                 "--report_to", "none", "--disable_tqdm"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "matplotlib is not installed" in err and "--no_plot" in err
    assert err.index("matplotlib is not installed") < len(err) and "summary" in out
    assert (tmp_path / "run" / "model.safetensors").is_file() and not (tmp_path / "run" / "training_plot.png").exists()


def small_reviews_file(folder: Path, rows: int = 32) -> Path:
    examples = load_rotten_tomatoes(max_examples=rows, seed=5)
    data = folder / "reviews.jsonl"
    data.write_text("".join(json.dumps({"text": e.text, "label": e.label}) + "\n" for e in examples), encoding="utf-8")
    return data


def test_default_recipe_fits_a_small_file(tmp_path, tiny_model_dir, capsys):
    """Issue 17: without --num_train_epochs / --max_steps / --max_length, a 24-row file gets batch 8, epochs up
    to the cap, an evaluation each epoch, the best model kept (no checkpoints left) and max_length from its texts."""
    output = tmp_path / "run"
    code = main(["train", "--model", str(tiny_model_dir), "--train_file", str(small_reviews_file(tmp_path)),
                 "--validation_fraction", "0.25", "--output_dir", str(output), "--no_plot", "--report_to", "none",
                 "--disable_tqdm"])
    out, err = capsys.readouterr()
    assert code == 0, err
    args = json.loads((output / "training_args.json").read_text())
    assert (args["per_device_train_batch_size"], args["num_train_epochs"]) == (8, 10.0)  # 3 steps an epoch
    assert args["eval_strategy"] == args["save_strategy"] == "epoch" and args["load_best_model_at_end"]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["max_length"] % 8 == 0 and 16 <= metrics["max_length"] < 128  # snippets
    state = json.loads((output / "trainer_state.json").read_text())
    assert [logs["step"] for logs in state["log_history"] if "eval_loss" in logs] == \
        list(range(3, state["global_step"] + 1, 3))
    assert not list(output.glob("checkpoint-*")) and (output / "model.safetensors").is_file()
    for row in ("max length", "batch size", "epochs", "evaluation", "model kept"):
        assert f"\n{row} " in out, row
    assert "warning: only" in out  # 30 steps at most


def test_explicit_flags_override_the_recipe(tmp_path, tiny_model_dir, capsys):
    output = tmp_path / "run"
    code = main(["train", "--model", str(tiny_model_dir), "--train_file", str(small_reviews_file(tmp_path)),
                 "--validation_fraction", "0.25", "--output_dir", str(output), "--no_plot", "--report_to", "none",
                 "--disable_tqdm", "--num_train_epochs", "1", "--per_device_train_batch_size", "4",
                 "--max_length", "16"])
    out, err = capsys.readouterr()
    assert code == 0, err
    args = json.loads((output / "training_args.json").read_text())
    assert (args["per_device_train_batch_size"], args["num_train_epochs"]) == (4, 1.0)
    assert (args["eval_strategy"], args["eval_steps"], args["save_strategy"]) == ("steps", 25, "no")
    assert not args["load_best_model_at_end"] and json.loads((output / "metrics.json").read_text())["max_length"] == 16
    assert json.loads((output / "trainer_state.json").read_text())["global_step"] == 6
    assert "\nbatch size " not in out and "\nmax length " not in out
