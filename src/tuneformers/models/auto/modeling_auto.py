"""Auto model classes: pick the model class from the config's model_type."""

from __future__ import annotations

from .auto_factory import AutoModelFactory, model_mapping, task_mapping_names

# model_type -> (module under tuneformers.models, class-name prefix); every family has every task's class
FAMILY_MODULES: dict[str, tuple[str, str]] = {
    "bert": ("bert.modeling_bert", "Bert"),
    "roberta": ("roberta.modeling_roberta", "Roberta"),
    "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRoberta"),
    "camembert": ("camembert.modeling_camembert", "Camembert"),
    "distilbert": ("distilbert.modeling_distilbert", "DistilBert"),
    "electra": ("electra.modeling_electra", "Electra"),
    "mpnet": ("mpnet.modeling_mpnet", "MPNet"),
    "deberta-v2": ("deberta_v2.modeling_deberta_v2", "DebertaV2"),
    "modernbert": ("modernbert.modeling_modernbert", "ModernBert"),
}
MODEL_MAPPING_NAMES = task_mapping_names(FAMILY_MODULES)


class _AutoModel(AutoModelFactory):
    mapping_names = MODEL_MAPPING_NAMES


class AutoModel(_AutoModel):
    task = "base"


class AutoModelForSequenceClassification(_AutoModel):
    task = "sequence-classification"


class AutoModelForTokenClassification(_AutoModel):
    task = "token-classification"


class AutoModelForQuestionAnswering(_AutoModel):
    task = "question-answering"


class AutoModelForMaskedLM(_AutoModel):
    task = "masked-lm"


class AutoModelForMultipleChoice(_AutoModel):
    task = "multiple-choice"


class AutoModelWithLMHead(AutoModelForMaskedLM):
    """The v3 name of AutoModelForMaskedLM for encoders."""


MODEL_MAPPING = model_mapping(AutoModel)
MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING = model_mapping(AutoModelForSequenceClassification)
MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING = model_mapping(AutoModelForTokenClassification)
MODEL_FOR_QUESTION_ANSWERING_MAPPING = model_mapping(AutoModelForQuestionAnswering)
MODEL_FOR_MASKED_LM_MAPPING = model_mapping(AutoModelForMaskedLM)
MODEL_WITH_LM_HEAD_MAPPING = MODEL_FOR_MASKED_LM_MAPPING
MODEL_FOR_MULTIPLE_CHOICE_MAPPING = model_mapping(AutoModelForMultipleChoice)
