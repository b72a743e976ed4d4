"""`tuneformers` command line without a model: --help, --config, label inference, metrics, bad input.

Bad input must end with one line naming the problem and the fix, exit code 2, and no traceback
unless --debug. These checks all fail before a model is loaded, so they run in-process and fast.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from tuneformers.data.labels import LabelSpec
from tuneformers.data.metrics import task_metrics
from tuneformers.data.readers import DataError
from tuneformers.cli.main import main, parse_args
from tuneformers.trainer.training_args import TrainingArguments
from tuneformers.typed_dataclass import field_docs


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def reviews_csv(tmp_path):
    rows = ["review,stars,sentiment"] + [f"review number {i},{1 + i % 5},{'pos' if i % 2 else 'neg'}" for i in range(20)]
    return write(tmp_path / "reviews.csv", "\n".join(rows) + "\n")


# ------------------------------------------------------------------------------------ --help, --config


def test_train_help_shows_every_training_argument_with_its_doc(capsys):
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name, (_, doc) in field_docs(TrainingArguments).items():
        assert f"--{name}" in flat, name
        assert " ".join(doc.split()[:4]) in flat, f"--help lacks the doc of {name}: {doc!r}"
    for flag in ("--train_file", "--text_pair_column", "--label_column", "--dataset", "--config", "--task"):
        assert flag in flat
    assert "(default: 0.0001)" in flat  # the command's own default replaces the dataclass's in the help


def test_python_dash_m_runs_the_command():
    result = subprocess.run([sys.executable, "-m", "tuneformers", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("tuneformers 0."), result


def test_command_line_does_not_import_torch():
    code = "import sys; from tuneformers.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_config_file_values_are_defaults_under_explicit_flags(tmp_path, suffix):
    values = {"learning_rate": 3e-5, "num_train_epochs": 2, "text_column": "review", "report_to": ["none"],
              "max_length": 64, "bf16": True}
    text = json.dumps(values) if suffix == ".json" else "\n".join(
        ["learning_rate: 3.0e-5", "num_train_epochs: 2", "text_column: review", "report_to: [none]",
         "max_length: 64", "bf16: true"])
    config = write(tmp_path / f"run{suffix}", text)
    args = parse_args(["train", "--config", str(config), "--learning_rate", "1e-3", "--max_length", "32"])
    assert args.learning_rate == 1e-3 and args.max_length == 32  # explicit flags win
    assert args.num_train_epochs == 2 and args.text_column == "review" and args.report_to == ["none"]
    assert args.bf16 is True
    assert args.per_device_train_batch_size is None  # unset: chosen from the data (cli/recipe.py) when training
    no_config = parse_args(["train"])
    assert no_config.learning_rate == 1e-4 and no_config.text_column == "text"


def test_config_unknown_setting_suggests_the_flag(tmp_path, capsys):
    config = write(tmp_path / "run.json", json.dumps({"learning_rat": 1e-4}))
    code, _, err = run_cli(capsys, "train", "--config", str(config))
    assert code == 2
    assert "unknown setting 'learning_rat'" in err and "'learning_rate'" in err


def test_config_wrong_type_is_a_user_error(tmp_path, capsys):
    config = write(tmp_path / "run.json", json.dumps({"logging_steps": [3]}))
    train = write(tmp_path / "t.csv", "text,label\na,x\nb,y\nc,x\nd,y\n")
    code, _, err = run_cli(capsys, "train", "--config", str(config), "--train_file", str(train))
    assert code == 2 and "logging_steps" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------ labels, metrics


def test_label_inference():
    assert LabelSpec.infer(["pos", "neg", "pos"]) == LabelSpec("classification", ["neg", "pos"])
    assert LabelSpec.infer(["2", "10", "1"]).names == ["1", "2", "10"]  # numeric order, not text order
    assert LabelSpec.infer(["1.0", "0.0", 1]).names == ["0", "1"]  # whole numbers are classes
    assert LabelSpec.infer([0.5, 1, "0.25"]).task == "regression"
    assert LabelSpec.infer([0.5, 1.5], task="classification").names == ["0.5", "1.5"]
    assert LabelSpec.infer([1, 2, 3], task="regression").task == "regression"
    assert LabelSpec.infer([True, False]).names == ["false", "true"]
    assert LabelSpec.infer([1, 0], names=["rotten", "fresh"]).names[:2] == ["rotten", "fresh"]
    spec = LabelSpec.infer(["b", "a"])
    assert spec.encode(["a", "b", "b"], "x") == [0, 1, 1]
    assert spec.model_kwargs()["id2label"] == {0: "a", 1: "b"}
    assert LabelSpec("regression").encode(["0.5", 2], "x") == [0.5, 2.0]


@pytest.mark.parametrize("labels, task, message", [
    (["a", "a"], "auto", "single label value"),
    (["a", "0.5"], "regression", "needs numeric labels"),
    ([[1], 2], "auto", "labels must be numbers"),
    ([{"x": 1}, 2], "auto", "labels must be numbers"),
    ([None, "a"], "auto", "the label is empty"),
    (["", "a"], "auto", "the label is empty"),
])
def test_label_inference_errors(labels, task, message):
    with pytest.raises(DataError, match=message):
        LabelSpec.infer(labels, task)


def test_unknown_label_at_encoding():
    with pytest.raises(DataError, match=r"label\(s\) \['c'\]"):
        LabelSpec("classification", ["a", "b"]).encode(["a", "c"], "dev.csv")


def test_metrics_match_sklearn_and_scipy():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(50, 3)), rng.integers(0, 3, size=50)
    metrics = task_metrics("classification", logits, labels)
    assert metrics["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(labels, logits.argmax(-1)))
    assert metrics["f1_macro"] == pytest.approx(sklearn_metrics.f1_score(labels, logits.argmax(-1), average="macro"))
    predictions, targets = rng.normal(size=(40, 1)), rng.normal(size=40)
    metrics = task_metrics("regression", predictions, targets)
    assert metrics["pearson"] == pytest.approx(stats.pearsonr(predictions[:, 0], targets)[0])
    assert metrics["spearmanr"] == pytest.approx(stats.spearmanr(predictions[:, 0], targets)[0])
    assert metrics["mse"] == pytest.approx(np.mean((predictions[:, 0] - targets) ** 2))


# ------------------------------------------------------------------------------------------ bad input


def test_missing_file(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "--train_file", str(tmp_path / "nope.csv"))
    assert code == 2
    assert err.count("\n") == 1 and "nope.csv: no such file" in err and "Check the path" in err
    assert "Traceback" not in err


def test_wrong_column_lists_the_columns_found(reviews_csv, capsys):
    code, _, err = run_cli(capsys, "train", "--train_file", str(reviews_csv), "--text_column", "text",
                           "--label_column", "stars")
    assert code == 2 and err.count("\n") == 1
    assert "no column 'text' (given as --text_column)" in err
    assert "'review', 'stars', 'sentiment'" in err


def test_wrong_label_column_in_jsonl(tmp_path, capsys):
    data = write(tmp_path / "d.jsonl", '{"text": "a", "y": 1}\n{"text": "b", "y": 0}\n')
    code, _, err = run_cli(capsys, "train", "--train_file", str(data))
    assert code == 2 and "no column 'label' (given as --label_column)" in err and "'text', 'y'" in err


@pytest.mark.parametrize("label", ['[1, 2]', '{"stars": 3}'])
def test_labels_neither_numbers_nor_strings(tmp_path, capsys, label):
    data = write(tmp_path / "d.jsonl", f'{{"text": "fine", "label": 1}}\n{{"text": "odd", "label": {label}}}\n')
    code, _, err = run_cli(capsys, "train", "--train_file", str(data), "--validation_fraction", "0")
    assert code == 2 and err.count("\n") == 1
    assert "d.jsonl, line 2" in err and "labels must be numbers" in err and "or strings" in err


@pytest.mark.parametrize("name, content", [("empty.csv", ""), ("header.csv", "text,label\n"), ("empty.jsonl", "\n")])
def test_empty_file(tmp_path, capsys, name, content):
    data = write(tmp_path / name, content)
    code, _, err = run_cli(capsys, "train", "--train_file", str(data))
    assert code == 2 and err.count("\n") == 1 and "has no examples" in err and "at least one row" in err


def test_unknown_file_format(tmp_path, capsys):
    data = write(tmp_path / "data.xlsx", "x")
    code, _, err = run_cli(capsys, "train", "--train_file", str(data))
    assert code == 2 and "Cannot tell the format" in err and ".csv, .tsv or .jsonl" in err


@pytest.mark.parametrize("command", ["evaluate", "predict", "train"])
def test_model_folder_without_weights(tmp_path, capsys, reviews_csv, command):
    folder = tmp_path / "model"
    folder.mkdir()
    write(folder / "config.json", json.dumps({"model_type": "bert"}))
    argv = {"evaluate": ["evaluate", str(folder), str(reviews_csv), "--text_column", "review"],
            "predict": ["predict", str(folder), str(reviews_csv), "--text_column", "review"],
            "train": ["train", "--model", str(folder), "--train_file", str(reviews_csv), "--text_column", "review",
                      "--label_column", "sentiment", "--output_dir", str(tmp_path / "out")]}[command]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1
    assert f"{folder} has no weights" in err and "model.safetensors" in err


def test_not_a_model_folder(tmp_path, capsys, reviews_csv):
    code, _, err = run_cli(capsys, "predict", str(tmp_path), str(reviews_csv), "--text_column", "review")
    assert code == 2 and "has no config.json" in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "--train_file", str(tmp_path / "nope.csv"), "--debug")
    assert code == 2 and "Traceback" in err and "DataFileNotFoundError" in err
    assert err.splitlines()[-1].startswith("tuneformers train: error:") and "nope.csv" in err.splitlines()[-1]


def test_bad_input_exit_code_in_a_real_process(tmp_path, reviews_csv):
    result = subprocess.run([sys.executable, "-m", "tuneformers", "predict", str(tmp_path), str(reviews_csv),
                             "--text_column", "nope"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("tuneformers predict: error:") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_training_arguments_fields_are_all_flags():
    flags = {action.dest for action in parse_args(["train"]).command_parser._actions}
    assert {field.name for field in dataclasses.fields(TrainingArguments)} <= flags


@pytest.fixture
def fake_model_dir(tmp_path):
    """Passes the folder check (the files exist); the errors below all come before the model is loaded."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        write(folder / name, "{}")
    return folder


def test_predict_empty_file(tmp_path, capsys, fake_model_dir):
    data = write(tmp_path / "new.jsonl", "")
    code, _, err = run_cli(capsys, "predict", str(fake_model_dir), str(data), "--output", str(tmp_path / "p.csv"))
    assert code == 2 and err.count("\n") == 1 and "has no rows" in err and not (tmp_path / "p.csv").exists()


def test_predict_wrong_column(tmp_path, capsys, fake_model_dir, reviews_csv):
    code, _, err = run_cli(capsys, "predict", str(fake_model_dir), str(reviews_csv), "--output",
                           str(tmp_path / "p.csv"))
    assert code == 2 and "no column 'text' (given as --text_column)" in err and "'review', 'stars'" in err


def test_evaluate_wrong_label_column(capsys, fake_model_dir, reviews_csv):
    code, _, err = run_cli(capsys, "evaluate", str(fake_model_dir), str(reviews_csv), "--text_column", "review",
                           "--label_column", "score")
    assert code == 2 and "no column 'score' (given as --label_column)" in err


# ------------------------------------------------- user errors that need a (tiny) model folder, issue 15


def tiny_model_folder(folder, tiny_bert_kwargs, vocab_size: int = 99):
    """A tiny random BERT and a 99-token WordPiece vocabulary (w0 .. w93 and the special tokens)."""
    pytest.importorskip("torch")
    from tuneformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(94)]
    write(folder / "vocab.txt", "\n".join(tokens) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), model_max_length=64).save_pretrained(folder)
    BertForSequenceClassification(BertConfig(**{**tiny_bert_kwargs, "vocab_size": vocab_size})).save_pretrained(folder)
    return folder


def words_csv(path, labels, text_column="text"):
    rows = [f"{text_column},label"] + [f"w{i} w{i + 1} w{i + 2},{label}" for i, label in enumerate(labels)]
    return write(path, "\n".join(rows) + "\n")


QUICK = ("--max_steps", "1", "--no_plot", "--report_to", "none", "--disable_tqdm", "--max_length", "16")


def edit_json(path, **changes):
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize("file, key, value, expected", [
    ("config.json", "hidden_size", "384", "must be int, got '384' (str)"),
    ("tokenizer_config.json", "do_lower_case", "yes", "must be bool, got 'yes' (str)"),
    ("tokenizer_config.json", "model_max_length", [1], "must be int or None, got [1] (list)"),
    ("config.json", "model_type", ["bert"], "must be str, got ['bert'] (list)"),
    ("tokenizer_config.json", "tokenizer_class", 5, "must be str, got 5 (int)"),
])
def test_wrong_types_in_model_files_name_file_key_and_type(tmp_path, capsys, tiny_bert_kwargs, file, key, value,
                                                           expected):
    folder = tiny_model_folder(tmp_path / "model", tiny_bert_kwargs)
    edit_json(folder / file, **{key: value})
    data = words_csv(tmp_path / "t.csv", ["a", "b"] * 4)
    code, _, err = run_cli(capsys, "train", "--model", str(folder), "--train_file", str(data), "--output_dir",
                           str(tmp_path / "out"), "--validation_fraction", "0", *QUICK)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{folder / file}: " in err and f"{key} {expected}" in err
    from tuneformers import AutoConfig, AutoTokenizer
    from tuneformers.typed_dataclass import ConfigFileError

    with pytest.raises(TypeError, match=key) as raised:  # the library: a TypeError that is also a ValueError
        (AutoConfig if file == "config.json" else AutoTokenizer).from_pretrained(folder)
    assert isinstance(raised.value, (ConfigFileError, ValueError)) and str(folder / file) in str(raised.value)


def test_config_vocab_size_smaller_than_the_tokenizer(tmp_path, capsys, tiny_bert_kwargs):
    folder = tiny_model_folder(tmp_path / "model", tiny_bert_kwargs, vocab_size=50)
    data = words_csv(tmp_path / "t.csv", ["a", "b"] * 40)  # ids up to 86: an IndexError mid-training before
    code, _, err = run_cli(capsys, "train", "--model", str(folder), "--train_file", str(data), "--output_dir",
                           str(tmp_path / "out"), "--validation_fraction", "0", *QUICK)
    assert code == 2 and err.count("\n") == 1
    assert "tokenizer of" in err and "has 99 tokens, but the model's vocab_size is 50" in err
    assert not (tmp_path / "out").exists()


def test_max_length_above_the_model_positions(tmp_path, capsys, tiny_bert_kwargs):
    folder = tiny_model_folder(tmp_path / "model", tiny_bert_kwargs)  # 64 positions
    data = words_csv(tmp_path / "t.csv", ["a", "b"] * 4)
    code, _, err = run_cli(capsys, "train", "--model", str(folder), "--train_file", str(data), "--output_dir",
                           str(tmp_path / "out"), "--validation_fraction", "0", *QUICK, "--max_length", "100")
    assert code == 2 and err.count("\n") == 1
    assert "--max_length 100 is more than" in err and "(64 tokens, the max_position_embeddings in its config.json); pass --max_length 64 or less" in err


@pytest.mark.parametrize("command", ["train", "pretrain"])
def test_fp16_on_the_cpu_is_a_user_error(tmp_path, capsys, reviews_csv, command):
    code, _, err = run_cli(capsys, command, "--train_file", str(reviews_csv), "--output_dir", str(tmp_path / "o"),
                           "--fp16", "--use_cpu")
    assert code == 2 and err.count("\n") == 1 and "--fp16 needs a CUDA GPU" in err and "--bf16" in err


@pytest.mark.parametrize("flag, where, message", [
    ("--output_dir", "afile/out", "afile is a file, so nothing can be written under it"),
    ("--output_dir", "afile", "--output_dir {tmp}/afile is a file; pass a folder"),
    ("--logging_dir", "afile", "--logging_dir {tmp}/afile is a file; pass a folder"),
])
def test_output_folders_blocked_by_a_file(tmp_path, capsys, reviews_csv, flag, where, message):
    write(tmp_path / "afile", "x")
    argv = ["train", "--train_file", str(reviews_csv), "--text_column", "review", "--label_column", "sentiment",
            "--output_dir", str(tmp_path / "out"), flag, str(tmp_path / where)]
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and message.format(tmp=tmp_path) in err and "Errno" not in err


@pytest.mark.parametrize("fraction", ["nan", "-0.1", "1", "inf"])
def test_validation_fraction_out_of_range(tmp_path, capsys, reviews_csv, fraction):
    code, _, err = run_cli(capsys, "train", "--train_file", str(reviews_csv), "--output_dir", str(tmp_path / "o"),
                           "--text_column", "review", "--label_column", "sentiment", "--validation_fraction", fraction)
    assert code == 2 and err.count("\n") == 1
    assert f"--validation_fraction must be at least 0 and below 1 (0 turns evaluation off), got {float(fraction)}" in err


def test_label_errors_name_the_file_line_after_the_split(tmp_path, capsys, tiny_bert_kwargs):
    folder = tiny_model_folder(tmp_path / "model", tiny_bert_kwargs)
    labels = ["a", "b"] * 10
    for bad_row in range(20):  # wherever the shuffled split puts it, the error names its line (row + 2)
        data = words_csv(tmp_path / "t.csv", labels[:bad_row] + [""] + labels[bad_row + 1:])
        code, _, err = run_cli(capsys, "train", "--model", str(folder), "--train_file", str(data), "--output_dir",
                               str(tmp_path / "out"), "--validation_fraction", "0.2", *QUICK)
        assert code == 2 and f"t.csv, line {bad_row + 2}: the label is empty" in err, err


@pytest.mark.parametrize("label", ["nan", "inf", "-Infinity"])
def test_non_finite_regression_label_names_the_line(tmp_path, capsys, label):
    rows = ["text,label"] + [f"text {i},{0.5 * i}" for i in range(12)]
    rows[6] = f"text odd,{label}"
    data = write(tmp_path / "scores.csv", "\n".join(rows) + "\n")
    code, _, err = run_cli(capsys, "train", "--train_file", str(data), "--output_dir", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1
    assert f"scores.csv, line 7: label '{label}' is not a finite number" in err
    with pytest.raises(DataError, match="line 3: label nan is not a finite number"):
        LabelSpec("regression").encode([0.5, float("nan")], "x.jsonl", [2, 3])
    assert LabelSpec.infer(["nan", "a"], task="classification").names == ["a", "nan"]  # a class name when asked


@pytest.mark.parametrize("suffix, separator", [(".csv", ","), (".tsv", "\t")])
def test_duplicate_column_names(tmp_path, capsys, suffix, separator):
    data = write(tmp_path / f"d{suffix}", separator.join(["text", "label", "text"]) + "\n"
                 + separator.join(["a", "x", "b"]) + "\n")
    code, _, err = run_cli(capsys, "train", "--train_file", str(data), "--output_dir", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1
    assert "the header names the column 'text' twice (columns 1 and 3)" in err


def test_evaluate_output_unwritable_fails_before_computing(tmp_path, capsys, fake_model_dir, reviews_csv):
    write(tmp_path / "afile", "x")
    code, out, err = run_cli(capsys, "evaluate", str(fake_model_dir), str(reviews_csv), "--text_column", "review",
                             "--label_column", "sentiment", "--output", str(tmp_path / "afile" / "m.json"))
    assert code == 2 and err.count("\n") == 1 and "afile is a file, so nothing can be written under it" in err
    assert out == ""  # nothing was loaded or computed (the fake model folder would fail to load)


def test_evaluate_prints_the_metrics_when_the_output_write_fails(tmp_path, capsys, tiny_bert_kwargs, monkeypatch):
    from tuneformers.cli import evaluate

    folder = tiny_model_folder(tmp_path / "model", tiny_bert_kwargs)
    data = words_csv(tmp_path / "t.csv", ["LABEL_0", "LABEL_1"] * 3)

    def disk_full(path, metrics):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(evaluate, "write_json", disk_full)
    code, out, err = run_cli(capsys, "evaluate", str(folder), str(data), "--output", str(tmp_path / "m.json"),
                             "--disable_tqdm", "--max_length", "16")
    assert code == 2 and "accuracy" in out and "could not write the metrics" in err and "printed above" in err, err
