"""TF RoBERTa and DistilBERT against HF transformers' PyTorch models (oracle) and ours: every head, weights moved
PT -> TF by the name maps, and HF-format folders both ways (from_pt, from_tf)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf
tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("h5py")

import tuneformers  # noqa: E402
from tuneformers.modeling_tf_pytorch_utils import pt_weights_to_tf  # noqa: E402

BERT_LIKE = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
FAMILIES = {  # family -> (config class name, tiny config, model_type, pad id)
    "Roberta": ("RobertaConfig", dict(BERT_LIKE, pad_token_id=1), "roberta", 1),
    "DistilBert": ("DistilBertConfig", dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                            max_position_embeddings=64, dropout=0.0, attention_dropout=0.0,
                                            qa_dropout=0.0, seq_classif_dropout=0.0), "distilbert", 0),
}
HEADS = [("Model", "last_hidden_state"), ("ForSequenceClassification", "logits"), ("ForTokenClassification", "logits"),
         ("ForQuestionAnswering", "end_logits"), ("ForMaskedLM", "logits"), ("ForMultipleChoice", "logits")]
CASES = [(family, head, field) for family in FAMILIES for head, field in HEADS]
ATOL = 1e-5


def make_inputs(family, choices=None, seed=1):
    pad_id = FAMILIES[family][3]
    shape = (3, choices, 9) if choices else (3, 9)
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(3, 99, shape).astype(np.int32)
    attention_mask = np.ones(shape, np.int32)
    attention_mask[1, ..., 6:] = 0
    attention_mask[2, ..., 4:] = 0
    input_ids[attention_mask == 0] = pad_id
    return dict(input_ids=input_ids, attention_mask=attention_mask)


def hf_model(family, head, **overrides):
    config_name, kwargs, _, _ = FAMILIES[family]
    config = getattr(transformers, config_name)(**{**kwargs, **overrides})
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return getattr(transformers, family + head)(config).eval()


def real(array, mask):
    array = np.asarray(array)
    mask = mask.reshape(-1, mask.shape[-1]).astype(bool)
    return array[mask] if array.shape[:2] == mask.shape else array


@pytest.mark.parametrize(("family", "head", "field"), CASES, ids=[family + head for family, head, _ in CASES])
def test_pt_to_tf_parity_every_head(family, head, field):
    config_name, kwargs, model_type, _ = FAMILIES[family]
    hf = hf_model(family, head)
    model = getattr(tuneformers, "TF" + family + head)(getattr(tuneformers, config_name)(**kwargs))
    model.load_tf_weights(pt_weights_to_tf({k: v.numpy() for k, v in hf.state_dict().items()}, model_type))
    inputs = make_inputs(family, choices=4 if head == "ForMultipleChoice" else None)
    with torch.no_grad():
        expected = hf(**{k: torch.from_numpy(v).long() for k, v in inputs.items()}, output_hidden_states=True)
    actual = model(inputs, output_hidden_states=True)
    mask = inputs["attention_mask"]
    np.testing.assert_allclose(real(actual[field], mask), real(expected[field].numpy(), mask), atol=ATOL, rtol=0)
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states, strict=True):
        np.testing.assert_allclose(real(ours, mask), real(theirs.numpy(), mask), atol=ATOL, rtol=0)


@pytest.mark.parametrize("family,head", [("Roberta", "ForMaskedLM"), ("Roberta", "ForSequenceClassification"),
                                         ("DistilBert", "ForMaskedLM"), ("DistilBert", "ForQuestionAnswering")])
def test_folders_both_ways(family, head, tmp_path):
    """HF PyTorch folder -> TF (from_pt) -> tf_model.h5 -> our PyTorch (from_tf) -> HF PyTorch: the same outputs."""
    hf = hf_model(family, head)
    with torch.no_grad():
        for param in hf.parameters():
            param.add_(torch.randn_like(param) * 0.01)
    hf.save_pretrained(tmp_path / "pt")
    tf_model = getattr(tuneformers, "TF" + family + head).from_pretrained(tmp_path / "pt")
    tf_model.save_pretrained(tmp_path / "tf")
    ours = getattr(tuneformers, family + head).from_pretrained(tmp_path / "tf", from_tf=True)
    ours.save_pretrained(tmp_path / "ours")
    hf_again = getattr(transformers, family + head).from_pretrained(tmp_path / "ours").eval()
    inputs = make_inputs(family)
    torch_inputs = {k: torch.from_numpy(v).long() for k, v in inputs.items()}
    field = "end_logits" if head == "ForQuestionAnswering" else "logits"
    with torch.no_grad():
        expected = real(hf(**torch_inputs)[field].numpy(), inputs["attention_mask"])
        np.testing.assert_allclose(real(ours(**torch_inputs)[field].numpy(), inputs["attention_mask"]), expected,
                                   atol=ATOL, rtol=0)
        np.testing.assert_allclose(real(hf_again(**torch_inputs)[field].numpy(), inputs["attention_mask"]), expected,
                                   atol=ATOL, rtol=0)
    np.testing.assert_allclose(real(tf_model(inputs)[field], inputs["attention_mask"]), expected, atol=ATOL, rtol=0)
    if head == "ForMaskedLM":  # the tied decoder is stored once, under the embeddings
        assert not any("decoder" in name or name.endswith("vocab_projector/weight") for name in tf_model.tf_named_weights())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_task_losses_match_pytorch(family):
    config_name, kwargs, model_type, _ = FAMILIES[family]
    hf = hf_model(family, "ForSequenceClassification", num_labels=3)
    model = getattr(tuneformers, f"TF{family}ForSequenceClassification")(getattr(tuneformers, config_name)(**kwargs, num_labels=3))
    model.load_tf_weights(pt_weights_to_tf({k: v.numpy() for k, v in hf.state_dict().items()}, model_type))
    inputs = make_inputs(family)
    labels = np.array([0, 2, 1])
    with torch.no_grad():
        expected = hf(**{k: torch.from_numpy(v).long() for k, v in inputs.items()}, labels=torch.from_numpy(labels)).loss
    np.testing.assert_allclose(model({**inputs, "labels": labels}).loss.numpy(), expected.numpy(), atol=ATOL, rtol=0)


def test_distilbert_tf_rejects_token_types():
    config_name, kwargs, _, _ = FAMILIES["DistilBert"]
    model = tuneformers.TFDistilBertModel(getattr(tuneformers, config_name)(**kwargs))
    inputs = make_inputs("DistilBert")
    with pytest.raises(ValueError, match="no token types"):
        model({**inputs, "token_type_ids": np.zeros_like(inputs["input_ids"])})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_tf_auto_classes_dispatch_on_model_type(family):
    config_name, kwargs, _, _ = FAMILIES[family]
    config = getattr(tuneformers, config_name)(**kwargs)
    for auto_name, head in [("TFAutoModel", "Model"), ("TFAutoModelForSequenceClassification", "ForSequenceClassification"),
                            ("TFAutoModelForTokenClassification", "ForTokenClassification"),
                            ("TFAutoModelForQuestionAnswering", "ForQuestionAnswering"),
                            ("TFAutoModelForMaskedLM", "ForMaskedLM"), ("TFAutoModelForMultipleChoice", "ForMultipleChoice")]:
        assert getattr(tuneformers, auto_name).model_class_for(config.model_type) is getattr(tuneformers, "TF" + family + head)
    assert type(tuneformers.TFAutoModelForSequenceClassification.from_config(config)).__name__ == (
        f"TF{family}ForSequenceClassification")
