"""DeBERTa-v2 (and DeBERTa-v3) in PyTorch: BERT layers whose attention adds disentangled relative-position
terms. Content-to-position (c2p) scores each query against the embedding of its distance to every key,
position-to-content (p2c) each key against the embedding of its distance to every query; distances far apart
share log-spaced buckets. The relative embeddings are one table for all layers.

Module and parameter names follow HF checkpoints one for one. Shapes: B batch, T tokens, N heads, H head size,
D hidden, E word-embedding width, S relative span (rel_embeddings has 2S rows), V vocab, C choices,
n real tokens. Hidden states run as n D (``TokenLayout``); only attention sees B N T H.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...activations import torch_activation
from ...modeling_heads import (EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                               EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel)
from ...modeling_layers import (Dropout, TokenLayout, attend, attention_bias_from_mask, check_input_ids, check_position_limit,
                                embed_tokens, init_encoder_weights, run_layers)
from ...modeling_outputs import BaseModelOutputWithPooling
from ..bert.modeling_bert import BertIntermediate, BertOutput, BertSelfOutput
from .configuration_deberta_v2 import DebertaV2Config


class DebertaV2Embeddings(nn.Module):
    """Word (+ absolute position, + token type) embeddings -> optional projection E -> D -> LayerNorm."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        E = config.word_embedding_size
        self.word_embeddings = nn.Embedding(config.vocab_size, E, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, E) if config.position_biased_input else None
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, E) if config.type_vocab_size > 0 else None
        self.embed_proj = nn.Linear(E, config.hidden_size, bias=False) if E != config.hidden_size else None
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.max_positions = config.max_position_embeddings

    def forward(self, input_ids, token_type_ids, position_ids, inputs_embeds) -> torch.Tensor:
        embeddings = embed_tokens(self.word_embeddings, input_ids) if inputs_embeds is None else inputs_embeds  # B T E
        B, T, _ = embeddings.shape
        if self.position_embeddings is not None:
            check_position_limit(T, self.max_positions)
            if position_ids is None:
                position_ids = torch.arange(T, device=embeddings.device).unsqueeze(0)  # 1 T
            embeddings = embeddings + self.position_embeddings(position_ids)
        if self.token_type_embeddings is not None:
            if token_type_ids is None:
                token_type_ids = torch.zeros((B, T), dtype=torch.long, device=embeddings.device)
            embeddings = embeddings + self.token_type_embeddings(token_type_ids)
        if self.embed_proj is not None:
            embeddings = self.embed_proj(embeddings)  # B T D
        return self.dropout(self.LayerNorm(embeddings))


def log_bucket_position(relative_pos: torch.Tensor, bucket_size: int, max_position: int) -> torch.Tensor:
    """Distances within bucket_size / 2 stay exact; farther ones get log-spaced buckets up to max_position."""
    sign = torch.sign(relative_pos)
    mid = bucket_size // 2
    near = (relative_pos < mid) & (relative_pos > -mid)
    abs_pos = torch.where(near, torch.tensor(mid - 1).type_as(relative_pos), relative_pos.abs())
    log_pos = torch.ceil(torch.log(abs_pos / mid) / math.log((max_position - 1) / mid) * (mid - 1)) + mid
    return torch.where(abs_pos <= mid, relative_pos.type_as(log_pos), log_pos * sign).long()


def relative_positions(seq_len: int, config: DebertaV2Config, device: torch.device) -> torch.Tensor:
    """T T matrix of query - key distances (bucketed when config.position_buckets > 0)."""
    positions = torch.arange(seq_len, device=device)
    distances = positions[:, None] - positions[None, :]  # T T
    max_position = config.max_relative_positions if config.max_relative_positions >= 1 else config.max_position_embeddings
    if config.position_buckets > 0 and max_position > 0:
        distances = log_bucket_position(distances, config.position_buckets, max_position)
    return distances


class DisentangledSelfAttention(nn.Module):
    def __init__(self, config: DebertaV2Config):
        super().__init__()
        D = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.query_proj = nn.Linear(D, D)
        self.key_proj = nn.Linear(D, D)
        self.value_proj = nn.Linear(D, D)
        self.pos_att_type = tuple(config.pos_att_type or ()) if config.relative_attention else ()
        self.share_att_key = config.share_att_key
        self.span = config.relative_span
        if config.relative_attention:
            self.pos_dropout = Dropout(config.hidden_dropout_prob)
            if not self.share_att_key:
                if "c2p" in self.pos_att_type:
                    self.pos_key_proj = nn.Linear(D, D)
                if "p2c" in self.pos_att_type:
                    self.pos_query_proj = nn.Linear(D, D)
        self.dropout = Dropout(config.attention_probs_dropout_prob)
        self.scale = 1.0 / math.sqrt(config.head_size * (1 + len(self.pos_att_type)))

    def forward(self, hidden_states, layout: TokenLayout, attention_bias, relative_pos, rel_embeddings,
                output_attentions):
        q = layout.heads(self.query_proj(hidden_states), self.num_heads)  # B N T H
        k = layout.heads(self.key_proj(hidden_states), self.num_heads)  # B N T H
        v = layout.heads(self.value_proj(hidden_states), self.num_heads)  # B N T H
        if self.pos_att_type:
            position_bias = self.position_scores(q, k, relative_pos, self.pos_dropout(rel_embeddings))  # B N T T
            attention_bias = position_bias if attention_bias is None else position_bias + attention_bias
        context, probs = attend(q, k, v, attention_bias, self.dropout, output_attentions, scale=self.scale)
        return layout.merge_heads(context), probs  # n D

    def _rel_heads(self, projection: nn.Linear, rel_embeddings: torch.Tensor) -> torch.Tensor:  # 2S D -> 1 N 2S H
        return projection(rel_embeddings).view(rel_embeddings.shape[0], self.num_heads, -1).transpose(0, 1).unsqueeze(0)

    def position_scores(self, q, k, relative_pos, rel_embeddings) -> torch.Tensor:
        """The c2p and p2c terms, already scaled, as a B N T T additive bias."""
        S = self.span
        rel_embeddings = rel_embeddings[: 2 * S]  # 2S D
        B, N, T, _ = q.shape
        scores = 0
        if "c2p" in self.pos_att_type:
            pos_key = self._rel_heads(self.key_proj if self.share_att_key else self.pos_key_proj, rel_embeddings)
            index = (relative_pos + S).clamp(0, 2 * S - 1).expand(B, N, T, T)
            scores = scores + torch.gather(q @ pos_key.transpose(-1, -2), -1, index)  # B N T(q) T(k)
        if "p2c" in self.pos_att_type:
            pos_query = self._rel_heads(self.query_proj if self.share_att_key else self.pos_query_proj, rel_embeddings)
            index = (S - relative_pos).clamp(0, 2 * S - 1).expand(B, N, T, T)
            scores = scores + torch.gather(k @ pos_query.transpose(-1, -2), -1, index).transpose(-1, -2)
        return scores * self.scale


class DebertaV2Attention(nn.Module):
    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.self = DisentangledSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, layout, attention_bias, relative_pos, rel_embeddings, output_attentions):
        context, probs = self.self(hidden_states, layout, attention_bias, relative_pos, rel_embeddings,
                                   output_attentions)
        return self.output(context, hidden_states), probs


class DebertaV2Layer(nn.Module):
    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.attention = DebertaV2Attention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, layout, attention_bias, relative_pos, rel_embeddings, output_attentions):
        attention_output, probs = self.attention(hidden_states, layout, attention_bias, relative_pos, rel_embeddings,
                                                 output_attentions)
        return self.output(self.intermediate(attention_output), attention_output), probs


class DebertaV2Encoder(nn.Module):
    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList(DebertaV2Layer(config) for _ in range(config.num_hidden_layers))
        if config.relative_attention:
            self.rel_embeddings = nn.Embedding(2 * config.relative_span, config.hidden_size)
        if config.norm_rel_ebd == "layer_norm":
            self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.gradient_checkpointing = False

    def rel_embedding(self) -> torch.Tensor | None:  # 2S D
        if not self.config.relative_attention:
            return None
        weight = self.rel_embeddings.weight
        return self.LayerNorm(weight) if self.config.norm_rel_ebd == "layer_norm" else weight

    def forward(self, hidden_states, layout, attention_bias, output_attentions, output_hidden_states):
        relative_pos = relative_positions(layout.seq_len, self.config, hidden_states.device)  # T T
        return run_layers(self.layer, hidden_states, layout, output_attentions, output_hidden_states,
                          self.gradient_checkpointing, attention_bias, relative_pos, self.rel_embedding())


class DebertaV2PreTrainedModel(EncoderPreTrainedModel):
    config_class = DebertaV2Config
    base_model_prefix = "deberta"

    def build_backbone(self, add_pooling_layer: bool) -> DebertaV2Model:
        return DebertaV2Model(self.config)  # no pooler: the classification heads pool with their ContextPooler

    def classifier_dropout_rate(self) -> float:
        return self.config.hidden_dropout_prob

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range, _zero_lm_head_bias)


class DebertaV2Model(DebertaV2PreTrainedModel):
    """The DeBERTa-v2 encoder: token ids -> hidden states (B T D). It has no pooler; heads pool for themselves."""

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        self.embeddings = DebertaV2Embeddings(config)
        self.encoder = DebertaV2Encoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, inputs_embeds=None,
                output_attentions=False, output_hidden_states=False, return_dict=True) -> BaseModelOutputWithPooling | tuple:
        check_input_ids(input_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # B T D
        layout = TokenLayout.from_mask(attention_mask, *embeddings.shape[:2])
        attention_bias = attention_bias_from_mask(attention_mask, layout, embeddings.dtype)
        tokens, hidden_states, attentions = self.encoder(layout.unpad(embeddings), layout, attention_bias,
                                                         output_attentions, output_hidden_states)
        output = BaseModelOutputWithPooling(layout.pad(tokens), None, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class ContextPooler(nn.Module):
    """First token -> dropout -> dense -> activation: the pooled vector of the classification heads."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.dense = nn.Linear(config.pooler_hidden_size, config.pooler_hidden_size)
        self.dropout = Dropout(config.pooler_dropout)
        self.activation = torch_activation(config.pooler_hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B D
        return self.activation(self.dense(self.dropout(hidden_states[:, 0])))


class _PooledScores:
    """ContextPooler -> dropout (cls_dropout) -> Linear(D, outputs): sequence classification and multiple choice."""

    def attach_pooled_classifier(self, config: DebertaV2Config, outputs: int) -> None:
        self.pooler = ContextPooler(config)
        self.dropout = Dropout(config.hidden_dropout_prob if config.cls_dropout is None else config.cls_dropout)
        self.classifier = nn.Linear(config.hidden_size, outputs)

    def pooled_scores(self, outputs: BaseModelOutputWithPooling) -> torch.Tensor:  # -> B outputs
        return self.classifier(self.dropout(self.pooler(outputs.last_hidden_state)))


class DebertaV2ForSequenceClassification(DebertaV2PreTrainedModel, EncoderForSequenceClassification, _PooledScores):
    """ContextPooler -> dropout -> Linear(D, num_labels). Loss from config.problem_type (inferred when None)."""

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        self.attach_pooled_classifier(config, config.num_labels)
        self.post_init()

    def classify(self, outputs, attention_mask) -> torch.Tensor:
        return self.pooled_scores(outputs)  # B L


class DebertaV2ForTokenClassification(DebertaV2PreTrainedModel, EncoderForTokenClassification):
    """Hidden states -> dropout -> Linear(D, num_labels) per token; labels of -100 are ignored."""


class DebertaV2ForQuestionAnswering(DebertaV2PreTrainedModel, EncoderForQuestionAnswering):
    """Hidden states -> Linear(D, 2): start and end logits of the answer span (padding positions get -inf)."""


class DebertaV2ForMultipleChoice(DebertaV2PreTrainedModel, EncoderForMultipleChoice, _PooledScores):
    """Each of C choices is encoded separately; ContextPooler -> dropout -> Linear(D, 1) gives B C scores."""

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        self.attach_pooled_classifier(config, 1)
        self.post_init()

    def choice_scores(self, outputs, attention_mask) -> torch.Tensor:
        return self.pooled_scores(outputs)  # (B*C) 1


class LegacyDebertaV2PredictionHead(nn.Module):
    """``cls.predictions``: dense D -> E, activation, LayerNorm, then the decoder (tied to the word embeddings)."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        E = config.word_embedding_size
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(config.hidden_size, E)
        self.transform.transform_act_fn = torch_activation(config.hidden_act)
        self.transform.LayerNorm = nn.LayerNorm(E, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(E, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor, word_embeddings: nn.Embedding) -> torch.Tensor:
        transform = self.transform
        return self.decoder(transform.LayerNorm(transform.transform_act_fn(transform.dense(hidden_states))))


class DebertaV2LMPredictionHead(nn.Module):
    """``lm_predictions.lm_head``: dense, activation, LayerNorm, then a product with the word embeddings + bias."""

    def __init__(self, config: DebertaV2Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = torch_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, hidden_states: torch.Tensor, word_embeddings: nn.Embedding) -> torch.Tensor:
        hidden_states = self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))
        return F.linear(hidden_states, word_embeddings.weight, self.bias)


class DebertaV2ForMaskedLM(DebertaV2PreTrainedModel, EncoderForMaskedLM):
    """Masked-token prediction scored against the word embeddings; labels of -100 are ignored.
    ``config.legacy`` picks the checkpoint layout of the head (see the two head classes)."""

    def __init__(self, config: DebertaV2Config):
        super().__init__(config)
        if config.legacy:
            self.cls = nn.Module()
            self.cls.predictions = LegacyDebertaV2PredictionHead(config)
        else:
            self.lm_predictions = nn.Module()
            self.lm_predictions.lm_head = DebertaV2LMPredictionHead(config)
        self.post_init()

    @property
    def tied_weights(self) -> dict[str, str]:  # type: ignore[override]
        if not self.config.legacy:
            return {}
        return {"cls.predictions.decoder.weight": "deberta.embeddings.word_embeddings.weight",
                "cls.predictions.decoder.bias": "cls.predictions.bias"}

    def tie_weights(self) -> None:
        if self.config.legacy:
            self.cls.predictions.decoder.weight = self.deberta.embeddings.word_embeddings.weight
            self.cls.predictions.decoder.bias = self.cls.predictions.bias

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        head = self.cls.predictions if self.config.legacy else self.lm_predictions.lm_head
        return head(hidden_states, self.deberta.embeddings.word_embeddings)  # B T V


def _zero_lm_head_bias(module: nn.Module) -> None:
    if isinstance(module, (LegacyDebertaV2PredictionHead, DebertaV2LMPredictionHead)):
        module.bias.data.zero_()
