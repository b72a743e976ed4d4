"""TF BERT against PyTorch: HF transformers' PyTorch BERT (oracle) and ours, both directions of weight loading."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tf
tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
h5py = pytest.importorskip("h5py")

import tuneformers  # noqa: E402
from tuneformers import BertConfig  # noqa: E402
from tuneformers.modeling_tf_pytorch_utils import (  # noqa: E402
    load_tf_weights_into_pt_state_dict,
    pt_weights_to_tf,
    read_tf_h5_weights,
)
from tuneformers.models.bert import modeling_tf_bert as tfb  # noqa: E402
from tuneformers.models.bert.convert_bert import pt_to_tf_name, tf_to_pt_name  # noqa: E402

HEADS = [  # (TF class, PyTorch class name, name of the output compared)
    (tfb.TFBertModel, "BertModel", "last_hidden_state"),
    (tfb.TFBertForSequenceClassification, "BertForSequenceClassification", "logits"),
    (tfb.TFBertForTokenClassification, "BertForTokenClassification", "logits"),
    (tfb.TFBertForQuestionAnswering, "BertForQuestionAnswering", "end_logits"),
    (tfb.TFBertForMaskedLM, "BertForMaskedLM", "logits"),
    (tfb.TFBertForMultipleChoice, "BertForMultipleChoice", "logits"),
]
ATOL = 1e-5


def make_inputs(choices: int | None = None, seed: int = 1) -> dict[str, np.ndarray]:
    shape = (3, choices, 9) if choices else (3, 9)
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(1, 99, shape).astype(np.int32)
    attention_mask = np.ones(shape, np.int32)
    attention_mask[1, ..., 6:] = 0
    attention_mask[2, ..., 4:] = 0
    token_type_ids = np.zeros(shape, np.int32)
    token_type_ids[..., 3:] = 1
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def real_token_values(array: np.ndarray, name: str, mask: np.ndarray) -> np.ndarray:
    """Token-level outputs compared at real tokens only (our PyTorch model leaves padded positions unset)."""
    if name in ("logits", "last_hidden_state", "start_logits", "end_logits") and array.shape[:2] == mask.shape:
        return array[mask.astype(bool)]
    return array


def hf_model(hf_name: str, kwargs: dict):
    config = transformers.BertConfig(**kwargs)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return getattr(transformers, hf_name)(config).eval()


@pytest.mark.parametrize(("tf_class", "hf_name", "field"), HEADS, ids=[head[1] for head in HEADS])
def test_pt_to_tf_parity_every_head(tf_class, hf_name, field, tiny_bert_kwargs):
    hf = hf_model(hf_name, tiny_bert_kwargs)
    model = tf_class(BertConfig(**tiny_bert_kwargs))
    model.load_tf_weights(pt_weights_to_tf({k: v.numpy() for k, v in hf.state_dict().items()}, "bert"))
    inputs = make_inputs(choices=4 if hf_name == "BertForMultipleChoice" else None)
    with torch.no_grad():
        expected = hf(**{k: torch.from_numpy(v).long() for k, v in inputs.items()}, output_hidden_states=True)
    actual = model(inputs, output_hidden_states=True)
    np.testing.assert_allclose(actual[field].numpy(), expected[field].numpy(), atol=ATOL, rtol=0)
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=ATOL, rtol=0)


@pytest.mark.parametrize("tf_class", [tfb.TFBertForSequenceClassification, tfb.TFBertForMaskedLM,
                                      tfb.TFBertForQuestionAnswering])
def test_tf_save_pt_load_save_tf_round_trip(tf_class, tiny_bert_kwargs, tmp_path):
    """TF -> tf_model.h5 -> our PyTorch (from_tf=True) -> model.safetensors -> TF (PT weights found automatically)."""
    pt_class = getattr(tuneformers, tf_class.__name__.removeprefix("TF"))
    model = tf_class(BertConfig(**tiny_bert_kwargs))
    model.save_pretrained(tmp_path / "tf")
    assert json.loads((tmp_path / "tf" / "config.json").read_text())["architectures"] == [pt_class.__name__]

    pt_model = pt_class.from_pretrained(tmp_path / "tf", from_tf=True)
    inputs = make_inputs()
    with torch.no_grad():
        pt_out = pt_model(**{k: torch.from_numpy(v).long() for k, v in inputs.items()})
    tf_out = model(inputs)
    field = "start_logits" if tf_class is tfb.TFBertForQuestionAnswering else "logits"
    np.testing.assert_allclose(
        real_token_values(pt_out[field].numpy(), field, inputs["attention_mask"]),
        real_token_values(tf_out[field].numpy(), field, inputs["attention_mask"]), atol=ATOL, rtol=0,
    )

    pt_model.save_pretrained(tmp_path / "pt")
    reloaded = tf_class.from_pretrained(tmp_path / "pt")
    before, after = model.tf_named_weights(), reloaded.tf_named_weights()
    assert list(before) == list(after)
    for name in before:
        np.testing.assert_array_equal(before[name].numpy(), after[name].numpy(), err_msg=name)


def test_tf_weights_load_into_hf_pytorch_strictly(tiny_bert_kwargs, tmp_path):
    """The PyTorch state dict read from tf_model.h5 has exactly HF's parameter names and shapes."""
    model = tfb.TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=3))
    model.save_pretrained(tmp_path)
    state_dict = {k: torch.from_numpy(v) for k, v in load_tf_weights_into_pt_state_dict(tmp_path).items()}
    hf = hf_model("BertForSequenceClassification", {**tiny_bert_kwargs, "num_labels": 3})
    hf.load_state_dict(state_dict, strict=True)
    inputs = make_inputs()
    with torch.no_grad():
        expected = hf(**{k: torch.from_numpy(v).long() for k, v in inputs.items()}).logits.numpy()
    np.testing.assert_allclose(model(inputs).logits.numpy(), expected, atol=ATOL, rtol=0)


def test_reads_tf_model_h5_as_hf_4x_wrote_it(tiny_bert_kwargs, tmp_path):
    """A file written here by hand in the Keras-2 HDF5 layout of HF 4.x (group per top-level layer,
    weight_names with the model scope and ':0', datasets under those names) loads without our writer."""
    hf = hf_model("BertForMaskedLM", tiny_bert_kwargs)
    names = {  # HF 4.x TF names for a few PT tensors, spelled out
        "bert.embeddings.word_embeddings.weight": "bert/embeddings/word_embeddings/weight:0",
        "bert.embeddings.token_type_embeddings.weight": "bert/embeddings/token_type_embeddings/embeddings:0",
        "bert.encoder.layer.1.attention.self.query.weight": "bert/encoder/layer_._1/attention/self/query/kernel:0",
        "bert.encoder.layer.0.output.LayerNorm.bias": "bert/encoder/layer_._0/output/LayerNorm/beta:0",
        "cls.predictions.transform.LayerNorm.weight": "mlm___cls/predictions/transform/LayerNorm/gamma:0",
        "cls.predictions.bias": "mlm___cls/predictions/bias:0",
    }
    state_dict = {k: v.numpy() for k, v in hf.state_dict().items()}
    path = tmp_path / "tf_model.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = [b"bert", b"dropout_37", b"mlm___cls"]
        for layer in ("bert", "dropout_37", "mlm___cls"):
            group = handle.create_group(layer)
            stored = [f"tf_bert_for_masked_lm/{tf_name}" for pt_name, tf_name in names.items() if tf_name.startswith(layer)]
            group.attrs["weight_names"] = [name.encode() for name in stored]
            for name in stored:
                pt_name = next(k for k, v in names.items() if name.endswith(v))
                array = state_dict[pt_name]
                group.create_dataset(name, data=array.T if name.endswith("kernel:0") else array)
    read = read_tf_h5_weights(path)
    assert set(read) == {name.removesuffix(":0") for name in names.values()}
    for pt_name, array in load_tf_weights_into_pt_state_dict(tmp_path, "bert").items():
        np.testing.assert_array_equal(array, state_dict[pt_name])


@pytest.mark.parametrize("pt_name", [
    "bert.embeddings.word_embeddings.weight",
    "bert.embeddings.position_embeddings.weight",
    "bert.embeddings.LayerNorm.weight",
    "bert.encoder.layer.11.attention.output.dense.weight",
    "bert.encoder.layer.3.intermediate.dense.bias",
    "bert.pooler.dense.weight",
    "classifier.weight",
    "qa_outputs.bias",
    "cls.predictions.transform.dense.weight",
    "cls.predictions.bias",
])
def test_name_maps_invert_each_other(pt_name):
    tf_name, transpose = pt_to_tf_name(pt_name)
    assert tf_to_pt_name(tf_name) == (pt_name, transpose)
    assert tf_to_pt_name(f"tf_bert_model/{tf_name}:0") == (pt_name, transpose)


def test_name_map_examples():
    assert pt_to_tf_name("bert.encoder.layer.3.attention.self.query.weight") == (
        "bert/encoder/layer_._3/attention/self/query/kernel", True)
    assert pt_to_tf_name("bert.embeddings.LayerNorm.gamma") == ("bert/embeddings/LayerNorm/gamma", False)
    assert pt_to_tf_name("cls.predictions.bias") == ("mlm___cls/predictions/bias", False)


def test_keras_loss_and_internal_loss_agree(tiny_bert_kwargs):
    model = tfb.TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=3))
    inputs = make_inputs()
    labels = np.array([0, 2, 1])
    outputs = model(inputs, labels=labels)
    keras_loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, outputs.logits)
    np.testing.assert_allclose(outputs.loss.numpy(), keras_loss.numpy(), rtol=1e-6)
    assert outputs[0] is outputs.loss and outputs[1] is outputs.logits


def test_task_losses_match_pytorch(tiny_bert_kwargs):
    """Losses with labels equal HF PyTorch's (ignore index -100, QA positions past the end ignored)."""
    cases = [
        (tfb.TFBertForTokenClassification, "BertForTokenClassification",
         {"labels": np.array([[1, 0, -100, 1, 0, 0, 1, -100, -100]] * 3)}, None),
        (tfb.TFBertForQuestionAnswering, "BertForQuestionAnswering",
         {"start_positions": np.array([1, 4, 20]), "end_positions": np.array([3, 5, 2])}, None),
        (tfb.TFBertForMaskedLM, "BertForMaskedLM", {"labels": np.full((3, 9), -100)}, (1, 4, 7)),
        (tfb.TFBertForMultipleChoice, "BertForMultipleChoice", {"labels": np.array([0, 3, 1])}, None),
    ]
    for tf_class, hf_name, labels, mlm_positions in cases:
        if mlm_positions:
            labels["labels"][0, list(mlm_positions)] = [5, 17, 42]
        kwargs = {**tiny_bert_kwargs, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
        hf = hf_model(hf_name, kwargs)
        model = tf_class(BertConfig(**kwargs))
        model.load_tf_weights(pt_weights_to_tf({k: v.numpy() for k, v in hf.state_dict().items()}, "bert"))
        inputs = make_inputs(choices=4 if tf_class is tfb.TFBertForMultipleChoice else None)
        with torch.no_grad():
            expected = hf(**{k: torch.from_numpy(v).long() for k, v in {**inputs, **labels}.items()}).loss
        actual = model({**inputs, **labels}).loss
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-5, err_msg=hf_name)


def test_errors_name_the_problem(tiny_bert_kwargs, tmp_path):
    model = tfb.TFBertForSequenceClassification(BertConfig(**tiny_bert_kwargs))
    with pytest.raises(TypeError, match=r"unexpected inputs \['idx'\]"):
        model({"input_ids": np.ones((1, 3), np.int32), "idx": np.zeros((1,), np.int32)})
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="ignore_mismatched_sizes=True"):
        tfb.TFBertForSequenceClassification.from_pretrained(tmp_path, num_labels=5)
    resized = tfb.TFBertForSequenceClassification.from_pretrained(tmp_path, num_labels=5, ignore_mismatched_sizes=True)
    assert resized(make_inputs()).logits.shape == (3, 5)
    with pytest.raises(TypeError, match="num_lables"):
        tfb.TFBertForSequenceClassification.from_pretrained(tmp_path, num_lables=5)
    (tmp_path / "tf_model.h5").unlink()
    with pytest.raises(FileNotFoundError, match="tf_model.h5"):
        tfb.TFBertModel.from_pretrained(tmp_path)


class _RunsCode:
    def __reduce__(self):
        import os

        return (os.system, ("touch PWNED_MARKER",))


def test_from_pt_refuses_a_malicious_pickle(tiny_bert_kwargs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    BertConfig(**tiny_bert_kwargs).save_pretrained(tmp_path)
    torch.save({"bert.pooler.dense.weight": _RunsCode()}, tmp_path / "pytorch_model.bin")
    with pytest.raises(OSError, match="Refused to load .*pytorch_model.bin.*nothing from it was executed") as refused:
        tfb.TFBertModel.from_pretrained(tmp_path, from_pt=True)
    assert "weights_only=False" not in str(refused.value) and not (tmp_path / "PWNED_MARKER").exists()


def test_missing_tensorflow_names_the_pip_extra():
    code = (
        "import sys; sys.modules['tensorflow'] = None\n"
        "import tuneformers\n"
        "try:\n    tuneformers.TFBertModel\nexcept ImportError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'tuneformers[tf]'" in result.stdout


@pytest.mark.slow
def test_minilm_parity_both_directions(minilm_dir, tmp_path, caplog):
    """The real all-MiniLM-L6-v2: PT safetensors -> TF (automatic from_pt), equal to HF PyTorch; TF -> our PyTorch."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir)
    batch = tokenizer(["A man is playing a guitar on the stage.", "Rain today."], padding=True, return_tensors="np")
    with caplog.at_level("INFO", logger="tuneformers"):
        model = tfb.TFBertModel.from_pretrained(minilm_dir)
    assert "from_pt=True" in caplog.text
    hf = transformers.BertModel.from_pretrained(minilm_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        expected = hf(**{k: torch.from_numpy(v) for k, v in batch.items()}, output_hidden_states=True)
    actual = model(dict(batch), output_hidden_states=True)
    np.testing.assert_allclose(actual.pooler_output.numpy(), expected.pooler_output.numpy(), atol=ATOL, rtol=0)
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=ATOL, rtol=0)

    model.save_pretrained(tmp_path)
    pt_model = tuneformers.BertModel.from_pretrained(tmp_path, from_tf=True)
    with torch.no_grad():
        ours = pt_model(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state.numpy()
    mask = batch["attention_mask"].astype(bool)
    np.testing.assert_allclose(ours[mask], actual.last_hidden_state.numpy()[mask], atol=ATOL, rtol=0)
