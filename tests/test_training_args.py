"""TrainingArguments: validation that names the fields, derived values, the dataclass -> argparse helper."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from tuneformers.trainer.training_args import TrainingArguments
from tuneformers.typed_dataclass import add_dataclass_arguments, dataclass_from_namespace, field_docs, parse_dataclass


def test_every_field_is_documented_and_grouped():
    docs = field_docs(TrainingArguments)
    names = [f.name for f in dataclasses.fields(TrainingArguments)]
    assert list(docs) == names
    assert all(doc for _, doc in docs.values()), [name for name, (_, doc) in docs.items() if not doc]
    assert docs["learning_rate"] == ("Optimizer", "Peak learning rate of AdamW.")
    assert docs["output_dir"][0] == "Output" and docs["seed"][0] == "Reproducibility and precision"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(bf16=True, fp16=True), "bf16=True and fp16=True conflict"),
        (dict(warmup_steps=10, warmup_ratio=0.1), "warmup_steps=10 and warmup_ratio=0.1 conflict"),
        (dict(load_best_model_at_end=True), "eval_strategy and save_strategy other than 'no'.*eval_strategy='no'"),
        (dict(load_best_model_at_end=True, eval_strategy="epoch"), r"eval_strategy \('epoch'\) to equal save_strategy \('steps'\)"),
        (dict(load_best_model_at_end=True, eval_strategy="steps", eval_steps=300, save_steps=500),
         r"save_steps \(500\) to be a multiple of eval_steps \(300\)"),
        (dict(eval_strategy="sometimes"), "eval_strategy='sometimes' is not one of 'no', 'steps', 'epoch'"),
        (dict(lr_scheduler_type="cosine_annealing"), "lr_scheduler_type='cosine_annealing' is not one of"),
        (dict(per_device_train_batch_size=0), "per_device_train_batch_size must be at least 1, got 0"),
        (dict(max_steps=-1, num_train_epochs=0), "Nothing to train: max_steps=-1 and num_train_epochs=0"),
        (dict(save_total_limit=0), "save_total_limit must be at least 1 or None"),
        (dict(report_to=["wandb"]), "report_to='wandb' is not one of"),
        (dict(fsdp="full_shard shard_grad_op"), "fsdp='full_shard shard_grad_op' names more than one sharding"),
        (dict(fsdp="zero3"), "fsdp='zero3' is not one of 'full_shard'"),
        (dict(fsdp="full_shard", fp16=True), "fsdp with fp16 is not supported.*use bf16=True"),
        (dict(ddp_timeout=0), "ddp_timeout must be at least 1 second, got 0"),
    ],
)
def test_validation_names_the_fields(overrides, message):
    with pytest.raises(ValueError, match=message):
        TrainingArguments(**overrides)


def test_types_are_checked():
    with pytest.raises(TypeError, match=r"TrainingArguments.learning_rate must be float, got '1e-3' \(str\)"):
        TrainingArguments(learning_rate="1e-3")
    with pytest.raises(TypeError, match="logging_steps must be int"):
        TrainingArguments(logging_steps=2.5)
    assert TrainingArguments(learning_rate=1).learning_rate == 1  # an int is a fine float
    assert TrainingArguments(report_to="none").report_to == ["none"]  # the HF spelling


def test_derived_values(monkeypatch):
    args = TrainingArguments(output_dir="out", per_device_train_batch_size=8, gradient_accumulation_steps=4,
                             warmup_ratio=0.1, logging_steps=25, metric_for_best_model="accuracy")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert args.train_batch_size() == 16 and args.total_train_batch_size() == 64
    assert args.get_warmup_steps(95) == 10 and args.get_eval_steps() == 25
    assert args.get_logging_dir().replace("\\", "/") == "out/runs"
    assert args.best_metric_name() == "eval_accuracy" and args.best_metric_greater() is True
    assert TrainingArguments().best_metric_name() == "eval_loss" and TrainingArguments().best_metric_greater() is False
    assert args.get_label_names(["input_ids", "start_positions", "end_positions"]) == ["start_positions", "end_positions"]
    assert args.get_label_names(["input_ids", "labels"]) == ["labels"]
    assert TrainingArguments(report_to=["none"]).report_sinks() == []
    assert TrainingArguments().report_sinks(installed=["jsonl"]) == ["jsonl"]


def test_command_line_round_trip():
    args = parse_dataclass(TrainingArguments, [
        "--output_dir", "runs/x", "--learning_rate", "3e-5", "--bf16", "--group_by_length", "false",
        "--save_total_limit", "2", "--eval_steps", "none", "--report_to", "tensorboard", "jsonl",
        "--label_names", "start_positions", "end_positions", "--num_train_epochs", "1.5",
    ])
    assert args == TrainingArguments(output_dir="runs/x", learning_rate=3e-5, bf16=True, save_total_limit=2,
                                     report_to=["tensorboard", "jsonl"], num_train_epochs=1.5,
                                     label_names=["start_positions", "end_positions"])
    assert parse_dataclass(TrainingArguments, []) == TrainingArguments()
    with pytest.raises(SystemExit):
        parse_dataclass(TrainingArguments, ["--learning_rat", "1"])  # a typo is an error, not ignored


def test_help_shows_groups_and_field_docs(capsys):
    parser = add_dataclass_arguments(argparse.ArgumentParser(prog="train"), TrainingArguments)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Optimizer:" in text and "Checkpoints:" in text
    assert "--learning_rate LEARNING_RATE Peak learning rate of AdamW. (default: 5e-05)" in text
    assert "the best one is never deleted" in text


def test_helper_works_for_other_dataclasses():
    @dataclasses.dataclass
    class ModelArguments:
        model_name_or_path: str
        """Model folder or hub name."""
        num_labels: int | None = None
        """Labels of the classification head."""

    parser = add_dataclass_arguments(argparse.ArgumentParser(), ModelArguments)
    add_dataclass_arguments(parser, TrainingArguments)
    namespace = parser.parse_args(["--model_name_or_path", "bert", "--seed", "7"])
    assert dataclass_from_namespace(ModelArguments, namespace) == ModelArguments("bert")
    assert dataclass_from_namespace(TrainingArguments, namespace).seed == 7
    with pytest.raises(SystemExit):
        parser.parse_args([])  # model_name_or_path has no default: required


def test_fsdp_accepts_hf_spellings_and_main_process_first_runs_alone():
    assert TrainingArguments(fsdp=["full_shard", "auto_wrap"]).fsdp == "full_shard auto_wrap"
    assert TrainingArguments(fsdp=True).fsdp == "full_shard" and TrainingArguments(fsdp=False).fsdp == ""
    args = TrainingArguments()
    assert (args.process_index, args.local_process_index, args.should_save, args.should_log) == (0, 0, True, True)
    with args.main_process_first(desc="tokenizing"):
        ran = True
    assert ran
