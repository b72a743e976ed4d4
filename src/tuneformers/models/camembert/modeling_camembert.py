"""CamemBERT in PyTorch: RoBERTa's model (models/roberta/modeling_roberta.py) read with a CamembertConfig, so that
model_type "camembert" checkpoints load under HF's class names. The weights are named as RoBERTa's (``roberta.``)."""

from __future__ import annotations

from ..roberta.modeling_roberta import (
    RobertaForMaskedLM,
    RobertaForMultipleChoice,
    RobertaForQuestionAnswering,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
    RobertaModel,
)
from .configuration_camembert import CamembertConfig


class CamembertModel(RobertaModel):
    config_class = CamembertConfig


class CamembertForSequenceClassification(RobertaForSequenceClassification):
    config_class = CamembertConfig


class CamembertForTokenClassification(RobertaForTokenClassification):
    config_class = CamembertConfig


class CamembertForQuestionAnswering(RobertaForQuestionAnswering):
    config_class = CamembertConfig


class CamembertForMultipleChoice(RobertaForMultipleChoice):
    config_class = CamembertConfig


class CamembertForMaskedLM(RobertaForMaskedLM):
    config_class = CamembertConfig
