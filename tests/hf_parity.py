"""What the HF-parity tests of every family share: labels per head, and comparing outputs at real tokens."""

from __future__ import annotations

import torch

OUTPUT_FIELDS = ("loss", "logits", "start_logits", "end_logits", "last_hidden_state", "pooler_output")


def make_labels(head: str, batch=3, tokens=7, num_labels=2, choices=4) -> dict[str, torch.Tensor]:
    """The labels of a ``head`` (class-name suffix such as "ForMaskedLM") for a tiny batch; {} for the base model."""
    generator = torch.Generator().manual_seed(2)
    if head == "ForSequenceClassification":
        return dict(labels=torch.randint(0, num_labels, (batch,), generator=generator))
    if head in ("ForTokenClassification", "ForPreTraining"):
        labels = torch.randint(0, num_labels, (batch, tokens), generator=generator)
        labels[0, -2:] = -100 if head == "ForTokenClassification" else 0
        return dict(labels=labels)
    if head == "ForQuestionAnswering":
        return dict(start_positions=torch.tensor([1, 3, 100]), end_positions=torch.tensor([2, 5, 6]))
    if head == "ForMaskedLM":
        labels = torch.full((batch, tokens), -100)
        labels[:, 2] = torch.randint(0, 99, (batch,), generator=generator)
        return dict(labels=labels)
    if head == "ForMultipleChoice":
        return dict(labels=torch.randint(0, choices, (batch,), generator=generator))
    return {}


def real_positions(tensor, attention_mask):
    """Per-token tensors are compared at real tokens only: what a model puts at padding is arbitrary."""
    mask = attention_mask.reshape(-1, attention_mask.shape[-1]).bool()
    if tensor.dim() >= 2 and tensor.shape[:2] == mask.shape:
        return tensor[mask]
    if tensor.dim() == 4 and tensor.shape[0] == mask.shape[0]:  # B N T T attention probabilities: real queries
        return tensor.transpose(1, 2)[mask]
    return tensor


def assert_same_outputs(ours_out, hf_out, mask, fields=OUTPUT_FIELDS, atol=1e-5):
    """Every field HF returns (at least one), every hidden state and attention map, at real tokens."""
    compared = 0
    for field in fields:
        hf_value = getattr(hf_out, field, None)
        if hf_value is not None:
            torch.testing.assert_close(real_positions(getattr(ours_out, field), mask), real_positions(hf_value, mask),
                                       atol=atol, rtol=atol, msg=field)
            compared += 1
    assert compared
    if getattr(hf_out, "hidden_states", None) is not None:
        assert len(ours_out.hidden_states) == len(hf_out.hidden_states)
        for index, (ours_h, hf_h) in enumerate(zip(ours_out.hidden_states, hf_out.hidden_states)):
            torch.testing.assert_close(real_positions(ours_h, mask), real_positions(hf_h, mask), atol=atol, rtol=atol,
                                       msg=f"hidden_states[{index}]")
    if getattr(hf_out, "attentions", None) is not None:
        for ours_a, hf_a in zip(ours_out.attentions, hf_out.attentions, strict=True):
            torch.testing.assert_close(real_positions(ours_a, mask), real_positions(hf_a, mask), atol=atol, rtol=atol)
