"""``modeling_layers.Dropout``, the CPU dropout of every encoder: same semantics as ``nn.Dropout`` (each element
dropped independently with probability p, survivors scaled by 1 / (1 - p), reproducible under torch.manual_seed,
identity in eval mode), a cheaper mask; and the attention path that applies it to the probabilities."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import tuneformers
from tuneformers import modeling_layers
from tuneformers.modeling_layers import Dropout, attend, dropout_keep_mask

COUNT = 4_000_000


def sigmas(rate: float, p: float, count: int) -> float:
    return abs(rate - p) / math.sqrt(p * (1 - p) / count)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_each_element_is_dropped_with_probability_p(p):
    torch.manual_seed(0)
    dropped = ~dropout_keep_mask((COUNT,), p)
    assert sigmas(dropped.double().mean().item(), p, COUNT) < 5
    # 64 random bits serve four elements: each of the four positions is dropped at rate p, and neighbours
    # are independent (both dropped at rate p squared)
    for position in range(4):
        assert sigmas(dropped.view(-1, 4)[:, position].double().mean().item(), p, COUNT // 4) < 5
    both = (dropped[:-1] & dropped[1:]).double().mean().item()
    assert sigmas(both, p * p, COUNT - 1) < 5


def test_the_rate_is_p_to_within_two_to_the_minus_seventeen():
    # 16 bits per element: the drop rate is round(p * 2**16) / 2**16 for any p, even one below 2**-8
    for p in (0.1, 0.0031, 1 / 3):
        assert abs(round(p * 2**16) / 2**16 - p) <= 2**-17
    torch.manual_seed(1)
    rate = (~dropout_keep_mask((COUNT,), 0.0031)).double().mean().item()
    assert sigmas(rate, 0.0031, COUNT) < 5


def test_masks_of_any_shape_and_size():
    for shape in [(1,), (3,), (5, 7), (2, 3, 5, 7)]:
        mask = dropout_keep_mask(shape, 0.3)
        assert mask.shape == shape and mask.dtype == torch.bool
    with pytest.raises(ValueError, match="0 <= p < 1"):
        dropout_keep_mask((4,), 1.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_survivors_are_scaled_by_one_over_one_minus_p(dtype):
    torch.manual_seed(0)
    x = torch.randn(1000, 64).to(dtype)
    y = Dropout(0.25).train()(x)
    assert y.dtype == dtype
    kept = y != 0
    assert sigmas(1 - kept.double().mean().item(), 0.25, x.numel()) < 5
    torch.testing.assert_close(y[kept], (x[kept].float() / 0.75).to(dtype))


def test_the_same_seed_gives_the_same_mask_and_another_seed_another():
    x = torch.randn(64, 384)
    dropout = Dropout(0.1).train()
    torch.manual_seed(7)
    first = dropout(x)
    torch.manual_seed(7)
    assert torch.equal(dropout(x), first)
    torch.manual_seed(8)
    assert not torch.equal(dropout(x), first)
    generator = torch.Generator().manual_seed(3)
    assert torch.equal(dropout_keep_mask((100,), 0.5, generator), dropout_keep_mask((100,), 0.5,
                                                                                torch.Generator().manual_seed(3)))


def test_the_gradient_is_the_mask_times_the_scale():
    x = torch.randn(50, 30, dtype=torch.double, requires_grad=True)
    keep = dropout_keep_mask(x.shape, 0.4)
    torch.autograd.gradcheck(lambda t: modeling_layers._KeptTimesScale.apply(t, keep, 1 / 0.6), (x,))

    torch.manual_seed(0)
    y = Dropout(0.4).train()(x)
    upstream = torch.randn_like(y)
    y.backward(upstream)
    torch.testing.assert_close(x.grad, upstream * (y != 0) / 0.6)


def test_eval_mode_and_p_zero_return_the_input_and_p_one_zeros():
    x = torch.randn(8, 16, requires_grad=True)
    assert Dropout(0.5).eval()(x) is x
    assert Dropout(0.0).train()(x) is x
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))


def test_other_devices_run_torchs_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the CPU mask was drawn for a tensor on another device")

    monkeypatch.setattr(modeling_layers, "dropout_keep_mask", refuse)
    y = Dropout(0.5).train()(torch.empty(4, 8, device="meta"))
    assert y.device.type == "meta" and y.shape == (4, 8)


def test_attention_dropout_drops_probabilities_with_the_same_mask():
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=generator, dtype=torch.double, requires_grad=True) for _ in range(3))
    bias = torch.zeros(2, 1, 1, 5, dtype=torch.double)
    bias[1, ..., 3:] = torch.finfo(torch.double).min
    dropout = Dropout(0.3).train()
    torch.manual_seed(5)
    context, probs = attend(q, k, v, bias, dropout, output_attentions=False)
    assert probs is None
    torch.manual_seed(5)
    keep = dropout_keep_mask((2, 3, 5, 5), 0.3)
    expected = (F.softmax(q @ k.transpose(-1, -2) / 2 + bias, dim=-1) * keep / 0.7) @ v
    torch.testing.assert_close(context, expected)
    grads = torch.autograd.grad(context.sum(), (q, k, v))
    torch.testing.assert_close(grads, torch.autograd.grad(expected.sum(), (q, k, v)))
    # eval mode: the fused kernel, no dropout
    dropout.eval()
    plain = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(attend(q, k, v, bias, dropout, output_attentions=False)[0], plain)


def test_models_use_it_and_gradient_checkpointing_replays_the_same_masks():
    config = tuneformers.BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                    intermediate_size=37, max_position_embeddings=64)
    torch.manual_seed(0)
    model = tuneformers.BertForSequenceClassification(config).train()
    dropouts = [module for module in model.modules() if isinstance(module, torch.nn.Dropout)]
    assert dropouts and all(isinstance(module, Dropout) for module in dropouts)
    inputs = {"input_ids": torch.randint(5, 99, (4, 10)), "attention_mask": torch.ones(4, 10, dtype=torch.long),
              "labels": torch.tensor([0, 1, 1, 0])}
    inputs["attention_mask"][1, 6:] = 0

    def loss_and_grads(seed: int):
        model.zero_grad()
        torch.manual_seed(seed)
        loss = model(**inputs).loss
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    plain = loss_and_grads(1)
    assert not torch.equal(loss_and_grads(2)[0], plain[0])  # dropout is on
    model.gradient_checkpointing_enable()
    checkpointed = loss_and_grads(1)
    torch.testing.assert_close(checkpointed, plain)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_attention_dropout_under_bf16_autocast(dtype):
    generator = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 6, 8, generator=generator).to(dtype).requires_grad_() for _ in range(3))
    dropout = Dropout(0.2).train()
    torch.manual_seed(3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        context, _ = attend(q, k, v, None, dropout, output_attentions=False)
    assert context.dtype == torch.bfloat16
    grads = torch.autograd.grad(context.float().sum(), (q, k, v))
    assert [grad.dtype for grad in grads] == [dtype] * 3
    torch.manual_seed(3)
    keep = dropout_keep_mask((2, 3, 6, 6), 0.2)
    q64, k64, v64 = (t.detach().double().requires_grad_() for t in (q, k, v))
    expected = (F.softmax(q64 @ k64.transpose(-1, -2) / math.sqrt(8), dim=-1) * keep / 0.8) @ v64
    torch.testing.assert_close(context.double(), expected, atol=0.05, rtol=0.05)
    for grad, reference in zip(grads, torch.autograd.grad(expected.sum(), (q64, k64, v64))):
        torch.testing.assert_close(grad.double(), reference, atol=0.1, rtol=0.05)
