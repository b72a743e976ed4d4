"""DistilBERT in PyTorch: what makes DistilBERT differ from BERT.

- No token types and no pooler; embeddings are word + position (learned, or fixed sinusoids with
  ``sinusoidal_pos_embds``).
- Its own checkpoint names: ``distilbert.transformer.layer.N.attention.q_lin`` / ``out_lin``, ``sa_layer_norm``,
  ``ffn.lin1`` / ``lin2``, ``output_layer_norm``; BERT's encoder loop runs these blocks (on the real tokens only).
- Heads: ``pre_classifier`` + ReLU before the classifier; dropout before ``qa_outputs``; the MLM head
  ``vocab_transform`` / ``vocab_layer_norm`` / ``vocab_projector`` (tied to the word embeddings).

Shapes: B batch, T tokens, N heads, H head size, D hidden (dim), I hidden_dim, V vocab.
"""

from __future__ import annotations

import torch
from torch import nn

from ...activations import torch_activation
from ...modeling_heads import (EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                               EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel)
from ...modeling_layers import (Dropout, TokenLayout, attend_tokens, check_input_ids, check_position_limit,
                                embed_tokens, encode_real_tokens, init_encoder_weights, query_tokens)
from ...modeling_outputs import BaseModelOutputWithPooling
from ..bert.modeling_bert import BertEncoder
from . import convert_distilbert  # noqa: F401  (registers the PyTorch <-> TF weight names of DistilBERT)
from .configuration_distilbert import DistilBertConfig, sinusoidal_position_table


class SinusoidalPositions(nn.Embedding):
    """A position table of fixed sinusoids (``sinusoidal_pos_embds``): set at initialisation, never trained."""

    def __init__(self, rows: int, dim: int):
        super().__init__(rows, dim)
        self.weight.requires_grad_(False)


class Embeddings(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        positions = SinusoidalPositions if config.sinusoidal_pos_embds else nn.Embedding
        self.position_embeddings = positions(config.max_position_embeddings, config.dim)
        self.LayerNorm = nn.LayerNorm(config.dim, eps=1e-12)
        self.dropout = Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor | None, position_ids: torch.Tensor | None,
                inputs_embeds: torch.Tensor | None) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = embed_tokens(self.word_embeddings, input_ids)  # B T D
        T = inputs_embeds.shape[1]
        check_position_limit(T, self.position_embeddings.num_embeddings)
        if position_ids is None:
            position_ids = torch.arange(T, device=inputs_embeds.device).unsqueeze(0)  # 1 T
        return self.dropout(self.LayerNorm(inputs_embeds + self.position_embeddings(position_ids)))


class DistilBertSelfAttention(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.dropout = Dropout(config.attention_dropout)

    def forward(self, hidden_states: torch.Tensor, layout: TokenLayout, attention_bias: torch.Tensor | None,
                output_attentions: bool, query_rows: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        queries, query_layout = query_tokens(hidden_states, layout, query_rows)  # q D (q = n, or B first tokens)
        context, probs = attend_tokens(self.q_lin(queries), self.k_lin(hidden_states), self.v_lin(hidden_states),
                                       layout, query_layout, self.n_heads, attention_bias, self.dropout,
                                       output_attentions)  # q D, B N Tq T
        return self.out_lin(context), probs  # q D


class FFN(nn.Module):
    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = torch_activation(config.activation)
        self.dropout = Dropout(config.dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.lin2(self.activation(self.lin1(hidden_states))))  # n D


class TransformerBlock(nn.Module):
    """Post-LN block: attention + residual -> sa_layer_norm, feed-forward + residual -> output_layer_norm."""

    def __init__(self, config: DistilBertConfig):
        super().__init__()
        self.attention = DistilBertSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)

    def forward(self, hidden_states, layout, attention_bias, output_attentions, query_rows=None):
        attention_output, probs = self.attention(hidden_states, layout, attention_bias, output_attentions, query_rows)
        residual = hidden_states if query_rows is None else hidden_states.index_select(0, query_rows)
        attention_output = self.sa_layer_norm(attention_output + residual)  # q D
        return self.output_layer_norm(self.ffn(attention_output) + attention_output), probs


class Transformer(BertEncoder):
    """BERT's layer loop (hidden states, attentions, gradient checkpointing) over DistilBERT's blocks."""

    layer_class = TransformerBlock


class DistilBertPreTrainedModel(EncoderPreTrainedModel):
    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    backbone_takes_first_token_only = True

    def build_backbone(self, add_pooling_layer: bool) -> DistilBertModel:
        return DistilBertModel(self.config)  # DistilBERT has no pooler

    def classifier_dropout_rate(self) -> float:
        return self.config.dropout

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range)
        if isinstance(module, SinusoidalPositions):
            module.weight.data.copy_(torch.from_numpy(sinusoidal_position_table(*module.weight.shape)))


class DistilBertModel(DistilBertPreTrainedModel):
    """The DistilBERT encoder: token ids -> contextual hidden states (B T D); no pooled output."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                output_attentions: bool = False, output_hidden_states: bool = False, return_dict: bool = True,
                token_type_ids: torch.Tensor | None = None, first_token_only: bool = False,
                ) -> BaseModelOutputWithPooling | tuple:
        """``first_token_only``: as BertModel's."""
        if token_type_ids is not None:
            raise ValueError("DistilBERT has no token types: drop token_type_ids from the inputs "
                             "(DistilBertTokenizer does not return them).")
        check_input_ids(input_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, position_ids, inputs_embeds)  # B T D
        sequence_output, hidden_states, attentions = encode_real_tokens(
            self.transformer, embeddings, attention_mask, output_attentions, output_hidden_states, first_token_only)
        output = BaseModelOutputWithPooling(sequence_output, None, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class DistilBertForSequenceClassification(DistilBertPreTrainedModel, EncoderForSequenceClassification):
    """First token -> pre_classifier -> ReLU -> dropout -> classifier."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = Dropout(config.seq_classif_dropout)
        self.post_init()

    def classify(self, outputs, attention_mask) -> torch.Tensor:
        pooled = torch.relu(self.pre_classifier(outputs.last_hidden_state[:, 0]))  # B D
        return self.classifier(self.dropout(pooled))  # B L


class DistilBertForTokenClassification(DistilBertPreTrainedModel, EncoderForTokenClassification):
    pass


class DistilBertForQuestionAnswering(DistilBertPreTrainedModel, EncoderForQuestionAnswering):
    def qa_dropout(self) -> float:
        return self.config.qa_dropout


class DistilBertForMultipleChoice(DistilBertPreTrainedModel, EncoderForMultipleChoice):
    """Each choice's first token -> pre_classifier -> ReLU -> dropout -> Linear(D, 1)."""

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, 1)
        self.dropout = Dropout(config.seq_classif_dropout)
        self.post_init()

    def choice_scores(self, outputs, attention_mask) -> torch.Tensor:
        pooled = torch.relu(self.pre_classifier(outputs.last_hidden_state[:, 0]))  # (B*C) D
        return self.classifier(self.dropout(pooled))


class DistilBertForMaskedLM(DistilBertPreTrainedModel, EncoderForMaskedLM):
    """vocab_transform -> activation -> vocab_layer_norm -> vocab_projector (weight tied to the word embeddings)."""

    tied_weights = {"vocab_projector.weight": "distilbert.embeddings.word_embeddings.weight"}

    def __init__(self, config: DistilBertConfig):
        super().__init__(config)
        self.activation = torch_activation(config.activation)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)
        self.post_init()

    def tie_weights(self) -> None:
        self.vocab_projector.weight = self.distilbert.embeddings.word_embeddings.weight

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = self.vocab_layer_norm(self.activation(self.vocab_transform(hidden_states)))
        return self.vocab_projector(hidden_states)  # B T V
