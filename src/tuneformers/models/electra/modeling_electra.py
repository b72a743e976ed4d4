"""ELECTRA in PyTorch: what makes ELECTRA differ from BERT, on top of BERT's encoder.

- Embeddings of width ``embedding_size``, projected to ``hidden_size`` by ``embeddings_project`` when they
  differ; no pooler. The encoder is BERT's (``electra.encoder.layer.N.attention.self.query``...).
- ``ElectraForPreTraining``: the discriminator, one replaced-or-original logit per token
  (``discriminator_predictions``), binary cross entropy over the real tokens.
- ``ElectraForMaskedLM``: the generator's head, ``generator_predictions`` (to embedding_size, gelu,
  LayerNorm) and ``generator_lm_head`` (weight tied to the word embeddings).
- Sequence classification: a two-layer head on the first token with gelu (``classifier.dense`` /
  ``classifier.out_proj``); multiple choice: ``sequence_summary.summary`` + activation before the classifier.

Shapes: B batch, T tokens, E embedding size, D hidden, V vocab.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ...activations import torch_activation
from ...modeling_heads import (
    ClassificationHead,
    EncoderForMaskedLM,
    EncoderForMultipleChoice,
    EncoderForQuestionAnswering,
    EncoderForSequenceClassification,
    EncoderForTokenClassification,
    EncoderPreTrainedModel,
)
from ...modeling_layers import (
    Dropout,
    check_input_ids,
    encode_real_tokens,
    init_encoder_weights,
)
from ...modeling_outputs import BaseModelOutputWithPooling, SequenceClassifierOutput
from ..bert.modeling_bert import BertEmbeddings, BertEncoder
from .configuration_electra import ElectraConfig


@dataclasses.dataclass
class ElectraForPreTrainingOutput(SequenceClassifierOutput):
    """loss, logits (B T: a token was replaced), hidden_states, attentions."""


class ElectraEmbeddings(BertEmbeddings):
    """BERT's embeddings at width embedding_size (E)."""

    def __init__(self, config: ElectraConfig):
        nn.Module.__init__(self)
        self.word_embeddings = nn.Embedding(config.vocab_size, config.embedding_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.embedding_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.embedding_size)
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout_prob)


class ElectraPreTrainedModel(EncoderPreTrainedModel):
    config_class = ElectraConfig
    base_model_prefix = "electra"
    backbone_takes_first_token_only = True

    def build_backbone(self, add_pooling_layer: bool) -> ElectraModel:
        return ElectraModel(self.config)  # ELECTRA has no pooler

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range)


class ElectraModel(ElectraPreTrainedModel):
    """The ELECTRA encoder: token ids -> contextual hidden states (B T D); no pooled output."""

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.embeddings = ElectraEmbeddings(config)
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = BertEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                inputs_embeds: torch.Tensor | None = None, output_attentions: bool = False,
                output_hidden_states: bool = False, return_dict: bool = True,
                first_token_only: bool = False) -> BaseModelOutputWithPooling | tuple:
        """``first_token_only``: as BertModel's."""
        check_input_ids(input_ids, inputs_embeds)
        embeddings = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # B T E
        if hasattr(self, "embeddings_project"):
            embeddings = self.embeddings_project(embeddings)  # B T D
        sequence_output, hidden_states, attentions = encode_real_tokens(
            self.encoder, embeddings, attention_mask, output_attentions, output_hidden_states, first_token_only)
        output = BaseModelOutputWithPooling(sequence_output, None, hidden_states, attentions)
        return output if return_dict else output.to_tuple()


class ElectraDiscriminatorPredictions(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = torch_activation(config.hidden_act)
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B T
        return self.dense_prediction(self.activation(self.dense(hidden_states))).squeeze(-1)


class ElectraForPreTraining(ElectraPreTrainedModel):
    """The discriminator: for every token, a logit that it was replaced. Labels: 1 replaced, 0 original."""

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.attach_backbone()
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None,
                inputs_embeds=None, labels=None, output_attentions=False, output_hidden_states=False,
                return_dict=True) -> ElectraForPreTrainingOutput | tuple:
        outputs = self.encode(input_ids, attention_mask, output_attentions, output_hidden_states,
                              token_type_ids=token_type_ids, position_ids=position_ids, inputs_embeds=inputs_embeds)
        logits = self.discriminator_predictions(outputs.last_hidden_state)  # B T
        loss = None
        if labels is not None:
            real = attention_mask.bool() if attention_mask is not None else torch.ones_like(logits, dtype=torch.bool)
            loss = F.binary_cross_entropy_with_logits(logits[real], labels[real].to(logits.dtype))
        output = ElectraForPreTrainingOutput(loss, logits, outputs.hidden_states, outputs.attentions)
        return output if return_dict else output.to_tuple()


class ElectraForSequenceClassification(ElectraPreTrainedModel, EncoderForSequenceClassification):
    """First token -> dropout -> dense -> gelu -> dropout -> out_proj (``classifier.*``)."""

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        dropout = self.classifier_dropout_rate()
        self.classifier = ClassificationHead(config.hidden_size, config.num_labels, dropout, "gelu")
        self.post_init()

    def classify(self, outputs, attention_mask) -> torch.Tensor:
        return self.classifier(outputs.last_hidden_state)  # B L


class ElectraForTokenClassification(ElectraPreTrainedModel, EncoderForTokenClassification):
    pass


class ElectraForQuestionAnswering(ElectraPreTrainedModel, EncoderForQuestionAnswering):
    pass


class ElectraSequenceSummary(nn.Module):
    """First token -> summary (Linear D D when summary_use_proj) -> summary_activation -> dropout."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.summary = nn.Linear(config.hidden_size, config.hidden_size) if config.summary_use_proj else nn.Identity()
        self.activation = torch_activation(config.summary_activation) if config.summary_activation else nn.Identity()
        self.last_dropout = Dropout(config.summary_last_dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B D
        return self.last_dropout(self.activation(self.summary(hidden_states[:, 0])))


class ElectraForMultipleChoice(ElectraPreTrainedModel, EncoderForMultipleChoice):
    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.sequence_summary = ElectraSequenceSummary(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def choice_scores(self, outputs, attention_mask) -> torch.Tensor:
        return self.classifier(self.sequence_summary(outputs.last_hidden_state))


class ElectraGeneratorPredictions(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.activation = torch_activation("gelu")
        self.LayerNorm = nn.LayerNorm(config.embedding_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.embedding_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:  # B T D -> B T E
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class ElectraForMaskedLM(ElectraPreTrainedModel, EncoderForMaskedLM):
    """The generator's masked-token head; ``generator_lm_head`` shares its weight with the word embeddings."""

    tied_weights = {"generator_lm_head.weight": "electra.embeddings.word_embeddings.weight"}

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.generator_predictions = ElectraGeneratorPredictions(config)
        self.generator_lm_head = nn.Linear(config.embedding_size, config.vocab_size)
        self.post_init()

    def tie_weights(self) -> None:
        self.generator_lm_head.weight = self.electra.embeddings.word_embeddings.weight

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.generator_lm_head(self.generator_predictions(hidden_states))  # B T V
