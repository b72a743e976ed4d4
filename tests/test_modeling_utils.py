"""from_pretrained / save_pretrained: formats, key layouts, round trips with HF, and the errors users hit."""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tuneformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertModel,
)

INPUTS = dict(
    input_ids=torch.tensor([[2, 15, 27, 9, 3, 0], [2, 44, 3, 5, 6, 3]]),
    attention_mask=torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]),
)


@pytest.fixture
def tiny_classifier(tiny_bert_kwargs) -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=3)).eval()


def logits(model, **kwargs):
    with torch.no_grad():
        return model(**INPUTS, **kwargs)[0]


def test_save_then_load_gives_identical_outputs(tmp_path, tiny_classifier):
    folder = tiny_classifier.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded = BertForSequenceClassification.from_pretrained(folder)
    assert not loaded.training
    torch.testing.assert_close(logits(loaded), logits(tiny_classifier), atol=0, rtol=0)
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]


def test_saved_files_get_ordinary_permissions(tmp_path, tiny_classifier):
    previous = os.umask(0o022)
    try:
        folder = tiny_classifier.save_pretrained(tmp_path / "model")
    finally:
        os.umask(previous)
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_pytorch_bin_folder_loads(tmp_path, tiny_classifier):
    folder = tiny_classifier.save_pretrained(tmp_path, safe_serialization=False)
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    torch.testing.assert_close(logits(BertForSequenceClassification.from_pretrained(folder)), logits(tiny_classifier))


def test_sharded_safetensors_load(tmp_path, tiny_classifier):
    state = tiny_classifier.state_dict()
    keys = sorted(state)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2], "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for name, shard_keys in shards.items():
        save_file({k: state[k].contiguous() for k in shard_keys}, str(tmp_path / name), metadata={"format": "pt"})
    weight_map = {key: name for name, shard_keys in shards.items() for key in shard_keys}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    tiny_classifier.config.save_pretrained(tmp_path)
    torch.testing.assert_close(logits(BertForSequenceClassification.from_pretrained(tmp_path)), logits(tiny_classifier))

    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(OSError, match="model-00002-of-00002.safetensors.*missing"):
        BertForSequenceClassification.from_pretrained(tmp_path)


def test_keys_without_prefix_and_legacy_layernorm_names(tmp_path, tiny_classifier):
    base_state = {key[len("bert."):]: t for key, t in tiny_classifier.state_dict().items() if key.startswith("bert.")}
    legacy = {key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): t
              for key, t in base_state.items()}
    assert any(key.endswith("gamma") for key in legacy)
    save_file({k: v.contiguous() for k, v in legacy.items()}, str(tmp_path / "model.safetensors"))
    tiny_classifier.config.save_pretrained(tmp_path)
    base = BertModel.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(base(**INPUTS).pooler_output, tiny_classifier.bert(**INPUTS).pooler_output)
    with_head = BertForSequenceClassification.from_pretrained(tmp_path, num_labels=3)
    torch.testing.assert_close(with_head.bert.encoder.layer[1].output.LayerNorm.weight,
                               tiny_classifier.bert.encoder.layer[1].output.LayerNorm.weight)


def test_base_model_loads_from_head_checkpoint_and_reports_unused(tmp_path, tiny_classifier, caplog):
    tiny_classifier.save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tuneformers"):
        base = BertModel.from_pretrained(tmp_path)
    assert "classifier.weight" in caplog.text and "not used" in caplog.text
    torch.testing.assert_close(base.embeddings.word_embeddings.weight, tiny_classifier.bert.embeddings.word_embeddings.weight)


def test_missing_head_is_initialised_and_reported_once(tmp_path, tiny_bert_kwargs, caplog):
    BertModel(BertConfig(**tiny_bert_kwargs)).save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tuneformers"):
        model = BertForSequenceClassification.from_pretrained(tmp_path, num_labels=4)
    warnings = [r for r in caplog.records if "newly initialised" in r.getMessage()]
    assert len(warnings) == 1 and "classifier.weight" in warnings[0].getMessage()
    assert model.classifier.weight.shape == (4, 32)
    assert torch.all(model.classifier.bias == 0)
    assert 0.01 < model.classifier.weight.std().item() < 0.03
    assert model.config.num_labels == 4


def test_label_count_mismatch_names_the_key(tmp_path, tiny_classifier):
    tiny_classifier.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"classifier.weight: checkpoint \(3, 32\) vs model \(5, 32\).*ignore_mismatched_sizes"):
        BertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    model = BertForSequenceClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert model.classifier.weight.shape == (5, 32)
    torch.testing.assert_close(model.bert.pooler.dense.weight, tiny_classifier.bert.pooler.dense.weight)


def test_unknown_keyword_is_an_error_with_suggestion(tmp_path, tiny_classifier):
    tiny_classifier.save_pretrained(tmp_path)
    with pytest.raises(TypeError, match="'num_lables'.*Did you mean 'num_labels'"):
        BertForSequenceClassification.from_pretrained(tmp_path, num_lables=3)
    # num_classes, the seed's own spelling, is read as num_labels (issue 10)
    assert BertForSequenceClassification.from_pretrained(tmp_path, num_classes=3).config.num_labels == 3


def test_config_overrides_apply(tmp_path, tiny_classifier):
    tiny_classifier.save_pretrained(tmp_path)
    model = BertForSequenceClassification.from_pretrained(tmp_path, hidden_dropout_prob=0.3, problem_type="multi_label_classification")
    assert model.dropout.p == 0.3 and model.config.problem_type == "multi_label_classification"


def test_torch_dtype(tmp_path, tiny_classifier):
    tiny_classifier.save_pretrained(tmp_path)
    assert BertForSequenceClassification.from_pretrained(tmp_path, torch_dtype=torch.bfloat16).dtype == torch.bfloat16
    assert BertForSequenceClassification.from_pretrained(tmp_path, torch_dtype="auto").dtype == torch.float32
    assert BertForSequenceClassification.from_pretrained(tmp_path, dtype="float16").dtype == torch.float16
    with pytest.raises(ValueError, match="torch_dtype='float8'"):
        BertForSequenceClassification.from_pretrained(tmp_path, torch_dtype="float8")


def test_tied_weights_saved_once_and_retied(tmp_path, tiny_bert_kwargs):
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**tiny_bert_kwargs)).eval()
    model.save_pretrained(tmp_path)
    saved = load_file(str(tmp_path / "model.safetensors"))
    assert "cls.predictions.decoder.weight" not in saved and "cls.predictions.bias" in saved
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    torch.testing.assert_close(logits(loaded), logits(model))


def test_base_model_num_parameters_and_freezing(tiny_classifier):
    assert tiny_classifier.base_model is tiny_classifier.bert
    total = tiny_classifier.num_parameters()
    assert total == sum(p.numel() for p in tiny_classifier.parameters())
    for param in tiny_classifier.base_model.parameters():
        param.requires_grad = False
    assert tiny_classifier.num_parameters(only_trainable=True) == 32 * 3 + 3


def test_auto_classes_dispatch_on_model_type(tmp_path, tiny_classifier):
    tiny_classifier.save_pretrained(tmp_path)
    assert type(AutoModel.from_pretrained(tmp_path)) is BertModel
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert type(model) is BertForSequenceClassification and model.config.num_labels == 3
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "model_type": "gpt9"}))
    with pytest.raises(ValueError, match="gpt9"):
        AutoModel.from_pretrained(tmp_path)


# ---- bad files -------------------------------------------------------------------------------


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch PWNED_MARKER",))


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, tiny_classifier, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny_classifier.config.save_pretrained(tmp_path)
    with open(tmp_path / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"bert.pooler.dense.weight": RunsCode()}, handle)
    torch.save({"payload": RunsCode()}, tmp_path / "zip.bin")  # the zip-based torch format too
    with pytest.raises(OSError, match="Refused to load .*pytorch_model.bin.*nothing from it was executed"):
        BertForSequenceClassification.from_pretrained(tmp_path)
    shutil.move(tmp_path / "zip.bin", tmp_path / "pytorch_model.bin")
    with pytest.raises(OSError, match="Refused to load"):
        BertForSequenceClassification.from_pretrained(tmp_path)
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_malicious_pickle_on_the_tf_from_pt_path_is_refused(tmp_path, tiny_classifier, monkeypatch):
    """The TF side reads PyTorch weights with load_pt_weights: same refusal, never torch's weights_only=False advice."""
    from tuneformers.modeling_tf_pytorch_utils import load_pt_weights

    monkeypatch.chdir(tmp_path)
    tiny_classifier.config.save_pretrained(tmp_path)
    torch.save({"bert.pooler.dense.weight": RunsCode()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(OSError, match="Refused to load .*pytorch_model.bin") as refused:
        load_pt_weights(tmp_path)
    assert "weights_only=False" not in str(refused.value) and not (tmp_path / "PWNED_MARKER").exists()
    torch.save([torch.ones(2)], tmp_path / "pytorch_model.bin")  # loads, but is no state dict
    with pytest.raises(OSError, match="does not hold a state dict"):
        load_pt_weights(tmp_path)


@pytest.mark.parametrize("shard", ["../outside/x.safetensors", "{outside}/x.safetensors", "sub/../../outside/x.safetensors"])
@pytest.mark.parametrize("index", ["model.safetensors.index.json", "pytorch_model.bin.index.json"])
def test_shard_index_entries_outside_the_folder_are_refused(tmp_path, tiny_classifier, shard, index):
    from tuneformers.modeling_tf_pytorch_utils import load_pt_weights

    folder, outside = tmp_path / "model", tmp_path / "outside"
    outside.mkdir()
    tiny_classifier.config.save_pretrained(folder)
    state = {key: tensor.contiguous() for key, tensor in tiny_classifier.state_dict().items()}
    save_file(state, str(outside / "x.safetensors"))  # a real weights file, so only the path check can refuse it
    shard = shard.format(outside=outside)
    (folder / index).write_text(json.dumps({"weight_map": {key: shard for key in state}}))
    with pytest.raises(OSError, match=f"Refused to load .*{index}.*{shard}.*not a file inside"):
        BertForSequenceClassification.from_pretrained(folder)
    with pytest.raises(OSError, match="Refused to load"):
        load_pt_weights(folder)  # the TF from_pt path


def test_hdf5_links_and_external_data_in_tf_model_h5_are_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    import numpy as np

    from tuneformers.modeling_tf_pytorch_utils import read_tf_h5_weights, write_tf_h5_weights

    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as handle:
        handle.create_dataset("bert/tf_bert_model/bert/pooler/dense/bias:0", data=np.full(4, 7.0, np.float32))
    good = tmp_path / "tf_model.h5"
    write_tf_h5_weights(good, "tf_bert_model", {"bert/pooler/dense/bias": np.zeros(4, np.float32)})
    assert read_tf_h5_weights(good)["bert/pooler/dense/bias"].tolist() == [0.0] * 4

    def rewrite(make_entry):
        with h5py.File(good, "a") as handle:
            del handle["bert"]
            make_entry(handle)
            handle["bert"].attrs["weight_names"] = [b"tf_bert_model/bert/pooler/dense/bias:0"]

    rewrite(lambda handle: handle.__setitem__("bert", h5py.ExternalLink(str(secret), "/bert")))
    with pytest.raises(OSError, match="Refused to load .*tf_model.h5.*'bert' is an HDF5 ExternalLink"):
        read_tf_h5_weights(good)

    def soft_link(handle):
        handle.create_group("elsewhere/tf_bert_model/bert/pooler/dense").create_dataset("bias:0", data=np.ones(4))
        handle["bert"] = h5py.SoftLink("/elsewhere")
    rewrite(soft_link)
    with pytest.raises(OSError, match="is an HDF5 SoftLink"):
        read_tf_h5_weights(good)

    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.full(4, 7.0, np.float32).tobytes())
    rewrite(lambda handle: handle.create_group("bert").create_dataset(
        "tf_bert_model/bert/pooler/dense/bias:0", shape=(4,), dtype=np.float32, external=[(str(raw), 0, 16)]))
    with pytest.raises(OSError, match="keeps its data outside the file"):
        read_tf_h5_weights(good)


def test_token_ids_outside_the_vocabulary_are_named(tiny_classifier):
    too_big = INPUTS["input_ids"].clone()
    too_big[1, 2] = 99  # the tiny vocabulary has ids 0..98
    with pytest.raises(ValueError, match=r"input_ids hold the id 99, but the model's vocabulary has ids 0\.\.98 "
                                         r"\(config.vocab_size=99\).*resize_token_embeddings"):
        tiny_classifier(input_ids=too_big, attention_mask=INPUTS["attention_mask"])


def test_corrupt_and_truncated_safetensors_name_the_file(tmp_path, tiny_classifier):
    folder = tiny_classifier.save_pretrained(tmp_path)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSError, match="model.safetensors.*corrupt or truncated"):
        BertForSequenceClassification.from_pretrained(folder)
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(OSError, match="model.safetensors"):
        BertForSequenceClassification.from_pretrained(folder)


def test_missing_weights_and_missing_config(tmp_path, tiny_classifier):
    tiny_classifier.config.save_pretrained(tmp_path)
    with pytest.raises(OSError, match=f"No model weights in {tmp_path}"):
        BertForSequenceClassification.from_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="No config.json"):
        BertForSequenceClassification.from_pretrained(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BertForSequenceClassification.from_pretrained(tmp_path / "nope")


def test_config_with_wrong_types_names_file_and_key(tmp_path, tiny_classifier):
    folder = tiny_classifier.save_pretrained(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_size": "thirty-two"}))
    with pytest.raises(TypeError, match=r"config.json.*hidden_size must be int, got 'thirty-two'"):
        BertForSequenceClassification.from_pretrained(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        BertForSequenceClassification.from_pretrained(folder)


def test_save_is_atomic_when_interrupted(tmp_path, tiny_classifier, monkeypatch):
    folder = tiny_classifier.save_pretrained(tmp_path)
    good = (folder / "model.safetensors").read_bytes()
    import safetensors.torch

    def crash(*args, **kwargs):
        Path(args[1]).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        tiny_classifier.save_pretrained(folder)
    assert (folder / "model.safetensors").read_bytes() == good
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]


# ---- HF interoperability ------------------------------------------------------------------------


def test_round_trip_with_hf(tmp_path, tiny_classifier):
    transformers = pytest.importorskip("transformers")
    ours_dir = tiny_classifier.save_pretrained(tmp_path / "ours")
    hf = transformers.BertForSequenceClassification.from_pretrained(str(ours_dir)).eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(**INPUTS).logits, logits(tiny_classifier), atol=1e-6, rtol=1e-6)
    hf.save_pretrained(str(tmp_path / "hf"))
    ours_again = BertForSequenceClassification.from_pretrained(tmp_path / "hf")
    torch.testing.assert_close(logits(ours_again), logits(tiny_classifier), atol=1e-6, rtol=1e-6)
    assert ours_again.config.num_labels == 3


def test_mlm_round_trip_with_hf(tmp_path, tiny_bert_kwargs):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    ours = BertForMaskedLM(BertConfig(**tiny_bert_kwargs)).eval()
    with torch.no_grad():
        ours.cls.predictions.bias.normal_()
    ours.save_pretrained(tmp_path / "ours")
    hf = transformers.BertForMaskedLM.from_pretrained(str(tmp_path / "ours")).eval()
    real = INPUTS["attention_mask"].bool()  # per-token outputs at padding are arbitrary
    with torch.no_grad():
        torch.testing.assert_close(hf(**INPUTS).logits[real], logits(ours)[real], atol=1e-6, rtol=1e-6)
    hf.save_pretrained(str(tmp_path / "hf"))
    torch.testing.assert_close(logits(BertForMaskedLM.from_pretrained(tmp_path / "hf")), logits(ours), atol=1e-6, rtol=1e-6)


@pytest.mark.slow
def test_real_checkpoint_save_load_by_name(tmp_path, minilm_dir):
    transformers = pytest.importorskip("transformers")
    model = BertForSequenceClassification.from_pretrained("sentence-transformers/all-MiniLM-L6-v2", num_labels=2)
    assert model.num_parameters() == 22_713_986 and not model.training
    folder = model.save_pretrained(tmp_path)
    hf = transformers.BertForSequenceClassification.from_pretrained(str(folder)).eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(**INPUTS).logits, logits(model), atol=1e-5, rtol=1e-5)
