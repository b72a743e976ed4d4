"""BertConfig / AutoConfig: typed fields, HF config.json round trip, validation messages."""

from __future__ import annotations

import json

import pytest

from tuneformers import AutoConfig, BertConfig
from tuneformers.configuration_utils import PretrainedConfig


def test_real_config_round_trip_preserves_unknown_keys(tmp_path, minilm_dir):
    original = json.loads((minilm_dir / "config.json").read_text())
    config = BertConfig.from_pretrained(minilm_dir)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (384, 6, 12)
    assert config.extra["transformers_version"] == "4.8.2" and config.extra["use_cache"] is True
    config.save_pretrained(tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    for key, value in original.items():
        assert written[key] == value, key
    assert BertConfig.from_pretrained(tmp_path) == config


def test_hf_reads_our_config_and_we_read_hf(tmp_path):
    transformers = pytest.importorskip("transformers")
    ours = BertConfig(hidden_size=48, num_attention_heads=6, id2label={0: "neg", 1: "neu", 2: "pos"})
    ours.save_pretrained(tmp_path / "ours")
    hf = transformers.BertConfig.from_pretrained(str(tmp_path / "ours"))
    assert hf.hidden_size == 48 and hf.num_labels == 3 and hf.id2label[2] == "pos" and hf.label2id["neu"] == 1
    hf.problem_type = "single_label_classification"
    hf.save_pretrained(str(tmp_path / "hf"))
    back = BertConfig.from_pretrained(tmp_path / "hf")
    assert back.id2label == {0: "neg", 1: "neu", 2: "pos"} and back.num_labels == 3
    assert back.problem_type == "single_label_classification"


def test_labels_are_derived_consistently():
    config = BertConfig(num_labels=3)
    assert config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"} and config.label2id["LABEL_2"] == 2
    assert BertConfig(label2id={"a": 0, "b": 1}).id2label == {0: "a", 1: "b"}
    assert BertConfig(id2label={"0": "x", "1": "y"}).id2label == {0: "x", 1: "y"}
    assert BertConfig().num_labels == 2
    with pytest.raises(ValueError, match="num_labels=3 disagrees with id2label"):
        BertConfig(num_labels=3, id2label={0: "a", 1: "b"})


def test_num_labels_override_replaces_stale_labels():
    config = BertConfig.from_dict(BertConfig(id2label={0: "a", 1: "b"}).to_dict(), num_labels=4)
    assert config.num_labels == 4 and config.id2label[3] == "LABEL_3"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"hidden_size": "big"}, "hidden_size must be int, got 'big'"),
        ({"hidden_dropout_prob": "0.1"}, "hidden_dropout_prob must be float"),
        ({"num_hidden_layers": 2.5}, "num_hidden_layers must be int"),
        ({"hidden_size": 30, "num_attention_heads": 4}, "hidden_size=30 is not a multiple of num_attention_heads=4"),
        ({"problem_type": "ranking"}, "problem_type='ranking' is not one of"),
        ({"hidden_act": "mish"}, "hidden_act='mish' is not supported"),
        ({"hidden_dropout_prob": 1.5}, r"hidden_dropout_prob must be in \[0, 1\)"),
        ({"num_labels": 0}, "num_labels must be at least 1"),
        ({"pad_token_id": 99999}, "pad_token_id=99999 is outside the vocabulary"),
        ({"position_embedding_type": "relative_key"}, "only 'absolute'"),
    ],
)
def test_validation_names_field_and_value(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        BertConfig(**kwargs)


def test_ints_accepted_where_floats_expected():
    assert BertConfig(hidden_dropout_prob=0).hidden_dropout_prob == 0.0


def test_update_is_strict():
    config = BertConfig()
    config.update(num_labels=5)
    assert len(config.id2label) == 5
    with pytest.raises(TypeError, match="'hiden_size'.*Did you mean 'hidden_size'"):
        config.update(hiden_size=3)


def test_wrong_model_type_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 8}))
    with pytest.raises(ValueError, match="model_type='gpt2'.*AutoConfig"):
        BertConfig.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="'gpt2' is not supported by tuneformers"):
        AutoConfig.from_pretrained(tmp_path)


def test_json_that_is_not_an_object(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        BertConfig.from_pretrained(tmp_path)


def test_auto_config_for_model():
    config = AutoConfig.for_model("bert", hidden_size=64, num_attention_heads=4)
    assert isinstance(config, BertConfig) and isinstance(config, PretrainedConfig) and config.head_size == 16
