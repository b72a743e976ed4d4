"""The typed-dataclass core shared by configs, training arguments and the command line."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging

import pytest

from tuneformers import BertConfig, TrainingArguments
from tuneformers.configuration_utils import infer_problem_type
from tuneformers.typed_dataclass import ProblemList, check_field_types, from_json_dict, unknown_keyword_message


def test_every_invalid_training_argument_is_reported_at_once():
    with pytest.raises(ValueError) as error:
        TrainingArguments(learning_rate=float("nan"), per_device_train_batch_size=0, adam_beta1=1.5,
                          eval_strategy="sometimes", max_grad_norm=float("inf"), seed=-1)
    message = str(error.value)
    assert message.startswith("6 invalid TrainingArguments values")
    for part in ("learning_rate must be a finite number, got nan", "per_device_train_batch_size must be at least 1",
                 "adam_beta1 must be in [0, 1), got 1.5", "eval_strategy='sometimes'", "max_grad_norm must be a finite",
                 "seed must be in [0, 2**32)"):
        assert part in message


def test_every_type_error_is_reported_at_once():
    with pytest.raises(TypeError) as error:
        BertConfig(hidden_size="big", num_hidden_layers=2.5)
    assert "hidden_size must be int, got 'big'" in str(error.value)
    assert "num_hidden_layers must be int, got 2.5" in str(error.value)


def test_coercion_and_json_round_trip():
    @dataclasses.dataclass
    class Settings:
        rate: float = 1.0
        names: list[str] | None = None

        def __post_init__(self):
            check_field_types(self)

    settings = from_json_dict(Settings, {"rate": 2, "names": ("a", "b")})
    assert settings.rate == 2.0 and isinstance(settings.rate, float) and settings.names == ["a", "b"]
    with pytest.raises(TypeError, match="Did you mean 'rate'"):
        from_json_dict(Settings, {"rte": 1})
    with pytest.raises(TypeError, match=r"names must be a list of str or None"):
        Settings(names=[1])


def test_problem_list_single_problem_reads_plainly():
    problems = ProblemList("Thing")
    problems.check(False, "x must be 1.")
    with pytest.raises(ValueError, match=r"^x must be 1\.$"):
        problems.raise_if_any()
    assert unknown_keyword_message("num_classes", ["num_labels"], "field") == (
        "Unknown keyword 'num_classes': it is not a field. Did you mean 'num_labels'?")


def test_one_rule_for_the_sequence_classification_loss():
    assert infer_problem_type("multi_label_classification", 1) == "multi_label_classification"
    assert infer_problem_type(None, 1) == "regression"
    assert infer_problem_type(None, 3) is None  # decided by the labels
    assert infer_problem_type(None, 3, integer_labels=True) == "single_label_classification"
    assert infer_problem_type(None, 3, integer_labels=False) == "multi_label_classification"


def test_logging_dir_without_tensorboard_warns_once(tmp_path, monkeypatch, caplog):
    """Issue 11 regression: with tensorboard missing, logging_dir used to be silently ignored."""
    pytest.importorskip("torch")
    from tuneformers.trainer import callbacks

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorboard" else real_find_spec(name, *args))
    monkeypatch.setattr(callbacks, "_warned", set())
    args = TrainingArguments(output_dir=str(tmp_path), logging_dir=str(tmp_path / "tb"))
    with caplog.at_level(logging.WARNING, logger="tuneformers"):
        sinks = callbacks.default_callbacks(args)
        callbacks.default_callbacks(args)
    warnings = [record.getMessage() for record in caplog.records if "tensorboard" in record.getMessage()]
    assert len(warnings) == 1 and str(tmp_path / "tb") in warnings[0] and "tuneformers[train]" in warnings[0]
    assert not any(isinstance(sink, callbacks.TensorBoardCallback) for sink in sinks)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tuneformers"):
        callbacks.default_callbacks(TrainingArguments(output_dir=str(tmp_path)))  # no logging_dir asked for
    assert not caplog.records
