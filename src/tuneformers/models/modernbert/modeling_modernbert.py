"""ModernBERT in PyTorch: pre-norm layers without biases, rotary positions (a larger base for global layers),
GeGLU MLPs, and attention that is global every few layers and a sliding window in between; a final norm.

Built on the unpadded layout: token ids are unpadded before the embedding, so embeddings, norms, MLPs and
projections run on the n real tokens only; attention alone sees B N T H, with each layer type's mask.
Module and parameter names follow HF checkpoints one for one. Shapes: B batch, T tokens, N heads, H head
size, D hidden, I intermediate, V vocab, C choices, n real tokens.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...activations import torch_activation
from ...modeling_heads import (EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                               EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel)
from ...modeling_layers import (Dropout, TokenLayout, add_biases, apply_rotary, attend_tokens,
                                attention_bias_from_mask, check_input_ids, embed_tokens, first_token_or_mean,
                                rotary_cos_sin, run_layers, sliding_window_band)
from ...modeling_outputs import BaseModelOutputWithPooling
from .configuration_modernbert import ModernBertConfig


def _norm(config: ModernBertConfig) -> nn.LayerNorm:
    return nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)


class ModernBertEmbeddings(nn.Module):
    """Token embeddings -> norm -> dropout; no absolute positions (those are rotary, inside attention)."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.norm = _norm(config)
        self.drop = Dropout(config.embedding_dropout)

    def forward(self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None) -> torch.Tensor:
        return self.drop(self.norm(embed_tokens(self.tok_embeddings, input_ids) if inputs_embeds is None else inputs_embeds))


class ModernBertMLP(nn.Module):
    """GeGLU: Wi gives a value and a gate half; act(value) * gate -> Wo."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.Wi = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=config.mlp_bias)
        self.act = torch_activation(config.hidden_activation)
        self.drop = Dropout(config.mlp_dropout)
        self.Wo = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.mlp_bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        value, gate = self.Wi(hidden_states).chunk(2, dim=-1)  # n I each
        return self.Wo(self.drop(self.act(value) * gate))


class ModernBertAttention(nn.Module):
    def __init__(self, config: ModernBertConfig, layer_type: str):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.layer_type = layer_type
        self.Wqkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.attention_bias)
        self.Wo = nn.Linear(config.hidden_size, config.hidden_size, bias=config.attention_bias)
        self.dropout = Dropout(config.attention_dropout)
        self.out_drop = Dropout(config.attention_dropout) if config.attention_dropout > 0.0 else nn.Identity()

    def forward(self, hidden_states, layout: TokenLayout, biases, rotary, output_attentions):
        n = hidden_states.shape[0]
        q, k, v = self.Wqkv(hidden_states).view(n, 3, self.num_heads, -1).unbind(dim=1)  # n N H each
        cos, sin = rotary[self.layer_type]  # n H: each token's position
        q, k = (apply_rotary(x, cos, sin).view(n, -1) for x in (q, k))  # n D
        attention_bias, position_bias = biases[self.layer_type]
        context, probs = attend_tokens(q, k, v.reshape(n, -1), layout, layout, self.num_heads, attention_bias,
                                       self.dropout, output_attentions, position_bias=position_bias)
        return self.out_drop(self.Wo(context)), probs  # n D


class ModernBertEncoderLayer(nn.Module):
    """Pre-norm: x + attn(norm(x)), then x + mlp(norm(x)); the first layer skips the attention norm (the
    embeddings were just normed)."""

    def __init__(self, config: ModernBertConfig, index: int):
        super().__init__()
        self.attn_norm = nn.Identity() if index == 0 else _norm(config)
        self.attn = ModernBertAttention(config, config.layer_types[index])
        self.mlp_norm = _norm(config)
        self.mlp = ModernBertMLP(config)

    def forward(self, hidden_states, layout, biases, rotary, output_attentions):
        attention_output, probs = self.attn(self.attn_norm(hidden_states), layout, biases, rotary, output_attentions)
        hidden_states = hidden_states + attention_output
        return hidden_states + self.mlp(self.mlp_norm(hidden_states)), probs


class ModernBertPreTrainedModel(EncoderPreTrainedModel):
    config_class = ModernBertConfig
    base_model_prefix = "model"

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Truncated normals: std initializer_range into the residual stream's branches, scaled down by
        sqrt(2 * layers) out of them, hidden_size ** -0.5 for classifiers; norms at identity."""
        config = self.config
        std_in = config.initializer_range
        std_out = std_in / math.sqrt(2.0 * config.num_hidden_layers)
        roles: list[tuple[nn.Module | None, float]] = []
        if isinstance(module, ModernBertEmbeddings):
            roles = [(module.tok_embeddings, std_in)]
        elif isinstance(module, (ModernBertMLP, ModernBertAttention)):
            roles = [(getattr(module, "Wi", None) or getattr(module, "Wqkv", None), std_in), (module.Wo, std_out)]
        elif isinstance(module, ModernBertPredictionHead):
            roles = [(module.dense, std_out)]
        elif isinstance(module, ModernBertForMaskedLM):
            roles = [(module.decoder, std_out)]
        elif hasattr(module, "classifier") and isinstance(module, ModernBertPreTrainedModel):
            roles = [(module.classifier, config.hidden_size ** -0.5)]
        elif isinstance(module, (nn.Linear, nn.Embedding)):
            roles = [(module, std_in)]
        elif isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.zero_()
        for target, std in roles:
            cutoff = config.initializer_cutoff_factor * std
            nn.init.trunc_normal_(target.weight, mean=0.0, std=std, a=-cutoff, b=cutoff)
            if getattr(target, "bias", None) is not None:
                target.bias.zero_()
            target._tuneformers_initialized = True  # post_init visits parents first: keep the role's std


class ModernBertModel(ModernBertPreTrainedModel):
    """The ModernBERT encoder: token ids -> normed hidden states (B T D, zeros at padding)."""

    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        self.embeddings = ModernBertEmbeddings(config)
        self.layers = nn.ModuleList(ModernBertEncoderLayer(config, index) for index in range(config.num_hidden_layers))
        self.final_norm = _norm(config)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.tok_embeddings

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
                output_attentions=False, output_hidden_states=False, return_dict=True) -> BaseModelOutputWithPooling | tuple:
        check_input_ids(input_ids, inputs_embeds)
        B, T = (input_ids if input_ids is not None else inputs_embeds).shape[:2]
        layout = TokenLayout.from_mask(attention_mask, B, T)
        tokens = self.embeddings(None if input_ids is None else layout.unpad(input_ids),  # n D: only real tokens
                                 None if inputs_embeds is None else layout.unpad(inputs_embeds))
        if position_ids is None:
            position_ids = torch.arange(T, device=tokens.device).unsqueeze(0)  # 1 T
        config = self.config
        token_positions = layout.unpad(position_ids.expand(B, T).unsqueeze(-1)).squeeze(-1)  # n
        rotary = {kind: rotary_cos_sin(token_positions, config.head_size, config.rope_theta(kind), tokens.dtype)
                  for kind in set(config.layer_types)}  # n H each
        global_bias = attention_bias_from_mask(attention_mask, layout, tokens.dtype)  # B 1 1 T or None
        half_window = config.local_attention // 2
        band = None if T - 1 <= half_window else sliding_window_band(T, half_window, tokens.dtype, tokens.device)
        biases = {"full_attention": (global_bias, None), "sliding_attention": (add_biases(band, global_bias), band)}
        tokens, hidden_states, attentions = run_layers(self.layers, tokens, layout, output_attentions,
                                                       output_hidden_states, self.gradient_checkpointing, biases, rotary)
        sequence_output = layout.pad(self.final_norm(tokens))  # B T D
        if hidden_states is not None:
            hidden_states = (*hidden_states[:-1], sequence_output)  # as HF: the last one after the final norm
        output = BaseModelOutputWithPooling(sequence_output, None, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class ModernBertPredictionHead(nn.Module):
    """dense -> activation -> norm, before every task projection."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size, bias=config.classifier_bias)
        self.act = torch_activation(config.classifier_activation)
        self.norm = _norm(config)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.norm(self.act(self.dense(hidden_states)))


class _ModernBertTaskModel(ModernBertPreTrainedModel):
    """What every ModernBERT task model shares: the backbone is read through a prediction head (``head``), and
    classifiers use ``config.classifier_dropout``."""

    def build_backbone(self, add_pooling_layer: bool) -> ModernBertModel:
        return ModernBertModel(self.config)

    def attach_backbone(self, add_pooling_layer: bool = False) -> None:
        super().attach_backbone(add_pooling_layer)
        self.head = ModernBertPredictionHead(self.config)

    def task_features(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.head(hidden_states)

    def classifier_dropout_rate(self) -> float:
        return self.config.classifier_dropout

    def attach_pooled_classifier(self, outputs: int) -> None:
        self.drop = Dropout(self.config.classifier_dropout)
        self.classifier = nn.Linear(self.config.hidden_size, outputs)

    def pooled_scores(self, outputs: BaseModelOutputWithPooling, attention_mask: torch.Tensor | None) -> torch.Tensor:
        """First-token ("cls") or mean pooling -> head -> dropout -> classifier: B outputs."""
        pooled = first_token_or_mean(outputs.last_hidden_state, attention_mask, self.config.classifier_pooling)  # B D
        return self.classifier(self.drop(self.head(pooled)))


class ModernBertForSequenceClassification(_ModernBertTaskModel, EncoderForSequenceClassification):
    """First-token ("cls") or mean pooling -> head -> Linear(D, num_labels); loss from config.problem_type."""

    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        self.attach_pooled_classifier(config.num_labels)
        self.post_init()

    def classify(self, outputs, attention_mask) -> torch.Tensor:
        return self.pooled_scores(outputs, attention_mask)  # B L


class ModernBertForTokenClassification(_ModernBertTaskModel, EncoderForTokenClassification):
    """Per token: head -> dropout -> Linear(D, num_labels); labels of -100 are ignored."""


class ModernBertForQuestionAnswering(_ModernBertTaskModel, EncoderForQuestionAnswering):
    """Per token: head -> Linear(D, 2): start and end logits (padding positions get -inf)."""

    span_layer_name = "classifier"

    def qa_dropout(self) -> float:
        return self.config.classifier_dropout


class ModernBertForMultipleChoice(_ModernBertTaskModel, EncoderForMultipleChoice):
    """Each of C choices is encoded separately; pooled -> head -> Linear(D, 1) gives B C scores."""

    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        self.attach_pooled_classifier(1)
        self.post_init()

    def choice_scores(self, outputs, attention_mask) -> torch.Tensor:
        return self.pooled_scores(outputs, attention_mask)  # (B*C) 1


class ModernBertForMaskedLM(_ModernBertTaskModel, EncoderForMaskedLM):
    """head -> decoder onto the vocabulary (weight tied to the token embeddings). With config.sparse_prediction
    and labels, only the labelled positions are scored."""

    tied_weights = {"decoder.weight": "model.embeddings.tok_embeddings.weight"}

    def __init__(self, config: ModernBertConfig):
        super().__init__(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=config.decoder_bias)
        self.post_init()

    def tie_weights(self) -> None:
        self.decoder.weight = self.model.embeddings.tok_embeddings.weight

    def scored_positions(self, hidden_states, labels):
        if not (self.config.sparse_prediction and labels is not None):
            return hidden_states, labels
        labels = labels.reshape(-1)
        scored = labels != self.config.sparse_pred_ignore_index
        return hidden_states.reshape(labels.shape[0], -1)[scored], labels[scored]  # n_labelled D, n_labelled

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.head(hidden_states))  # B T V (or n_labelled V)
