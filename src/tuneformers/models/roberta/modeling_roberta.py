"""RoBERTa in PyTorch: what makes RoBERTa differ from BERT, on top of BERT's encoder.

- Embeddings: positions are numbered from ``pad_token_id + 1`` and computed from the input ids, so padding
  tokens (anywhere in the row) take the padding position and do not shift the others.
- Checkpoint names: the backbone is ``roberta.`` (its encoder is BERT's, ``roberta.encoder.layer.N...``).
- Sequence classification: a two-layer head on ``<s>`` (``classifier.dense`` + tanh + ``classifier.out_proj``)
  instead of BERT's pooler.
- Masked LM: ``lm_head.dense`` + gelu + ``lm_head.layer_norm`` + ``lm_head.decoder``, tied to the word embeddings.

XLM-RoBERTa and CamemBERT are this model under their own config classes (xlm_roberta/, camembert/).
Shapes: B batch, T tokens, D hidden, V vocab.
"""

from __future__ import annotations

import torch
from torch import nn

from ...modeling_heads import (ClassificationHead, EncoderForMaskedLM, EncoderForMultipleChoice, EncoderForQuestionAnswering,
                               EncoderForSequenceClassification, EncoderForTokenClassification, EncoderPreTrainedModel,
                               MaskedLMHead, zero_lm_head_bias)
from ...modeling_layers import Dropout, init_encoder_weights, position_ids_after_padding_id
from ..bert.modeling_bert import BertEmbeddings, BertModel
from . import convert_roberta  # noqa: F401  (registers the PyTorch <-> TF weight names of RoBERTa)
from .configuration_roberta import RobertaConfig


class RobertaEmbeddings(BertEmbeddings):
    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size,
                                                padding_idx=self.padding_idx)

    def forward(self, input_ids, token_type_ids, position_ids, inputs_embeds) -> torch.Tensor:
        T = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        if position_ids is None:
            if T + self.padding_idx >= self.position_embeddings.num_embeddings:
                raise ValueError(
                    f"The input has {T} tokens but this model has positions for only "
                    f"{self.position_embeddings.num_embeddings - self.padding_idx - 1} (RoBERTa's start at pad_token_id + 1). "
                    f"Tokenize with truncation=True, max_length={self.position_embeddings.num_embeddings - self.padding_idx - 1}."
                )
            if input_ids is not None:
                position_ids = position_ids_after_padding_id(input_ids, self.padding_idx)  # B T
            else:  # no ids to find padding in: every token is real
                position_ids = torch.arange(self.padding_idx + 1, T + self.padding_idx + 1,
                                            device=inputs_embeds.device).unsqueeze(0)  # 1 T
        return super().forward(input_ids, token_type_ids, position_ids, inputs_embeds)


class RobertaPreTrainedModel(EncoderPreTrainedModel):
    config_class = RobertaConfig
    base_model_prefix = "roberta"
    backbone_takes_first_token_only = True

    def build_backbone(self, add_pooling_layer: bool) -> RobertaModel:
        return RobertaModel(self.config, add_pooling_layer=add_pooling_layer)

    def _init_weights(self, module: nn.Module) -> None:
        init_encoder_weights(module, self.config.initializer_range, zero_lm_head_bias)


class RobertaModel(RobertaPreTrainedModel, BertModel):
    """BERT's encoder and pooler behind RoBERTa's embeddings: ids -> B T D hidden states (and a B D pooled vector)."""

    embeddings_class = RobertaEmbeddings


class RobertaForSequenceClassification(RobertaPreTrainedModel, EncoderForSequenceClassification):
    """``<s>`` -> dropout -> dense -> tanh -> dropout -> out_proj (``classifier.*``)."""

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        dropout = self.classifier_dropout_rate()
        self.classifier = ClassificationHead(config.hidden_size, config.num_labels, dropout, "tanh")
        self.post_init()

    def classify(self, outputs, attention_mask) -> torch.Tensor:
        return self.classifier(outputs.last_hidden_state)  # B L


class RobertaForTokenClassification(RobertaPreTrainedModel, EncoderForTokenClassification):
    pass


class RobertaForQuestionAnswering(RobertaPreTrainedModel, EncoderForQuestionAnswering):
    pass


class RobertaForMultipleChoice(RobertaPreTrainedModel, EncoderForMultipleChoice):
    """Each choice's pooled output -> dropout -> Linear(D, 1)."""

    add_pooling_layer = True

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.dropout = Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def choice_scores(self, outputs, attention_mask) -> torch.Tensor:
        return self.classifier(self.dropout(outputs.pooler_output))


class RobertaForMaskedLM(RobertaPreTrainedModel, EncoderForMaskedLM):
    tied_weights = {
        "lm_head.decoder.weight": "roberta.embeddings.word_embeddings.weight",
        "lm_head.decoder.bias": "lm_head.bias",
    }

    def __init__(self, config: RobertaConfig):
        super().__init__(config)
        self.lm_head = MaskedLMHead(config.hidden_size, config.vocab_size, config.layer_norm_eps)
        self.post_init()

    def tie_weights(self) -> None:
        self.lm_head.decoder.weight = self.roberta.embeddings.word_embeddings.weight
        self.lm_head.decoder.bias = self.lm_head.bias

    def lm_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.lm_head(hidden_states)
