"""What every encoder family shares, written once: the unpadded token layout, attention dispatch, the
task losses, weight initialisation, and the multiple-choice reshaping. A family file keeps only what makes
the family itself (its embeddings, its attention variant, its checkpoint names).

Shapes: B batch, T tokens, N heads, H head size, D hidden, C choices, L labels, V vocabulary,
n real (non-padding) tokens in the batch.

Inside an encoder, hidden states are a flat ``n D`` matrix of the real tokens only: padding never goes
through the dense layers, which hold nearly all of the compute. Attention gathers the tokens into padded
``B N T H`` heads: per group of sequences of similar length (``attend_tokens``), or as jagged tensors on CUDA.
Outputs are padded back to ``B T D``, with zeros at padding positions.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from .configuration_utils import infer_problem_type
from .constants import IGNORE_INDEX

# ---- the unpadded token layout ---------------------------------------------------------------------


# Below this share of padding positions, a batch runs padded: gathering the real tokens in and out of each
# layer would cost more than the dense layers spend on the padding (benchmarks/bench_unpad.py).
UNPAD_MIN_PADDING_FRACTION = 0.1


@dataclasses.dataclass
class TokenLayout:
    """Which positions of a padded B T batch run through the dense layers.

    ``index``: the flat positions of the n real tokens, when the batch runs unpadded; None when all B T positions
    run (no padding, or too little to be worth removing). ``mask``: the B T attention mask whenever the batch
    has padding, else None.
    """

    batch_size: int
    seq_len: int
    index: torch.Tensor | None
    mask: torch.Tensor | None = None

    @classmethod
    def from_mask(cls, attention_mask: torch.Tensor | None, batch_size: int, seq_len: int) -> TokenLayout:
        if attention_mask is None:
            return cls(batch_size, seq_len, None)
        real = attention_mask.bool()
        padding_fraction = 1.0 - int(real.sum()) / (batch_size * seq_len)
        if padding_fraction == 0.0:
            return cls(batch_size, seq_len, None)
        if padding_fraction < UNPAD_MIN_PADDING_FRACTION:
            return cls(batch_size, seq_len, None, real)
        return cls(batch_size, seq_len, real.reshape(-1).nonzero().squeeze(-1), real)

    @property
    def has_padding(self) -> bool:
        return self.mask is not None

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:  # B T F -> n F
        flat = padded.reshape(self.batch_size * self.seq_len, *padded.shape[2:])
        return flat if self.index is None else flat.index_select(0, self.index)

    def pad(self, tokens: torch.Tensor) -> torch.Tensor:  # n F -> B T F (zeros at padding)
        padded = self._padded_view(tokens)
        if self.index is None and self.mask is not None:
            padded = padded * self.mask.view(self.batch_size, self.seq_len, *[1] * (tokens.dim() - 1))
        return padded

    def heads(self, tokens: torch.Tensor, num_heads: int) -> torch.Tensor:  # n (N H) -> B N T H
        return self._padded_view(tokens).view(self.batch_size, self.seq_len, num_heads, -1).transpose(1, 2)

    def merge_heads(self, context: torch.Tensor) -> torch.Tensor:  # B N T H -> n (N H)
        B, N, T, H = context.shape
        return self.unpad(context.transpose(1, 2).reshape(B, T, N * H))

    def first_token_rows(self, device: torch.device) -> torch.Tensor | None:
        """Where position 0 of each sequence sits among the n tokens (B); None when one of them is padding."""
        if self.mask is not None and not bool(self.mask[:, 0].all()):
            return None
        starts = torch.arange(self.batch_size, device=device) * self.seq_len
        return starts if self.index is None else torch.searchsorted(self.index, starts)

    @functools.cached_property
    def sequence_lengths(self) -> list[int]:
        """Real tokens per sequence (B), on the host."""
        if self.mask is None:
            return [self.seq_len] * self.batch_size
        return self.mask.sum(dim=1).tolist()

    @functools.cached_property
    def sequences_contiguous(self) -> bool:
        """Whether each sequence's real tokens are one run of positions (right or left padding, no holes)."""
        if self.mask is None:
            return True
        real = self.mask.bool()
        runs = (real[:, 1:] & ~real[:, :-1]).sum(dim=1) + real[:, 0]
        return bool((runs <= 1).all())

    @functools.cached_property
    def sequence_offsets(self) -> torch.Tensor:
        """Where each sequence's tokens start among the n (B+1: the last is n), on the tokens' device."""
        lengths = torch.tensor([0, *self.sequence_lengths], dtype=torch.int64)
        return lengths.cumsum(0).to(self.mask.device if self.mask is not None else "cpu")

    @functools.cached_property
    def length_groups(self) -> LengthGroups:
        return LengthGroups.from_lengths(self.sequence_lengths, self.mask.device)

    def _padded_view(self, tokens: torch.Tensor) -> torch.Tensor:  # n F -> B T F, padding rows as they are
        if self.index is not None:
            flat = tokens.new_zeros(self.batch_size * self.seq_len, *tokens.shape[1:])
            tokens = flat.index_copy(0, self.index, tokens)
        return tokens.view(self.batch_size, self.seq_len, *tokens.shape[1:])


# Cost model for splitting a batch's attention into groups of similar length, in units of one (query, key) pair:
# each padded slot of a group also costs gathering its q, k, v rows and its output row, and each group a few
# more kernel calls, which on 2 CPU threads cost about as much as 65536 pairs: a batch of short texts stays one
# group, dynamically padded pairs of up to 128 tokens split into two or three (benchmarks/bench_length_groups.py).
GROUP_SLOT_COST = 32
GROUP_CALL_COST = 65536


def attention_length_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Sequences (indices into ``lengths``) in groups that each attend padded to their longest member, longest
    group first, chosen to minimise sum over groups of B_g T_g (T_g + GROUP_SLOT_COST) + GROUP_CALL_COST. Runs
    of similar length end up together; sequences without tokens are left out."""
    order = sorted((i for i, length in enumerate(lengths) if length > 0), key=lambda i: -lengths[i])
    longest_first = np.array([lengths[i] for i in order], dtype=np.float64)
    member_cost = longest_first * (longest_first + GROUP_SLOT_COST)  # each member of a group led by sequence i
    best = np.zeros(len(order) + 1)
    group_start = np.zeros(len(order) + 1, dtype=np.int64)
    for end in range(1, len(order) + 1):  # the last group is order[start:end], for the cheapest start
        starts = np.arange(end)
        costs = best[:end] + (end - starts) * member_cost[:end] + GROUP_CALL_COST
        group_start[end] = costs.argmin()
        best[end] = costs[group_start[end]]
    groups, end = [], len(order)
    while end > 0:
        groups.append(order[group_start[end]:end])
        end = int(group_start[end])
    return groups[::-1]


@dataclasses.dataclass
class LengthGroup:
    """Sequences that attend as one padded B_g T_g batch. ``rows`` (B_g): their places in the batch;
    ``gather`` (B_g T_g): the token (row of the n real tokens) in each slot, where a padding slot repeats its
    sequence's first token (the key bias hides it and nobody reads its output); ``key_bias_mask``
    (B_g 1 1 T_g, True at padding slots) or None when every member has T_g tokens."""

    rows: torch.Tensor
    gather: torch.Tensor
    key_bias_mask: torch.Tensor | None

    def bias(self, dtype: torch.dtype) -> torch.Tensor | None:
        if self.key_bias_mask is None:
            return None
        return torch.zeros(self.key_bias_mask.shape, dtype=dtype, device=self.key_bias_mask.device).masked_fill_(
            self.key_bias_mask, torch.finfo(dtype).min)


@dataclasses.dataclass
class LengthGroups:
    """A batch's sequences in ``groups`` of similar length, and where each output row comes from in the groups'
    outputs stacked in order: ``token_rows`` (n) for all tokens' outputs, ``sequence_rows`` (B) for one output
    per sequence."""

    groups: list[LengthGroup]
    token_rows: torch.Tensor
    sequence_rows: torch.Tensor

    @classmethod
    def from_lengths(cls, lengths: list[int], device: torch.device) -> LengthGroups:
        lengths_t = torch.tensor(lengths, dtype=torch.int64)
        offsets = torch.cat([lengths_t.new_zeros(1), lengths_t.cumsum(0)])
        groups, token_rows, sequence_rows = [], torch.empty(int(offsets[-1]), dtype=torch.int64), []
        stacked = 0
        for members in attention_length_groups(lengths):
            rows = torch.tensor(members, dtype=torch.int64)
            group_lengths, starts = lengths_t[rows], offsets[rows]
            slot = torch.arange(int(group_lengths.max()))
            real = slot < group_lengths[:, None]  # B_g T_g
            gather = torch.where(real, starts[:, None] + slot, starts[:, None])
            token_rows[gather[real]] = stacked + real.reshape(-1).nonzero().squeeze(-1)
            stacked += real.numel()
            sequence_rows.extend(members)
            key_bias_mask = None if bool(real.all()) else ~real[:, None, None, :]
            groups.append(LengthGroup(*(t if t is None else t.to(device) for t in (rows, gather, key_bias_mask))))
        sequence_rows = torch.empty(len(lengths), dtype=torch.int64).index_copy_(
            0, torch.tensor(sequence_rows, dtype=torch.int64), torch.arange(len(sequence_rows)))
        return cls(groups, token_rows.to(device), sequence_rows.to(device))


def query_tokens(hidden_states: torch.Tensor, layout: TokenLayout,
                 query_rows: torch.Tensor | None) -> tuple[torch.Tensor, TokenLayout]:
    """The tokens whose outputs a layer must compute, with their layout: all n (``query_rows`` None), or one per
    sequence (B rows, a B 1 layout) when only the first token's output of the last layer is read."""
    if query_rows is None:
        return hidden_states, layout
    return hidden_states.index_select(0, query_rows), TokenLayout(layout.batch_size, 1, None)


def add_biases(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    """The sum of two additive attention biases, either of which may be None, kept at or above the dtype's
    minimum (two masked entries would otherwise overflow to -inf)."""
    if first is None or second is None:
        return second if first is None else first
    total = first + second
    return total.clamp_(min=torch.finfo(total.dtype).min)


def attention_bias_from_mask(attention_mask: torch.Tensor | None, layout: TokenLayout,
                             dtype: torch.dtype) -> torch.Tensor | None:
    """B T mask of 1 (attend) / 0 (padding) -> B 1 1 T additive bias; None when nothing is masked."""
    if attention_mask is None or not layout.has_padding:
        return None  # lets scaled_dot_product_attention pick its fastest kernel
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


# ---- dropout ---------------------------------------------------------------------------------------


def dropout_keep_mask(shape: torch.Size | tuple[int, ...], p: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """A bool CPU tensor of ``shape``, each element True (kept) independently with probability 1 - p.

    Each element gets 16 random bits, drawn 64 at a time from torch's CPU generator (so ``torch.manual_seed``
    reproduces the mask): about 8x cheaper than ``bernoulli_``, which draws one float per element. The drop
    rate is round(p * 2**16) / 2**16, p to within 2**-17.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_keep_mask needs 0 <= p < 1, got p={p}.")
    count = math.prod(shape)
    words = torch.empty((count + 3) // 4, dtype=torch.int64).random_(-(2**63), None, generator=generator)
    bits = words.view(torch.int16)[:count].view(shape)  # uniform over -2**15 .. 2**15 - 1
    return bits.ge(round(p * 2**16) - 2**15)


class _KeptTimesScale(torch.autograd.Function):
    """x * keep * scale, saving only the bool mask for backward (torch's CPU dropout saves a float mask)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, keep: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(keep)
        ctx.scale = scale
        return x.mul(keep).mul_(scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (keep,) = ctx.saved_tensors
        return grad.mul(keep).mul_(ctx.scale), None, None


class _DroppedProbsTimesValues(torch.autograd.Function):
    """(probs * keep * scale) @ v for B N T T probabilities and B N T H values. Backward recomputes the dropped
    probabilities from ``probs`` (which softmax saves anyway) instead of keeping a second B N T T tensor."""

    @staticmethod
    @torch.amp.custom_fwd(device_type="cpu")
    def forward(ctx, probs: torch.Tensor, keep: torch.Tensor, scale: float, v: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(probs, keep, v)
        ctx.scale = scale
        return probs.mul(keep).mul_(scale) @ v

    @staticmethod
    @torch.amp.custom_bwd(device_type="cpu")
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, torch.Tensor]:
        probs, keep, v = ctx.saved_tensors
        grad_probs = (grad @ v.transpose(-1, -2)).mul_(keep).mul_(ctx.scale)
        grad_v = probs.mul(keep).mul_(ctx.scale).transpose(-1, -2) @ grad
        return grad_probs, None, None, grad_v


class Dropout(nn.Dropout):
    """``nn.Dropout`` with a cheaper mask on the CPU (``dropout_keep_mask``); other devices run torch's kernel.
    Same semantics: in training each element is zeroed with probability p and survivors scaled by 1 / (1 - p)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return input
        if input.device.type != "cpu" or self.p == 1.0 or self.inplace:
            return super().forward(input)
        return _KeptTimesScale.apply(input, dropout_keep_mask(input.shape, self.p), 1.0 / (1.0 - self.p))


# ---- attention dispatch ----------------------------------------------------------------------------


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attention_bias: torch.Tensor | None,
           dropout: nn.Dropout, output_attentions: bool, scale: float | None = None,
           ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """softmax(q k^T * scale + bias) v on B N T H tensors: the fused SDPA kernel, or the explicit product
    when the attention probabilities are asked for or dropout runs on the CPU. ``scale`` defaults to 1 / sqrt(H)."""
    dropout_p = dropout.p if dropout.training else 0.0
    if output_attentions:
        scores = q @ k.transpose(-1, -2)  # B N T T
        scores = scores / math.sqrt(q.shape[-1]) if scale is None else scores * scale
        if attention_bias is not None:
            scores = scores + attention_bias
        probs = scores.softmax(dim=-1)
        return dropout(probs) @ v, probs  # B N T H
    # With dropout, torch's CPU SDPA falls back to an unfused path whose mask costs more than the explicit
    # product with Dropout's cheaper one (benchmarks/bench_dropout.py).
    if dropout_p > 0.0 and q.device.type == "cpu":
        scores = (q * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)) @ k.transpose(-1, -2)  # B N T T
        if attention_bias is not None:
            scores += attention_bias.to(scores.dtype)
        probs = scores.softmax(dim=-1)
        keep = dropout_keep_mask(probs.shape, dropout_p)
        return _DroppedProbsTimesValues.apply(probs, keep, 1.0 / (1.0 - dropout_p), v), None
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_bias, dropout_p=dropout_p, scale=scale)
    return context, None


# Devices where attention over unpadded tokens runs on jagged tensors (torch.nested): SDPA then calls the fused
# variable-length kernels, each sequence attending over its own tokens only. Elsewhere it runs in length groups.
JAGGED_ATTENTION_DEVICES = ("cuda",)


def attend_tokens(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: TokenLayout, query_layout: TokenLayout,
                  num_heads: int, attention_bias: torch.Tensor | None, dropout: nn.Dropout, output_attentions: bool,
                  scale: float | None = None, position_bias: torch.Tensor | None = None,
                  ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention on token matrices: q (q (N H)) attends over k, v (n (N H)); returns the q (N H) context and,
    when asked, the B N Tq T probabilities. ``query_layout`` is ``layout`` (every token queries) or the B 1 layout
    of one query per sequence (``query_tokens``).

    A batch that runs unpadded attends without its padding: on ``JAGGED_ATTENTION_DEVICES`` as jagged tensors,
    elsewhere in groups of similar length, each padded only to its longest member (a dynamically padded batch
    of mixed lengths does 2-3x the attention work it needs when padded whole). Other batches, and whenever the
    probabilities are asked for, attend as the whole padded batch.

    ``position_bias`` (1 N T T or 1 1 T T), when the family has one (MPNet's relative positions, ModernBERT's
    sliding window), depends on the distance of query and key only; ``attention_bias`` then already includes it,
    for the padded batch. Groups take its top-left corner, which is right when each sequence's tokens are one
    run of positions."""
    if layout.index is not None and not output_attentions and (position_bias is None or layout.sequences_contiguous):
        per_sequence = query_layout is not layout
        if position_bias is None and q.device.type in JAGGED_ATTENTION_DEVICES and min(layout.sequence_lengths) > 0:
            return _attend_jagged(q, k, v, layout, per_sequence, num_heads, dropout, scale), None
        return _attend_length_groups(q, k, v, layout, per_sequence, num_heads, attention_bias.dtype, dropout,
                                     scale, position_bias), None
    context, probs = attend(query_layout.heads(q, num_heads), layout.heads(k, num_heads), layout.heads(v, num_heads),
                            attention_bias, dropout, output_attentions, scale)  # B N Tq H, B N Tq T
    return query_layout.merge_heads(context), probs


def _attend_length_groups(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: TokenLayout, per_sequence: bool,
                          num_heads: int, bias_dtype: torch.dtype, dropout: nn.Dropout, scale: float | None,
                          position_bias: torch.Tensor | None) -> torch.Tensor:
    groups = layout.length_groups
    contexts = []
    for group in groups.groups:
        seq_len = group.gather.shape[1]
        queries = _gathered_heads(q, group.rows[:, None] if per_sequence else group.gather, num_heads)  # B_g N Tq H
        corner = None if position_bias is None else position_bias[:, :, :queries.shape[2], :seq_len]  # 1 N Tq T_g
        bias = add_biases(corner, group.bias(bias_dtype))  # group.bias: B_g 1 1 T_g
        context, _ = attend(queries, _gathered_heads(k, group.gather, num_heads),
                            _gathered_heads(v, group.gather, num_heads), bias, dropout, False, scale)  # B_g N Tq H
        contexts.append(context.transpose(1, 2).reshape(-1, q.shape[-1]))
    stacked = contexts[0] if len(contexts) == 1 else torch.cat(contexts)
    return stacked.index_select(0, groups.sequence_rows if per_sequence else groups.token_rows)


def _gathered_heads(tokens: torch.Tensor, index: torch.Tensor, num_heads: int) -> torch.Tensor:
    """n (N H) tokens at a B_g L index of token rows -> B_g N L H."""
    return tokens.index_select(0, index.reshape(-1)).view(*index.shape, num_heads, -1).transpose(1, 2)


def _attend_jagged(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: TokenLayout, per_sequence: bool,
                   num_heads: int, dropout: nn.Dropout, scale: float | None) -> torch.Tensor:
    lengths = layout.sequence_lengths
    offsets, shortest, longest = layout.sequence_offsets, min(lengths), max(lengths)

    def jagged(tokens: torch.Tensor, offsets: torch.Tensor, shortest: int, longest: int) -> torch.Tensor:  # B N j H
        return torch.nested.nested_tensor_from_jagged(tokens.view(tokens.shape[0], num_heads, -1), offsets,
                                                      min_seqlen=shortest, max_seqlen=longest).transpose(1, 2)

    if per_sequence:
        queries = jagged(q, torch.arange(len(lengths) + 1, device=q.device), 1, 1)
    else:
        queries = jagged(q, offsets, shortest, longest)
    context = F.scaled_dot_product_attention(
        queries, jagged(k, offsets, shortest, longest), jagged(v, offsets, shortest, longest),
        dropout_p=dropout.p if dropout.training else 0.0, scale=scale)
    return context.transpose(1, 2).values().reshape(q.shape)


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
                       output_attentions: bool, output_hidden_states: bool, first_token_only: bool = False):
    """B T D embeddings -> (last hidden state, hidden states, attentions), the encoder's layers running on the
    n real tokens only. ``encoder(tokens, layout, attention_bias, output_attentions, output_hidden_states,
    query_rows)`` is BERT's encoder interface (models/bert/modeling_bert.py ``BertEncoder``).

    The last hidden state is B T D; with ``first_token_only`` (a head that reads nothing but position 0, and
    no per-layer outputs asked for) it is B 1 D and the last layer computes nothing else."""
    layout = TokenLayout.from_mask(attention_mask, *embeddings.shape[:2])
    attention_bias = attention_bias_from_mask(attention_mask, layout, embeddings.dtype)
    query_rows = None
    if first_token_only and not output_attentions and not output_hidden_states:
        query_rows = layout.first_token_rows(embeddings.device)
    tokens, hidden_states, attentions = encoder(layout.unpad(embeddings), layout, attention_bias, output_attentions,
                                                output_hidden_states, query_rows)
    last_hidden_state = layout.pad(tokens) if query_rows is None else tokens.unsqueeze(1)
    return last_hidden_state, hidden_states, attentions


# ---- the layer loop --------------------------------------------------------------------------------


def run_layers(layers: nn.ModuleList, hidden_states: torch.Tensor, layout: TokenLayout, output_attentions: bool,
               output_hidden_states: bool, gradient_checkpointing: bool, *layer_args: object,
               last_layer_query_rows: torch.Tensor | None = None,
               ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
    """Run ``layer(tokens, layout, *layer_args, output_attentions) -> (tokens, probs)`` over n D tokens.

    Returns the last tokens (n D), every layer's input plus the last output padded to B T D when asked
    (embeddings first, as HF), and each layer's attention probabilities when asked. With
    ``last_layer_query_rows`` the last layer gets them as a final argument and returns only those rows.
    """
    all_hidden_states = [layout.pad(hidden_states)] if output_hidden_states else None
    all_attentions = [] if output_attentions else None
    for number, layer in enumerate(layers, start=1):
        args = (hidden_states, layout, *layer_args, output_attentions)
        if last_layer_query_rows is not None and number == len(layers):
            args += (last_layer_query_rows,)
        if gradient_checkpointing and layer.training:
            hidden_states, probs = torch.utils.checkpoint.checkpoint(layer, *args, use_reentrant=False)
        else:
            hidden_states, probs = layer(*args)  # n D
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
    """Rotate queries or keys by their position, in float32: B N T H ones (cos, sin: B T H or 1 T H), or
    n N H tokens (cos, sin: n H)."""
    half = x.shape[-1] // 2
    x32 = x.float()
    rotated = torch.cat((-x32[..., half:], x32[..., :half]), dim=-1)
    return (x32 * cos[:, None] + rotated * sin[:, None]).to(x.dtype)


def sliding_window_band(seq_len: int, half_window: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A 1 1 T T bias under which query i sees key j only when |i - j| <= half_window."""
    positions = torch.arange(seq_len, device=device)
    outside = (positions[None, :] - positions[:, None]).abs() > half_window  # T T
    band = torch.zeros(seq_len, seq_len, dtype=dtype, device=device).masked_fill(outside, torch.finfo(dtype).min)
    return band[None, None]


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


def embed_tokens(word_embeddings: nn.Embedding, input_ids: torch.Tensor) -> torch.Tensor:  # B T -> B T D
    """``word_embeddings(input_ids)``, with an id outside the vocabulary named (torch's CPU kernel says only
    "index out of range in self"; the check costs nothing until it fails)."""
    try:
        return word_embeddings(input_ids)
    except IndexError:
        size = word_embeddings.num_embeddings
        outside = input_ids[(input_ids < 0) | (input_ids >= size)]
        if outside.numel() == 0:
            raise
        raise ValueError(
            f"input_ids hold the id {int(outside[0])}, but the model's vocabulary has ids 0..{size - 1} "
            f"(config.vocab_size={size}). The tokenizer does not match the model: use the tokenizer saved with it, "
            "or call model.resize_token_embeddings(len(tokenizer)) before training."
        ) from None


def position_ids_after_padding_id(input_ids: torch.Tensor, padding_idx: int) -> torch.Tensor:
    """fairseq-style positions (RoBERTa, MPNet): padding_idx + 1, + 2, ... for real tokens, padding_idx for pads."""
    real = input_ids.ne(padding_idx).long()  # B T
    return torch.cumsum(real, dim=1) * real + padding_idx
