"""BERT in PyTorch: embeddings, encoder, pooler, then thin task heads.

Module and parameter names follow HF checkpoints one for one, so state dicts load without renaming.
Shapes: B batch, T tokens, N heads, H head size, D hidden (= N * H), I intermediate, V vocab, C choices,
n real (non-padding) tokens in the batch.

Inside the encoder, hidden states are a flat ``n D`` matrix of the real tokens only (``TokenLayout`` in
modeling_layers.py, with the attention dispatch, losses and initialisation every family shares).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ...activations import torch_activation
from ...modeling_outputs import (
    BaseModelOutputWithPooling,
)
from ...modeling_layers import (Dropout, TokenLayout, attend_tokens, check_input_ids, check_position_limit,
                                embed_tokens, encode_real_tokens, init_encoder_weights, query_tokens, run_layers)
from ...modeling_heads import (EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                                EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel)
from . import convert_bert  # noqa: F401  (registers the PyTorch <-> TF weight names of BERT)
from .configuration_bert import BertConfig

class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
        position_ids: torch.Tensor | None,
        inputs_embeds: torch.Tensor | None,
    ) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = embed_tokens(self.word_embeddings, input_ids)  # B T D
        B, T, _ = inputs_embeds.shape
        check_position_limit(T, self.position_embeddings.num_embeddings)
        if position_ids is None:
            position_ids = torch.arange(T, device=inputs_embeds.device).unsqueeze(0)  # 1 T
        if token_type_ids is None:
            token_type_ids = torch.zeros((B, T), dtype=torch.long, device=inputs_embeds.device)
        embeddings = inputs_embeds + self.token_type_embeddings(token_type_ids) + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.head_size
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = Dropout(config.attention_probs_dropout_prob)

    def forward(
        self, hidden_states: torch.Tensor, layout: TokenLayout, attention_bias: torch.Tensor | None,
        output_attentions: bool, query_rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        queries, query_layout = query_tokens(hidden_states, layout, query_rows)  # q D (q = n, or B first tokens)
        return attend_tokens(self.query(queries), self.key(hidden_states), self.value(hidden_states), layout,
                             query_layout, self.num_heads, attention_bias, self.dropout, output_attentions)  # q D


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states, layout, attention_bias, output_attentions, query_rows=None):
        context, probs = self.self(hidden_states, layout, attention_bias, output_attentions, query_rows)
        residual = hidden_states if query_rows is None else hidden_states.index_select(0, query_rows)
        return self.output(context, residual), probs


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = torch_activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))  # n I


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + residual)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states, layout, attention_bias, output_attentions, query_rows=None):
        """n D tokens -> n D; with ``query_rows`` only those rows' outputs are computed (keys and values still
        come from every token)."""
        attention_output, probs = self.attention(hidden_states, layout, attention_bias, output_attentions, query_rows)
        return self.output(self.intermediate(attention_output), attention_output), probs


class BertEncoder(nn.Module):
    layer_class: ClassVar[type[nn.Module]] = BertLayer
    """One block: ``(tokens n D, layout, attention_bias, output_attentions) -> (n D, probs)``; DistilBERT swaps it."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(self.layer_class(config) for _ in range(config.num_hidden_layers))
        self.gradient_checkpointing = False

    def forward(self, hidden_states, layout, attention_bias, output_attentions, output_hidden_states,
                query_rows=None):
        return run_layers(self.layer, hidden_states, layout, output_attentions, output_hidden_states,
                          self.gradient_checkpointing, attention_bias, last_layer_query_rows=query_rows)


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # B D


class BertPreTrainedModel(EncoderPreTrainedModel):
    config_class = BertConfig
    base_model_prefix = "bert"
    backbone_takes_first_token_only = True

    def build_backbone(self, add_pooling_layer: bool) -> BertModel:
        return BertModel(self.config, add_pooling_layer=add_pooling_layer)

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range, _zero_lm_head_bias)


class BertModel(BertPreTrainedModel):
    """The BERT encoder: token ids -> contextual hidden states (B T D) and a pooled first-token vector (B D)."""

    embeddings_class: ClassVar[type[nn.Module]] = BertEmbeddings
    """What turns ids into the B T D input of the encoder; a family that differs only there (RoBERTa) swaps it."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = self.embeddings_class(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = True,
        first_token_only: bool = False,
    ) -> BaseModelOutputWithPooling | tuple:
        """``first_token_only``: return only position 0 of the last hidden state (B 1 D), for heads that read
        nothing else; the last layer then skips the other tokens' work. Ignored when per-layer outputs are asked."""
        check_input_ids(input_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # B T D
        sequence_output, hidden_states, attentions = encode_real_tokens(
            self.encoder, embeddings, attention_mask, output_attentions, output_hidden_states, first_token_only)
        pooled_output = self.pooler(sequence_output) if self.pooler is not None else None
        output = BaseModelOutputWithPooling(sequence_output, pooled_output, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class BertForSequenceClassification(BertPreTrainedModel, EncoderForSequenceClassification):
    """Pooled output -> dropout -> Linear(D, num_labels). Loss from config.problem_type (inferred when None)."""

    add_pooling_layer = True

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.dropout = Dropout(self.classifier_dropout_rate())
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def classify(self, outputs: BaseModelOutputWithPooling, attention_mask) -> torch.Tensor:
        return self.classifier(self.dropout(outputs.pooler_output))  # B num_labels


class BertForTokenClassification(BertPreTrainedModel, EncoderForTokenClassification):
    """Hidden states -> dropout -> Linear(D, num_labels) per token; labels of -100 are ignored."""


class BertForQuestionAnswering(BertPreTrainedModel, EncoderForQuestionAnswering):
    """Hidden states -> Linear(D, 2): start and end logits of the answer span (padding positions get -inf)."""


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = torch_activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Transform, then project onto the vocabulary with the (tied) input embedding matrix and its own bias."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))  # B T V


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class BertForMaskedLM(BertPreTrainedModel, EncoderForMaskedLM):
    """Masked-token prediction; the decoder shares its weight with the word embeddings. Labels of -100 are ignored."""

    tied_weights = {
        "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
        "cls.predictions.decoder.bias": "cls.predictions.bias",
    }

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def tie_weights(self) -> None:
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight
        self.cls.predictions.decoder.bias = self.cls.predictions.bias

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.cls(hidden_states)  # B T V


class BertForMultipleChoice(BertPreTrainedModel, EncoderForMultipleChoice):
    """Each of C choices is encoded separately; pooled output -> dropout -> Linear(D, 1) gives B C scores."""

    add_pooling_layer = True

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.dropout = Dropout(self.classifier_dropout_rate())
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def choice_scores(self, outputs: BaseModelOutputWithPooling, attention_mask) -> torch.Tensor:
        return self.classifier(self.dropout(outputs.pooler_output))  # (B*C) 1


def _zero_lm_head_bias(module: nn.Module) -> None:
    if isinstance(module, BertLMPredictionHead):
        module.bias.data.zero_()
