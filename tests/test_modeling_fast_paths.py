"""The two exact shortcuts of the encoders (issue 16), checked against the plain computation:

- a head that reads only position 0 (sequence classification, multiple choice) runs the last layer for that
  token alone: same logits and gradients as the full last layer;
- a batch with little padding runs padded instead of gathering its real tokens: same outputs (zeros at padding)
  and gradients as the unpadded run;
- an unpadded batch attends without its padding (in groups of similar length on the CPU, as jagged tensors on
  CUDA): same logits and gradients as attending over the whole padded batch.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import tuneformers
from tuneformers import modeling_layers

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=64, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
CONFIGS = {
    "Bert": tuneformers.BertConfig(**TINY),
    "Roberta": tuneformers.RobertaConfig(**TINY, pad_token_id=1),
    "Electra": tuneformers.ElectraConfig(**TINY, embedding_size=24, summary_last_dropout=0.0),
    "DistilBert": tuneformers.DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37,
                                               max_position_embeddings=64, dropout=0.0, attention_dropout=0.0,
                                               seq_classif_dropout=0.0),
}
# lengths per row of a B=4, T=10 batch
LENGTHS = {
    "no padding": [10, 10, 10, 10],
    "heavy padding (runs unpadded)": [10, 3, 6, 1],
    "light padding (runs padded)": [10, 10, 10, 9],
}


def batch(family: str, lengths: list[int], left_padding: bool = False, choices: int | None = None):
    generator = torch.Generator().manual_seed(len(lengths) + sum(lengths))
    T = 10
    input_ids = torch.randint(5, 99, (len(lengths), T), generator=generator)
    mask = torch.zeros(len(lengths), T, dtype=torch.long)
    for row, length in enumerate(lengths):
        if left_padding:
            mask[row, T - length:] = 1
        else:
            mask[row, :length] = 1
    pad_token_id = CONFIGS[family].pad_token_id if family in CONFIGS else POSITIONAL[family]["pad_token_id"]
    input_ids = input_ids.masked_fill(mask == 0, pad_token_id)
    inputs = {"input_ids": input_ids, "attention_mask": mask}
    if choices:
        inputs = {name: value.view(len(lengths) // choices, choices, T) for name, value in inputs.items()}
    return inputs


def logits_and_grads(model: torch.nn.Module, inputs: dict, labels: torch.Tensor):
    model.zero_grad()
    output = model(**inputs, labels=labels)
    output.loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return output.logits.detach(), grads


def assert_same(first, second):
    (logits_a, grads_a), (logits_b, grads_b) = first, second
    torch.testing.assert_close(logits_a, logits_b, atol=1e-5, rtol=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("family", sorted(CONFIGS))
@pytest.mark.parametrize("case", sorted(LENGTHS))
@pytest.mark.parametrize("head", ["ForSequenceClassification", "ForMultipleChoice"])
def test_first_token_only_last_layer_gives_the_same_logits_and_gradients(family, case, head):
    torch.manual_seed(0)
    model = getattr(tuneformers, family + head)(CONFIGS[family]).train()
    choices = 2 if head == "ForMultipleChoice" else None
    inputs = batch(family, LENGTHS[case], choices=choices)
    labels = torch.tensor([1, 0]) if choices else torch.tensor([0, 1, 1, 0])
    shortcut = logits_and_grads(model, inputs, labels)
    model.backbone_takes_first_token_only = False
    assert_same(shortcut, logits_and_grads(model, inputs, labels))


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_the_last_layer_really_runs_on_the_first_tokens_only(family):
    model = getattr(tuneformers, family + "ForSequenceClassification")(CONFIGS[family]).eval()
    rows_seen = []
    feed_forward_in = [module for module in model.base_model.modules()
                       if isinstance(module, torch.nn.Linear) and module.out_features == 37]  # one per layer
    feed_forward_in[-1].register_forward_hook(lambda module, args, out: rows_seen.append(args[0].shape[0]))
    inputs = batch(family, LENGTHS["heavy padding (runs unpadded)"])
    with torch.no_grad():
        model(**inputs)
    assert rows_seen == [4]  # B first tokens, not the 20 real tokens
    with torch.no_grad():
        model(**inputs, output_hidden_states=True)  # every layer's full output is asked for: no shortcut
    assert rows_seen == [4, 20]


def test_left_padding_falls_back_to_the_full_last_layer():
    model = tuneformers.BertForSequenceClassification(CONFIGS["Bert"]).train()
    inputs = batch("Bert", LENGTHS["heavy padding (runs unpadded)"], left_padding=True)
    labels = torch.tensor([0, 1, 1, 0])
    shortcut = logits_and_grads(model, inputs, labels)
    model.backbone_takes_first_token_only = False
    assert_same(shortcut, logits_and_grads(model, inputs, labels))


def test_base_model_first_token_only_returns_position_zero():
    model = tuneformers.BertModel(CONFIGS["Bert"]).eval()
    inputs = batch("Bert", LENGTHS["heavy padding (runs unpadded)"])
    with torch.no_grad():
        full = model(**inputs)
        first = model(**inputs, first_token_only=True)
    assert first.last_hidden_state.shape == (4, 1, 32)
    torch.testing.assert_close(first.last_hidden_state[:, 0], full.last_hidden_state[:, 0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(first.pooler_output, full.pooler_output, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("lengths, unpadded", [([10, 10, 10, 9], False), ([10, 3, 6, 1], True), ([10] * 4, False)])
def test_the_layout_runs_unpadded_only_when_padding_is_worth_removing(lengths, unpadded):
    mask = batch("Bert", lengths)["attention_mask"]
    layout = modeling_layers.TokenLayout.from_mask(mask, *mask.shape)
    assert (layout.index is not None) == unpadded
    assert layout.has_padding == (min(lengths) < 10)


@pytest.mark.parametrize("family", sorted(CONFIGS))
def test_padded_and_unpadded_runs_agree(family, monkeypatch):
    torch.manual_seed(0)
    model = getattr(tuneformers, family + "ForTokenClassification")(CONFIGS[family]).train()
    inputs = batch(family, LENGTHS["light padding (runs padded)"])
    labels = torch.randint(0, 2, (4, 10)).masked_fill(inputs["attention_mask"] == 0, -100)
    padded = logits_and_grads(model, inputs, labels)
    monkeypatch.setattr(modeling_layers, "UNPAD_MIN_PADDING_FRACTION", 0.0)
    unpadded = logits_and_grads(model, inputs, labels)
    assert_same(padded, unpadded)
    with torch.no_grad():
        hidden = model.base_model(**inputs).last_hidden_state
        monkeypatch.setattr(modeling_layers, "UNPAD_MIN_PADDING_FRACTION", 1.0)
        hidden_padded = model.base_model(**inputs).last_hidden_state
    assert hidden_padded[3, 9].abs().max() == 0  # zeros at padding either way
    torch.testing.assert_close(hidden, hidden_padded, atol=1e-6, rtol=1e-5)


MIXED_LENGTHS = [10, 2, 9, 3, 10, 1, 4, 8]  # the padded batch does 2.4x the attention the sequences need


def test_attention_length_groups_cover_each_sequence_once_and_split_mixed_lengths():
    lengths = [128] * 4 + [40] * 20 + [12] * 30 + [0, 0]
    groups = modeling_layers.attention_length_groups(lengths)
    assert sorted(i for group in groups for i in group) == [i for i, length in enumerate(lengths) if length > 0]
    assert [sorted({lengths[i] for i in group}) for group in groups] == [[128], [40], [12]]
    assert modeling_layers.attention_length_groups([52, 50, 51, 49]) == [[0, 2, 1, 3]]  # similar: one group
    assert modeling_layers.attention_length_groups([0, 0]) == []


def test_length_groups_place_every_token_and_sequence(monkeypatch):
    monkeypatch.setattr(modeling_layers, "GROUP_CALL_COST", 0)
    layout = modeling_layers.TokenLayout.from_mask(batch("Bert", MIXED_LENGTHS)["attention_mask"], 8, 10)
    groups = layout.length_groups
    assert len(groups.groups) > 1
    slots = torch.cat([group.gather.reshape(-1) for group in groups.groups])
    assert torch.equal(slots[groups.token_rows], torch.arange(sum(MIXED_LENGTHS)))  # each token finds itself
    rows = torch.cat([group.rows for group in groups.groups])
    assert torch.equal(rows[groups.sequence_rows], torch.arange(8))
    assert torch.equal(layout.sequence_offsets, torch.tensor([0, 10, 12, 21, 24, 34, 35, 39, 47]))


@pytest.mark.parametrize("family", sorted(CONFIGS))
@pytest.mark.parametrize("head", ["ForSequenceClassification", "ForTokenClassification"])
@pytest.mark.parametrize("kernel", ["length groups", "jagged"])
def test_attention_without_padding_matches_the_padded_batch(family, head, kernel, monkeypatch):
    torch.manual_seed(0)
    model = getattr(tuneformers, family + head)(CONFIGS[family]).train()
    inputs = batch(family, MIXED_LENGTHS)
    if head == "ForTokenClassification":
        labels = torch.randint(0, 2, (8, 10)).masked_fill(inputs["attention_mask"] == 0, -100)
    else:
        labels = torch.randint(0, 2, (8,))
    monkeypatch.setattr(modeling_layers, "UNPAD_MIN_PADDING_FRACTION", 1.1)  # everything padded
    padded = logits_and_grads(model, inputs, labels)
    monkeypatch.undo()
    monkeypatch.setattr(modeling_layers, "GROUP_CALL_COST", 0)  # one group per length
    if kernel == "jagged":
        monkeypatch.setattr(modeling_layers, "JAGGED_ATTENTION_DEVICES", ("cpu",))
    attended = []
    original = modeling_layers.attend

    def attend_and_record(q, *args, **kwargs):
        attended.append(q.shape)
        return original(q, *args, **kwargs)

    monkeypatch.setattr(modeling_layers, "attend", attend_and_record)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*nested tensors is in prototype.*")
        unpadded = logits_and_grads(model, inputs, labels)
    if head == "ForTokenClassification":
        real = inputs["attention_mask"].bool()
        unpadded, padded = (unpadded[0][real], unpadded[1]), (padded[0][real], padded[1])
    assert_same(padded, unpadded)
    if kernel == "jagged":
        assert attended == []
    else:
        assert {shape[2] for shape in attended} >= {10, 9, 8, 4, 3, 2}  # each group padded to its own longest


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_attends_jagged_with_the_padded_batch_s_results(dtype, monkeypatch):
    torch.manual_seed(0)
    model = tuneformers.BertForSequenceClassification(CONFIGS["Bert"]).cuda().train()
    inputs = {name: value.cuda() for name, value in batch("Bert", MIXED_LENGTHS).items()}
    labels = torch.randint(0, 2, (8,), device="cuda")
    jagged_calls = []
    original = modeling_layers._attend_jagged
    monkeypatch.setattr(modeling_layers, "_attend_jagged", lambda *a, **k: jagged_calls.append(1) or original(*a, **k))
    with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        jagged = logits_and_grads(model, inputs, labels)
    assert jagged_calls  # the default on CUDA
    monkeypatch.setattr(modeling_layers, "UNPAD_MIN_PADDING_FRACTION", 1.1)
    with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        padded = logits_and_grads(model, inputs, labels)
    tolerance = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=2e-2, rtol=2e-2)
    torch.testing.assert_close(jagged[0], padded[0], **tolerance)
    for name in padded[1]:
        torch.testing.assert_close(jagged[1][name], padded[1][name], **tolerance, msg=name)


POSITIONAL = {
    "MPNet": dict(TINY, relative_attention_num_buckets=8, pad_token_id=1),  # relative-position bias
    "ModernBert": dict(vocab_size=99, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37,
                       global_attn_every_n_layers=2, local_attention=4, pad_token_id=1),  # rotary + sliding window
}


@pytest.mark.parametrize("family", sorted(POSITIONAL))
@pytest.mark.parametrize("left_padding", [False, True])
def test_positional_attention_runs_in_groups(family, left_padding, monkeypatch):
    torch.manual_seed(0)
    config = getattr(tuneformers, family + "Config")(**POSITIONAL[family])
    model = getattr(tuneformers, family + "ForTokenClassification")(config).train()
    inputs = batch(family, MIXED_LENGTHS, left_padding=left_padding)
    mask = inputs["attention_mask"]
    labels = torch.randint(0, 2, (8, 10)).masked_fill(mask == 0, -100)
    monkeypatch.setattr(modeling_layers, "UNPAD_MIN_PADDING_FRACTION", 1.1)
    padded = logits_and_grads(model, inputs, labels)
    monkeypatch.undo()
    monkeypatch.setattr(modeling_layers, "GROUP_CALL_COST", 0)
    group_lengths = []
    original = modeling_layers.attend
    monkeypatch.setattr(modeling_layers, "attend",
                        lambda q, *a, **k: group_lengths.append(q.shape[2]) or original(q, *a, **k))
    grouped = logits_and_grads(model, inputs, labels)
    assert len(group_lengths) > config.num_hidden_layers  # several groups per layer
    real = mask.bool()
    assert_same((padded[0][real], padded[1]), (grouped[0][real], grouped[1]))


def test_a_sequence_with_holes_attends_padded_when_positions_matter():
    mask = torch.tensor([[1, 1, 0, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0]])
    layout = modeling_layers.TokenLayout.from_mask(mask, 2, 8)
    assert not layout.sequences_contiguous
    assert modeling_layers.TokenLayout.from_mask(mask[[1]], 1, 8).sequences_contiguous
