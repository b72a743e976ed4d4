"""Parity of our BERT heads with HF transformers (test-only oracle) on tiny random configs and the real checkpoint."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")

from tuneformers import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib: the shared parity helpers beside this file
from hf_parity import assert_same_outputs, make_labels  # noqa: E402

HEADS = [
    (BertModel, "BertModel"),
    (BertForSequenceClassification, "BertForSequenceClassification"),
    (BertForTokenClassification, "BertForTokenClassification"),
    (BertForQuestionAnswering, "BertForQuestionAnswering"),
    (BertForMaskedLM, "BertForMaskedLM"),
    (BertForMultipleChoice, "BertForMultipleChoice"),
]


def make_pair(our_class, hf_name, tiny_bert_kwargs, **overrides):
    kwargs = {**tiny_bert_kwargs, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, **overrides}
    torch.manual_seed(0)
    ours = our_class(BertConfig(**kwargs))
    hf_config = transformers.BertConfig(**kwargs)
    hf_config._attn_implementation = "eager"
    hf = getattr(transformers, hf_name)(hf_config)
    missing, unexpected = hf.load_state_dict(ours.state_dict(), strict=False)
    assert not unexpected and not [key for key in missing if "position_ids" not in key], (missing, unexpected)
    return ours, hf


def make_inputs(batch=3, tokens=7, vocab=99, choices=None, seed=1, padded=True):
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, choices, tokens) if choices else (batch, tokens)
    input_ids = torch.randint(1, vocab, shape, generator=generator)
    attention_mask = torch.ones(shape, dtype=torch.long)
    if padded:
        attention_mask[0, ..., -2:] = 0  # the first example is padded
    token_type_ids = torch.zeros(shape, dtype=torch.long)
    token_type_ids[..., tokens // 2:] = 1
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


@pytest.mark.parametrize("padded", [False, True], ids=["unpadded", "padded"])
@pytest.mark.parametrize("train_mode", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("our_class,hf_name", HEADS, ids=[name for _, name in HEADS])
def test_head_matches_hf(our_class, hf_name, train_mode, padded, tiny_bert_kwargs):
    ours, hf = make_pair(our_class, hf_name, tiny_bert_kwargs)
    ours.train(train_mode)
    hf.train(train_mode)
    choices = 4 if our_class is BertForMultipleChoice else None
    inputs = {**make_inputs(choices=choices, padded=padded), **make_labels(our_class.__name__.removeprefix("Bert"))}
    mask = inputs["attention_mask"]
    ours_out = ours(**inputs, output_hidden_states=True, output_attentions=True)
    hf_out = hf(**inputs, output_hidden_states=True, output_attentions=True)
    fields = ["loss", "logits", "start_logits", "end_logits", "last_hidden_state", "pooler_output"]
    if padded and our_class is BertForQuestionAnswering:
        fields.remove("loss")  # we rule out answers in padding; HF scores them (see test below)
    assert_same_outputs(ours_out, hf_out, mask, fields)
    assert len(ours_out.hidden_states) == len(hf_out.hidden_states) == tiny_bert_kwargs["num_hidden_layers"] + 1
    if padded and our_class is BertForQuestionAnswering:
        return
    if train_mode and ours_out[0].requires_grad and our_class is not BertModel:
        ours_out[0].backward()
        hf_out[0].backward()
        ours_grads = dict(ours.named_parameters())
        for name, param in hf.named_parameters():
            if param.grad is not None:
                torch.testing.assert_close(ours_grads[name].grad, param.grad, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize(
    "problem_type,labels",
    [
        ("regression", torch.tensor([[0.5], [1.5], [-1.0]])),
        ("single_label_classification", torch.tensor([0, 2, 1])),
        ("multi_label_classification", torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])),
        (None, torch.tensor([0, 2, 1])),
        (None, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])),
    ],
)
def test_sequence_classification_losses_match_hf(problem_type, labels, tiny_bert_kwargs):
    num_labels = 1 if problem_type == "regression" else 3
    ours, hf = make_pair(
        BertForSequenceClassification, "BertForSequenceClassification", tiny_bert_kwargs,
        num_labels=num_labels, problem_type=problem_type,
    )
    if problem_type == "regression":
        labels = labels.squeeze(-1)
    inputs = make_inputs()
    loss = ours(**inputs, labels=labels).loss
    torch.testing.assert_close(loss, hf(**inputs, labels=labels).loss, atol=1e-6, rtol=1e-6)
    assert ours.config.problem_type == problem_type, "forward must not write to the config"


def test_outputs_index_and_attribute_access(tiny_bert_kwargs):
    model = BertForSequenceClassification(BertConfig(**tiny_bert_kwargs)).eval()
    inputs = make_inputs()
    with_labels = model(**inputs, labels=torch.tensor([0, 1, 1]))
    assert with_labels[0] is with_labels.loss and with_labels["logits"] is with_labels.logits
    loss, logits = with_labels[:2]
    assert loss.dim() == 0 and logits.shape == (3, 2)
    without_labels = model(**inputs)
    assert without_labels[0] is without_labels.logits
    as_tuple = model(**inputs, return_dict=False)
    assert isinstance(as_tuple, tuple) and torch.equal(as_tuple[0], without_labels.logits)


def test_padding_positions_are_zero_and_never_answers(tiny_bert_kwargs):
    model = BertForQuestionAnswering(BertConfig(**tiny_bert_kwargs)).eval()
    inputs = make_inputs()
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
        hidden = model.bert(**inputs).last_hidden_state
    padding = inputs["attention_mask"] == 0
    assert torch.all(hidden[padding] == 0)
    assert torch.all(out.start_logits[padding] == torch.finfo(torch.float32).min)
    assert torch.all(out.end_logits[padding] == torch.finfo(torch.float32).min)
    assert torch.all(out.start_logits[~padding] > -1e4)


def test_mlm_decoder_is_tied(tiny_bert_kwargs):
    model = BertForMaskedLM(BertConfig(**tiny_bert_kwargs))
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias


def test_padding_masks_keys_exactly(tiny_bert_kwargs):
    """The unpadded sequence gives the same hidden states alone and inside a padded batch."""
    model = BertModel(BertConfig(**tiny_bert_kwargs)).eval()
    ids = torch.tensor([[5, 6, 7, 8, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        padded = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, :4]
        alone = model(input_ids=ids[:, :4]).last_hidden_state
    torch.testing.assert_close(padded, alone, atol=1e-6, rtol=1e-5)


def test_too_long_input_names_the_limit(tiny_bert_kwargs):
    model = BertModel(BertConfig(**tiny_bert_kwargs))
    with pytest.raises(ValueError, match="position embeddings for only 64.*truncation=True"):
        model(input_ids=torch.ones(1, 65, dtype=torch.long))


def test_one_dimensional_input_is_explained(tiny_bert_kwargs):
    model = BertModel(BertConfig(**tiny_bert_kwargs))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(input_ids=torch.ones(5, dtype=torch.long))


def test_fresh_model_init_statistics():
    config = BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=1, num_attention_heads=4, intermediate_size=128)
    model = BertForSequenceClassification(config)
    weight = model.bert.encoder.layer[0].intermediate.dense.weight
    assert abs(weight.std().item() - 0.02) < 0.002 and abs(weight.mean().item()) < 0.002
    assert torch.all(model.bert.encoder.layer[0].intermediate.dense.bias == 0)
    assert torch.all(model.bert.embeddings.LayerNorm.weight == 1)
    assert torch.all(model.bert.embeddings.word_embeddings.weight[0] == 0), "padding row starts at zero"


def test_gradient_checkpointing_gives_same_gradients(tiny_bert_kwargs):
    config = BertConfig(**tiny_bert_kwargs, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    plain = BertForSequenceClassification(config).train()
    checkpointed = BertForSequenceClassification(config).train()
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.gradient_checkpointing_enable()
    inputs = {**make_inputs(), "labels": torch.tensor([0, 1, 1])}
    plain(**inputs).loss.backward()
    checkpointed(**inputs).loss.backward()
    for (name, a), (_, b) in zip(plain.named_parameters(), checkpointed.named_parameters()):
        torch.testing.assert_close(a.grad, b.grad, msg=name)


@pytest.mark.slow
def test_real_checkpoint_matches_hf(minilm_dir):
    from transformers import BertModel as HFBertModel
    from transformers import BertTokenizerFast as HFTokenizer

    texts = ["A gripping, beautifully shot thriller.", "Dull.", "The plot meanders, but the acting is superb and funny."]
    encoded = HFTokenizer.from_pretrained(str(minilm_dir))(texts, padding=True, return_tensors="pt")
    ours = BertModel.from_pretrained(minilm_dir)
    hf = HFBertModel.from_pretrained(str(minilm_dir)).eval()
    with torch.no_grad():
        ours_out = ours(**encoded, output_hidden_states=True)
        hf_out = hf(**encoded, output_hidden_states=True)
    real = encoded["attention_mask"].bool()
    assert not real.all(), "the batch must contain padding"
    for ours_h, hf_h in zip(ours_out.hidden_states, hf_out.hidden_states):
        torch.testing.assert_close(ours_h[real], hf_h[real], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_out.pooler_output, hf_out.pooler_output, atol=1e-5, rtol=1e-5)
