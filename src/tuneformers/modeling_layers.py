"""What every encoder family shares, written once: the unpadded token layout, attention dispatch, the
task losses, weight initialisation, and the multiple-choice reshaping. A family file keeps only what makes
the family itself (its embeddings, its attention variant, its checkpoint names).

Shapes: B batch, T tokens, N heads, H head size, D hidden, C choices, L labels, V vocabulary,
n real (non-padding) tokens in the batch.

Inside an encoder, hidden states are a flat ``n D`` matrix of the real tokens only: padding never goes
through the dense layers, which hold nearly all of the compute. Only attention sees the padded ``B N T H``
layout. Outputs are padded back to ``B T D``, with zeros at padding positions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from .configuration_utils import infer_problem_type
from .constants import IGNORE_INDEX

# ---- the unpadded token layout ---------------------------------------------------------------------


@dataclasses.dataclass
class TokenLayout:
    """Where the n real tokens of a padded B T batch sit (``index``: their flat positions; None: no padding)."""

    batch_size: int
    seq_len: int
    index: torch.Tensor | None

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor | None, batch_size: int, seq_len: int) -> TokenLayout:
        if attention_mask is None or bool(attention_mask.all()):
            return cls(batch_size, seq_len, None)
        return cls(batch_size, seq_len, attention_mask.reshape(-1).nonzero().squeeze(-1))

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:  # B T F -> n F
        flat = padded.reshape(self.batch_size * self.seq_len, *padded.shape[2:])
        return flat if self.index is None else flat.index_select(0, self.index)

    def pad(self, tokens: torch.Tensor) -> torch.Tensor:  # n F -> B T F (zeros at padding)
        if self.index is not None:
            flat = tokens.new_zeros(self.batch_size * self.seq_len, *tokens.shape[1:])
            tokens = flat.index_copy(0, self.index, tokens)
        return tokens.view(self.batch_size, self.seq_len, *tokens.shape[1:])

    def heads(self, tokens: torch.Tensor, num_heads: int) -> torch.Tensor:  # n (N H) -> B N T H
        return self.pad(tokens).view(self.batch_size, self.seq_len, num_heads, -1).transpose(1, 2)

    def merge_heads(self, context: torch.Tensor) -> torch.Tensor:  # B N T H -> n (N H)
        B, N, T, H = context.shape
        return self.unpad(context.transpose(1, 2).reshape(B, T, N * H))


def attention_bias_from_mask(attention_mask: torch.Tensor | None, layout: TokenLayout,
                             dtype: torch.dtype) -> torch.Tensor | None:
    """B T mask of 1 (attend) / 0 (padding) -> B 1 1 T additive bias; None when nothing is masked."""
    if layout.index is None or attention_mask is None:
        return None  # lets scaled_dot_product_attention pick its fastest kernel
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


# ---- attention dispatch ----------------------------------------------------------------------------


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attention_bias: torch.Tensor | None,
           dropout: nn.Dropout, output_attentions: bool, scale: float | None = None,
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """softmax(q k^T * scale + bias) v on B N T H tensors: the fused SDPA kernel, or the explicit product
    when the attention probabilities are asked for. ``scale`` defaults to 1 / sqrt(H)."""
    if output_attentions:
        scores = q @ k.transpose(-1, -2)  # B N T T
        scores = scores / math.sqrt(q.shape[-1]) if scale is None else scores * scale
        if attention_bias is not None:
            scores = scores + attention_bias
        probs = scores.softmax(dim=-1)
        return dropout(probs) @ v, probs  # B N T H
    dropout_p = dropout.p if dropout.training else 0.0
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias, dropout_p=dropout_p, scale=scale)
    return context, None


# ---- losses ----------------------------------------------------------------------------------------


def sequence_classification_loss(logits: torch.Tensor, labels: torch.Tensor, problem_type: str | None) -> torch.Tensor:
    """The loss of ``problem_type`` (B L logits); None (several labels, no problem_type) is decided by the labels' dtype."""
    num_labels = logits.shape[-1]
    if problem_type is None:
        integer_labels = not labels.is_floating_point() and not labels.is_complex() and labels.dtype != torch.bool
        problem_type = infer_problem_type(None, num_labels, integer_labels)
    if problem_type == "regression":
        return F.mse_loss(logits.squeeze(-1) if num_labels == 1 else logits,
                          labels.squeeze(-1).to(logits.dtype) if num_labels == 1 else labels.to(logits.dtype))
    if problem_type == "single_label_classification":
        if labels.is_floating_point():
            raise TypeError(
                f"single_label_classification needs integer class labels, got {labels.dtype}. "
                "Pass labels as torch.long, or set problem_type='regression' / 'multi_label_classification'."
            )
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    if labels.shape != logits.shape:
        raise ValueError(
            f"multi_label_classification needs labels shaped like the logits {tuple(logits.shape)} "
            f"(one 0/1 column per label), got {tuple(labels.shape)}."
        )
    return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross entropy over every token whose label is not IGNORE_INDEX (token classification, masked LM)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE_INDEX)


def span_logits(logits: torch.Tensor, attention_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """B T 2 -> start and end logits (B T each); padding gets the dtype minimum, so no answer falls in it."""
    if attention_mask is not None:
        logits = logits.masked_fill(attention_mask.unsqueeze(-1) == 0, torch.finfo(logits.dtype).min)
    start_logits, end_logits = (part.squeeze(-1).contiguous() for part in logits.split(1, dim=-1))
    return start_logits, end_logits


def span_loss(start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor,
              end_positions: torch.Tensor) -> torch.Tensor:
    """Mean of the start and end cross entropies; positions outside the sequence are ignored."""
    T = start_logits.shape[1]
    start = start_positions.view(-1).clamp(0, T)
    end = end_positions.view(-1).clamp(0, T)
    return (F.cross_entropy(start_logits, start, ignore_index=T) + F.cross_entropy(end_logits, end, ignore_index=T)) / 2


# ---- multiple choice -------------------------------------------------------------------------------


def choices_as_batch(name: str, *inputs: torch.Tensor | None) -> tuple[int, int, list[torch.Tensor | None]]:
    """B C T (...) inputs -> (B, C, the same inputs as (B*C) T (...)) for a model that scores each choice alone."""
    reference = next((tensor for tensor in inputs if tensor is not None), None)
    if reference is None or reference.dim() < 3:
        raise ValueError(f"{name} expects inputs shaped (batch, choices, tokens).")
    B, C = reference.shape[:2]
    return B, C, [None if tensor is None else tensor.reshape(B * C, *tensor.shape[2:]) for tensor in inputs]


# ---- initialisation --------------------------------------------------------------------------------


@torch.no_grad()
def init_encoder_weights(module: nn.Module, std: float, extra: Callable[[nn.Module], None] | None = None) -> None:
    """The initialisation of BERT-style encoders: N(0, std) for Linear and Embedding weights, zero biases and
    padding rows, LayerNorm at identity. ``extra`` handles a family's own module types."""
    if isinstance(module, nn.Linear):
        module.weight.normal_(mean=0.0, std=std)
        if module.bias is not None:
            module.bias.zero_()
    elif isinstance(module, nn.Embedding):
        module.weight.normal_(mean=0.0, std=std)
        if module.padding_idx is not None:
            module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        if module.weight is not None:
            module.weight.fill_(1.0)
        if module.bias is not None:
            module.bias.zero_()
    elif extra is not None:
        extra(module)


# ---- running an encoder on the real tokens ---------------------------------------------------------


def encode_real_tokens(encoder: nn.Module, embeddings: torch.Tensor, attention_mask: torch.Tensor | None,
                       output_attentions: bool, output_hidden_states: bool):
    """B T D embeddings -> (B T D last hidden state, hidden states, attentions), the encoder's layers running on the
    n real tokens only. ``encoder(tokens, layout, attention_bias, output_attentions, output_hidden_states)`` is
    BERT's encoder interface (models/bert/modeling_bert.py ``BertEncoder``)."""
    layout = TokenLayout.from_mask(attention_mask, *embeddings.shape[:2])
    attention_bias = attention_bias_from_mask(attention_mask, layout, embeddings.dtype)
    tokens, hidden_states, attentions = encoder(layout.unpad(embeddings), layout, attention_bias, output_attentions,
                                                output_hidden_states)
    return layout.pad(tokens), hidden_states, attentions


# ---- the layer loop --------------------------------------------------------------------------------


def run_layers(layers: nn.ModuleList, hidden_states: torch.Tensor, layout: TokenLayout, output_attentions: bool,
               output_hidden_states: bool, gradient_checkpointing: bool, *layer_args: object,
               ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
    """Run ``layer(tokens, layout, *layer_args, output_attentions) -> (tokens, probs)`` over n D tokens.

    Returns the last tokens (n D), every layer's input plus the last output padded to B T D when asked
    (embeddings first, as HF), and each layer's attention probabilities when asked.
    """
    all_hidden_states = [layout.pad(hidden_states)] if output_hidden_states else None
    all_attentions = [] if output_attentions else None
    for layer in layers:
        if gradient_checkpointing and layer.training:
            hidden_states, probs = torch.utils.checkpoint.checkpoint(
                layer, hidden_states, layout, *layer_args, output_attentions, use_reentrant=False)
        else:
            hidden_states, probs = layer(hidden_states, layout, *layer_args, output_attentions)  # n D
        if output_hidden_states:
            all_hidden_states.append(layout.pad(hidden_states))
        if output_attentions:
            all_attentions.append(probs)
    return (hidden_states, None if all_hidden_states is None else tuple(all_hidden_states),
            None if all_attentions is None else tuple(all_attentions))


# ---- position encodings ----------------------------------------------------------------------------


def rotary_cos_sin(positions: torch.Tensor, head_size: int, theta: float, dtype: torch.dtype,
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotary position encoding tables for ``positions`` (... T): cos and sin, each ... T H."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_size, 2, dtype=torch.float, device=positions.device) / head_size))
    angles = positions[..., None].float() * inv_freq  # ... T H/2
    angles = torch.cat((angles, angles), dim=-1)  # ... T H
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate B N T H queries or keys by their position (cos, sin: B T H or 1 T H), in float32."""
    half = x.shape[-1] // 2
    x32 = x.float()
    rotated = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)
    return (x32 * cos[:, None] + rotated * sin[:, None]).to(x.dtype)


def sliding_window_bias(attention_bias: torch.Tensor | None, seq_len: int, half_window: int, dtype: torch.dtype,
                        device: torch.device) -> torch.Tensor:
    """``attention_bias`` (B 1 1 T or None) plus a band: query i sees key j only when |i - j| <= half_window."""
    positions = torch.arange(seq_len, device=device)
    outside = (positions[None, :] - positions[:, None]).abs() > half_window  # T T
    band = torch.zeros(seq_len, seq_len, dtype=dtype, device=device).masked_fill(outside, torch.finfo(dtype).min)
    band = band[None, None]  # 1 1 T T
    return band if attention_bias is None else (band + attention_bias).clamp(min=torch.finfo(dtype).min)


# ---- heads shared by several families ---------------------------------------------------------------


def first_token_or_mean(hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, pooling: str) -> torch.Tensor:
    """B T D -> B D: the first token's vector ("cls") or the mean over real tokens ("mean")."""
    if pooling == "cls":
        return hidden_states[:, 0]
    if attention_mask is None:
        return hidden_states.mean(dim=1)
    mask = attention_mask.unsqueeze(-1).to(hidden_states.dtype)  # B T 1
    return (hidden_states * mask).sum(dim=1) / mask.sum(dim=1)


# ---- inputs ----------------------------------------------------------------------------------------


def check_position_limit(num_tokens: int, limit: int) -> None:
    """A clear error when an input is longer than the model's learned positions (instead of an index error)."""
    if num_tokens > limit:
        raise ValueError(f"The input has {num_tokens} tokens but this model has position embeddings for only {limit}. "
                         f"Tokenize with truncation=True, max_length={limit}.")


def check_input_ids(input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None) -> None:
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError("Pass exactly one of input_ids or inputs_embeds.")
    if input_ids is not None and input_ids.dim() != 2:
        raise ValueError(
            f"input_ids must have shape (batch, tokens), got {tuple(input_ids.shape)}. "
            "For a single sequence, add a batch dimension: input_ids.unsqueeze(0)."
        )


def position_ids_after_padding_id(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """fairseq-style positions (RoBERTa, MPNet): padding_idx + 1, + 2, ... for real tokens, padding_idx for pads."""
    real = input_ids.ne(padding_idx).long()  # B T
    return torch.cumsum(real, dim=1) * real + padding_idx
