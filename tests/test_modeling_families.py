"""Parity of the RoBERTa (XLM-RoBERTa, CamemBERT), DistilBERT and ELECTRA heads with HF transformers (test-only
oracle) on tiny random configs: outputs, losses, hidden states and gradients; HF-format folders both ways; Auto."""

from __future__ import annotations

import copy

import pytest
import torch

transformers = pytest.importorskip("transformers")

import tuneformers  # noqa: E402
from tuneformers import AutoModel, AutoModelForMaskedLM, AutoModelForSequenceClassification  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: the shared parity helpers beside this file
from hf_parity import assert_same_outputs, make_labels  # noqa: E402

BERT_LIKE = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=64, type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
# family -> (config class name, tiny config kwargs without dropout, the pad id the inputs use, takes token types)
FAMILIES = {
    "Roberta": ("RobertaConfig", dict(BERT_LIKE, pad_token_id=1), 1, True),
    "XLMRoberta": ("XLMRobertaConfig", dict(BERT_LIKE, pad_token_id=1), 1, True),
    "Camembert": ("CamembertConfig", dict(BERT_LIKE, pad_token_id=1), 1, True),
    "DistilBert": ("DistilBertConfig", dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                            max_position_embeddings=64, dropout=0.0, attention_dropout=0.0,
                                            qa_dropout=0.0, seq_classif_dropout=0.0), 0, False),
    "Electra": ("ElectraConfig", dict(BERT_LIKE, embedding_size=24, summary_last_dropout=0.0), 0, True),
}
HEADS = ["Model", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering", "ForMaskedLM",
         "ForMultipleChoice"]
CASES = [(family, head) for family in ("Roberta", "DistilBert", "Electra") for head in HEADS]
CASES += [("Electra", "ForPreTraining"), ("XLMRoberta", "ForSequenceClassification"), ("Camembert", "ForMaskedLM")]


def make_pair(family, head, **overrides):
    """(ours, HF's) with the same weights; built once per arguments (HF models are slow to build), copied per test."""
    key = (family, head, tuple(sorted(overrides.items())))
    if key not in _PAIRS:
        _PAIRS[key] = _build_pair(family, head, **overrides)
    return copy.deepcopy(_PAIRS[key])


_PAIRS: dict = {}


def _build_pair(family, head, **overrides):
    config_name, kwargs, _, _ = FAMILIES[family]
    kwargs = {**kwargs, **overrides}
    torch.manual_seed(0)
    ours = getattr(tuneformers, family + head)(getattr(tuneformers, config_name)(**kwargs))
    hf_config = getattr(transformers, config_name)(**kwargs)
    hf_config._attn_implementation = "eager"
    hf = getattr(transformers, family + head)(hf_config)
    missing, unexpected = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and not [key for key in missing if "position_ids" not in key], (missing, unexpected)
    return ours, hf


def make_inputs(family, batch=3, tokens=7, choices=None, padded=True, seed=1):
    _, _, pad_id, token_types = FAMILIES[family]
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, choices, tokens) if choices else (batch, tokens)
    input_ids = torch.randint(3, 99, shape, generator=generator)
    attention_mask = torch.ones(shape, dtype=torch.long)
    if padded:  # the first example is padded, with the pad id (RoBERTa numbers positions from it)
        attention_mask[0, ..., -2:] = 0
        input_ids[0, ..., -2:] = pad_id
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask)
    if token_types:
        inputs["token_type_ids"] = (torch.arange(tokens) >= tokens // 2).long().expand(shape).contiguous()
    return inputs


# (train mode, padded); dropout is 0 in both. Gradients are checked once per head, on the train-mode run: padded,
# or unpadded for QA (whose padded losses differ from HF's by design).
RUNS = [(family, head, train, padded) for family, head in CASES
        for train, padded in ((False, False), (False, True), (True, head != "ForQuestionAnswering"))]


@pytest.mark.parametrize("family,head,train_mode,padded", RUNS, ids=[
    f"{family}{head}-{'train' if train else 'eval'}-{'padded' if padded else 'unpadded'}"
    for family, head, train, padded in RUNS])
def test_head_matches_hf(family, head, train_mode, padded):
    ours, hf = make_pair(family, head)
    ours.train(train_mode)
    hf.train(train_mode)
    choices = 4 if head == "ForMultipleChoice" else None
    inputs = {**make_inputs(family, choices=choices, padded=padded), **make_labels(head)}
    mask = inputs["attention_mask"]
    ours_out = ours(**inputs, output_hidden_states=True, output_attentions=True)
    hf_out = hf(**inputs, output_hidden_states=True, output_attentions=True)
    qa_padded = padded and head == "ForQuestionAnswering"  # we rule out answers in padding; HF scores them
    fields = ("logits", "start_logits", "end_logits", "last_hidden_state", "pooler_output") + (() if qa_padded else ("loss",))
    assert_same_outputs(ours_out, hf_out, mask, fields)
    assert len(ours_out.hidden_states) == len(hf_out.hidden_states) == 3
    if train_mode and head != "Model" and not qa_padded:
        ours_out[0].backward()
        hf_out[0].backward()
        ours_grads = dict(ours.named_parameters(remove_duplicate=False))
        checked = 0
        for name, param in hf.named_parameters():
            if param.grad is not None:
                torch.testing.assert_close(ours_grads[name].grad, param.grad, atol=1e-5, rtol=1e-4, msg=name)
                checked += 1
        assert checked > 10


@pytest.mark.parametrize("family", ["Roberta", "DistilBert", "Electra"])
@pytest.mark.parametrize(
    "problem_type,labels",
    [
        ("regression", torch.tensor([0.5, 1.5, -1.0])),
        ("multi_label_classification", torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])),
        (None, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])),
    ],
)
def test_sequence_classification_losses_match_hf(family, problem_type, labels):
    num_labels = 1 if problem_type == "regression" else 3
    ours, hf = make_pair(family, "ForSequenceClassification", num_labels=num_labels, problem_type=problem_type)
    inputs = make_inputs(family)
    loss = ours(**inputs, labels=labels).loss
    torch.testing.assert_close(loss, hf(**inputs, labels=labels).loss, atol=1e-6, rtol=1e-6)
    assert ours.config.problem_type == problem_type, "forward must not write to the config"


def test_roberta_positions_skip_padding_anywhere():
    """Positions come from the ids: a left-padded row gets the same outputs as the unpadded one."""
    ours, hf = make_pair("Roberta", "Model")
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    left = torch.tensor([[1, 1, 0, 5, 6, 7, 2]])
    mask = (left != 1).long()
    out = ours(input_ids=left, attention_mask=mask).last_hidden_state[0, 2:]
    torch.testing.assert_close(out, ours(input_ids=ids).last_hidden_state[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out, hf(input_ids=left, attention_mask=mask).last_hidden_state[0, 2:], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="max_length=62"):
        ours(input_ids=torch.full((1, 63), 5))


@pytest.mark.parametrize("family,head", [("Roberta", "ForMaskedLM"), ("DistilBert", "ForMaskedLM"), ("Electra", "ForMaskedLM"),
                                         ("Roberta", "ForSequenceClassification"), ("DistilBert", "ForQuestionAnswering"),
                                         ("Electra", "ForPreTraining"), ("XLMRoberta", "ForMaskedLM"),
                                         ("Camembert", "ForTokenClassification")])
def test_hf_folders_load_both_ways(family, head, tmp_path):
    """HF save_pretrained -> our from_pretrained, and ours -> HF, with identical outputs; tied weights stay tied."""
    ours, hf = make_pair(family, head)
    with torch.no_grad():  # make the tied bias / heads non-trivial
        for param in hf.parameters():
            param.add_(torch.randn_like(param) * 0.01)
    hf.save_pretrained(tmp_path / "hf")
    loaded = getattr(tuneformers, family + head).from_pretrained(tmp_path / "hf")
    auto_class = AutoModelForMaskedLM if head == "ForMaskedLM" else None
    if auto_class is not None:
        assert type(auto_class.from_pretrained(tmp_path / "hf")) is type(loaded)
    inputs = make_inputs(family)
    hf.eval()
    assert_same_outputs(loaded(**inputs), hf(**inputs), inputs["attention_mask"])
    loaded.save_pretrained(tmp_path / "ours")
    hf_again = getattr(transformers, family + head).from_pretrained(tmp_path / "ours")
    assert_same_outputs(loaded(**inputs), hf_again(**inputs), inputs["attention_mask"])
    if head == "ForMaskedLM":
        embeddings = loaded.get_input_embeddings().weight
        decoder = {"Roberta": "lm_head.decoder", "XLMRoberta": "lm_head.decoder", "DistilBert": "vocab_projector",
                   "Electra": "generator_lm_head"}[family]
        assert loaded.get_submodule(decoder).weight is embeddings
        if family == "Roberta":
            assert loaded.lm_head.decoder.bias is loaded.lm_head.bias
            torch.testing.assert_close(loaded.lm_head.bias, hf.lm_head.bias)


@pytest.mark.parametrize("family,model_type", [("Roberta", "roberta"), ("XLMRoberta", "xlm-roberta"),
                                               ("Camembert", "camembert"), ("DistilBert", "distilbert"),
                                               ("Electra", "electra")])
def test_auto_dispatch_and_base_model(family, model_type, tmp_path):
    _, hf = make_pair(family, "ForSequenceClassification")
    hf.save_pretrained(tmp_path)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path, num_labels=2)
    assert type(model).__name__ == family + "ForSequenceClassification"
    assert model.config.model_type == model_type
    assert model.base_model is getattr(model, {"Roberta": "roberta", "XLMRoberta": "roberta", "Camembert": "roberta",
                                               "DistilBert": "distilbert", "Electra": "electra"}[family])
    assert type(AutoModel.from_pretrained(tmp_path)).__name__ == family + "Model"
    for param in model.base_model.parameters():  # freezing the encoder leaves only the head trainable
        param.requires_grad_(False)
    trainable = {name.split(".")[0] for name, param in model.named_parameters() if param.requires_grad}
    assert trainable and model.base_model_prefix not in trainable


def test_distilbert_rejects_token_types_and_sinusoids_are_fixed():
    ours, _ = make_pair("DistilBert", "ForSequenceClassification")
    inputs = make_inputs("DistilBert")
    with pytest.raises(ValueError, match="no token types"):
        ours(**inputs, token_type_ids=torch.zeros_like(inputs["input_ids"]))
    config = tuneformers.DistilBertConfig(**{**FAMILIES["DistilBert"][1], "sinusoidal_pos_embds": True})
    model = tuneformers.DistilBertModel(config)
    table = model.embeddings.position_embeddings.weight
    assert not table.requires_grad
    hf = transformers.DistilBertModel(transformers.DistilBertConfig(**FAMILIES["DistilBert"][1], sinusoidal_pos_embds=True))
    torch.testing.assert_close(table, hf.embeddings.position_embeddings.weight)


def test_electra_without_projection():
    """embedding_size == hidden_size: no embeddings_project (as HF)."""
    ours, hf = make_pair("Electra", "ForPreTraining", embedding_size=32)
    assert not hasattr(ours.electra, "embeddings_project")
    inputs = make_inputs("Electra")
    assert_same_outputs(ours(**inputs), hf(**inputs), inputs["attention_mask"])


GOLDEN = {"Roberta": [-0.583225, 0.443469, -0.873774, -0.170471], "DistilBert": [0.951982, -1.003384, -0.454765, -0.152743],
          "Electra": [0.314137, 0.021910, 1.730034, 1.721834]}


@pytest.mark.parametrize("family", sorted(GOLDEN))
def test_golden_values(family):
    """Fixed-seed outputs (torch.manual_seed(0) init, seeded inputs): they mean something without the oracle."""
    hidden = make_pair(family, "Model")[0](**make_inputs(family)).last_hidden_state
    torch.testing.assert_close(hidden[1, 2, :4], torch.tensor(GOLDEN[family]), atol=1e-4, rtol=0)
