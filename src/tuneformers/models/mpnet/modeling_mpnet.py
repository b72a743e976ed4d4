"""MPNet in PyTorch: BERT layers plus one learned relative-position bias (T5-style buckets) that every
layer adds to its attention scores; positions count after the padding id, as in RoBERTa.

Module and parameter names follow HF checkpoints one for one. Shapes: B batch, T tokens, N heads,
H head size, D hidden, V vocab, C choices, n real (non-padding) tokens. Hidden states run as n D
(``TokenLayout``); the layer loop, heads, losses and initialisation are the shared ones in modeling_layers.py.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...modeling_heads import (ClassificationHead, EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                               EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel,
                               MaskedLMHead)
from ...modeling_layers import (Dropout, TokenLayout, add_biases, attend_tokens, attention_bias_from_mask,
                                check_input_ids, check_position_limit, embed_tokens, init_encoder_weights,
                                position_ids_after_padding_id, run_layers)
from ...modeling_outputs import (BaseModelOutputWithPooling)
from ..bert.modeling_bert import BertIntermediate, BertOutput, BertPooler
from .configuration_mpnet import MPNetConfig


class MPNetEmbeddings(nn.Module):
    """Word + absolute position embeddings (no token types); positions start after the padding id."""

    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=self.padding_idx)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=self.padding_idx)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, position_ids, inputs_embeds) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = embed_tokens(self.word_embeddings, input_ids)  # B T D
        B, T, _ = inputs_embeds.shape
        limit = self.position_embeddings.num_embeddings - self.padding_idx - 1
        check_position_limit(T, limit)
        if position_ids is None:
            if input_ids is not None:
                position_ids = position_ids_after_padding_id(input_ids, self.padding_idx)  # B T
            else:
                position_ids = torch.arange(self.padding_idx + 1, T + self.padding_idx + 1,
                                            device=inputs_embeds.device).unsqueeze(0)  # 1 T
        return self.dropout(self.LayerNorm(inputs_embeds + self.position_embeddings(position_ids)))


class MPNetSelfAttention(nn.Module):
    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.q = nn.Linear(config.hidden_size, config.hidden_size)
        self.k = nn.Linear(config.hidden_size, config.hidden_size)
        self.v = nn.Linear(config.hidden_size, config.hidden_size)
        self.o = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden_states, layout: TokenLayout, biases, output_attentions):
        attention_bias, position_bias = biases  # B N T T (position and padding), 1 N T T
        context, probs = attend_tokens(self.q(hidden_states), self.k(hidden_states), self.v(hidden_states), layout,
                                       layout, self.num_heads, attention_bias, self.dropout, output_attentions,
                                       position_bias=position_bias)
        return self.o(context), probs  # n D


class MPNetAttention(nn.Module):
    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.attn = MPNetSelfAttention(config)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states, layout, biases, output_attentions):
        context, probs = self.attn(hidden_states, layout, biases, output_attentions)
        return self.LayerNorm(self.dropout(context) + hidden_states), probs


class MPNetLayer(nn.Module):
    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.attention = MPNetAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, layout, biases, output_attentions):
        attention_output, probs = self.attention(hidden_states, layout, biases, output_attentions)
        return self.output(self.intermediate(attention_output), attention_output), probs


def relative_position_bucket(relative_position: torch.Tensor, num_buckets: int, max_distance: int = 128) -> torch.Tensor:
    """key - query offsets -> bucket ids: half the buckets per direction, exact for small offsets and
    logarithmically wider up to ``max_distance`` (T5's bidirectional scheme)."""
    half = num_buckets // 2
    distance = -relative_position
    bucket = (distance < 0).long() * half
    distance = distance.abs()
    exact = half // 2
    log_ratio = torch.log(distance.clamp(min=1).float() / exact) / math.log(max_distance / exact)
    large = (exact + (log_ratio * (half - exact)).long()).clamp(max=half - 1)
    return bucket + torch.where(distance < exact, distance, large)


class MPNetEncoder(nn.Module):
    def __init__(self, config: MPNetConfig):
        super().__init__()
        self.num_buckets = config.relative_attention_num_buckets
        self.layer = nn.ModuleList(MPNetLayer(config) for _ in range(config.num_hidden_layers))
        self.relative_attention_bias = nn.Embedding(config.relative_attention_num_buckets, config.num_attention_heads)
        self.gradient_checkpointing = False

    def position_bias(self, seq_len: int, device: torch.device) -> torch.Tensor:  # 1 N T T
        positions = torch.arange(seq_len, device=device)
        buckets = relative_position_bucket(positions[None, :] - positions[:, None], self.num_buckets)  # T T
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, hidden_states, layout, biases, output_attentions, output_hidden_states):
        return run_layers(self.layer, hidden_states, layout, output_attentions, output_hidden_states,
                          self.gradient_checkpointing, biases)


class MPNetPreTrainedModel(EncoderPreTrainedModel):
    config_class = MPNetConfig
    base_model_prefix = "mpnet"

    def build_backbone(self, add_pooling_layer: bool) -> MPNetModel:
        return MPNetModel(self.config, add_pooling_layer=add_pooling_layer)

    def classifier_dropout_rate(self) -> float:
        return self.config.hidden_dropout_prob

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range)


class MPNetModel(MPNetPreTrainedModel):
    """The MPNet encoder: token ids -> hidden states (B T D) and, with the pooler, a first-token vector (B D)."""

    def __init__(self, config: MPNetConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = MPNetEmbeddings(config)
        self.encoder = MPNetEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, inputs_embeds=None,
                output_attentions=False, output_hidden_states=False, return_dict=True) -> BaseModelOutputWithPooling | tuple:
        check_input_ids(input_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, position_ids, inputs_embeds)  # B T D
        B, T, _ = embeddings.shape
        layout = TokenLayout.from_mask(attention_mask, B, T)
        position_bias = self.encoder.position_bias(T, embeddings.device).to(embeddings.dtype)  # 1 N T T
        padding_bias = attention_bias_from_mask(attention_mask, layout, embeddings.dtype)  # B 1 1 T
        attention_bias = add_biases(position_bias, padding_bias)  # B N T T
        tokens, hidden_states, attentions = self.encoder(layout.unpad(embeddings), layout,
                                                         (attention_bias, position_bias), output_attentions,
                                                         output_hidden_states)
        sequence_output = layout.pad(tokens)  # B T D
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        output = BaseModelOutputWithPooling(sequence_output, pooled_output, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class MPNetForSequenceClassification(MPNetPreTrainedModel, EncoderForSequenceClassification):
    """First token -> dense -> tanh -> Linear(D, num_labels). Loss from config.problem_type (inferred when None)."""

    def __init__(self, config: MPNetConfig):
        super().__init__(config)
        self.classifier = ClassificationHead(config.hidden_size, config.num_labels, config.hidden_dropout_prob, "tanh")
        self.post_init()

    def classify(self, outputs: BaseModelOutputWithPooling, attention_mask) -> torch.Tensor:
        return self.classifier(outputs.last_hidden_state)  # B num_labels


class MPNetForTokenClassification(MPNetPreTrainedModel, EncoderForTokenClassification):
    """Hidden states -> dropout -> Linear(D, num_labels) per token; labels of -100 are ignored."""


class MPNetForQuestionAnswering(MPNetPreTrainedModel, EncoderForQuestionAnswering):
    """Hidden states -> Linear(D, 2): start and end logits of the answer span (padding positions get -inf)."""


class MPNetForMaskedLM(MPNetPreTrainedModel, EncoderForMaskedLM):
    """Masked-token prediction; the decoder shares its weight with the word embeddings. Labels of -100 are ignored."""

    tied_weights = {
        "lm_head.decoder.weight": "mpnet.embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
    }

    def __init__(self, config: MPNetConfig):
        super().__init__(config)
        self.lm_head = MaskedLMHead(config.hidden_size, config.vocab_size, config.layer_norm_eps)
        self.post_init()

    def tie_weights(self) -> None:
        self.lm_head.decoder.weight = self.mpnet.embeddings.word_embeddings.weight
        self.lm_head.decoder.bias = self.lm_head.bias

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden_states)  # B T V


class MPNetForMultipleChoice(MPNetPreTrainedModel, EncoderForMultipleChoice):
    """Each of C choices is encoded separately; pooled output -> dropout -> Linear(D, 1) gives B C scores."""

    add_pooling_layer = True

    def __init__(self, config: MPNetConfig):
        super().__init__(config)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def choice_scores(self, outputs: BaseModelOutputWithPooling, attention_mask) -> torch.Tensor:
        return self.classifier(self.dropout(outputs.pooler_output))  # (B*C) 1
