"""Fixed-seed golden values of the BERT forward pass: they pin the model where HF transformers (the oracle of
test_modeling_bert.py) is not installed, so this file must not import it.

The values were computed once with the implementation that matches HF to 1e-5 in test_modeling_bert.py.
Checked when they were pinned: the tanh GELU instead of the exact one moves them by up to 4e-4, ignoring
the attention mask by up to 0.28; the tolerance is 1e-5.
"""

from __future__ import annotations

import torch

from tuneformers import BertConfig, BertForSequenceClassification, BertModel

INPUTS = dict(  # two sequences, the first with two padding tokens; segment B in the middle / at the end
    input_ids=torch.tensor([[2, 45, 17, 88, 3, 0, 0], [2, 9, 63, 31, 70, 5, 3]]),
    attention_mask=torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]]),
    token_type_ids=torch.tensor([[0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1, 1]]),
)


def golden_weights(model: torch.nn.Module) -> torch.nn.Module:
    """Every parameter drawn from one seed in name order, so the values do not depend on the order modules
    are built in. Weights of std 0.2 (not 0.02) make the activations large enough for GELU's shape to show."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            param.copy_(0.2 * torch.randn(param.shape, generator=generator) + name.endswith("LayerNorm.weight"))
    return model.eval()


def test_backbone_golden_values(tiny_bert_kwargs):
    model = golden_weights(BertModel(BertConfig(**tiny_bert_kwargs)))
    with torch.no_grad():
        out = model(**INPUTS)
    assert out.last_hidden_state.shape == (2, 7, 32) and out.pooler_output.shape == (2, 32)
    expected_hidden = torch.tensor([[-0.106134, -1.172304, -1.345769, -0.338799],   # padded sequence, token 2
                                    [-1.031681, -0.459050, -1.036530, -0.375267]])  # full sequence, token 5
    torch.testing.assert_close(out.last_hidden_state[[0, 1], [2, 5], :4], expected_hidden, atol=1e-5, rtol=0)
    expected_pooled = torch.tensor([[-0.941990, -0.893349, -0.447418, 0.113982],
                                    [-0.921132, -0.877656, 0.628857, -0.180627]])
    torch.testing.assert_close(out.pooler_output[:, :4], expected_pooled, atol=1e-5, rtol=0)


def test_sequence_classification_golden_logits(tiny_bert_kwargs):
    model = golden_weights(BertForSequenceClassification(BertConfig(**tiny_bert_kwargs, num_labels=3)))
    with torch.no_grad():
        logits = model(**INPUTS).logits
    expected = torch.tensor([[0.432047, -1.078846, -0.285220], [0.785754, -1.343208, 0.447374]])
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)
