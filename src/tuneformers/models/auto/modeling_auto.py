"""Auto model classes: pick the model class from the config's model_type."""

from __future__ import annotations

from .auto_factory import AutoModelFactory, model_mapping

# task -> model_type -> (module under tuneformers.models, class name)
MODEL_MAPPING_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "base": {
        "bert": ("bert.modeling_bert", "BertModel"),
        "roberta": ("roberta.modeling_roberta", "RobertaModel"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaModel"),
        "camembert": ("camembert.modeling_camembert", "CamembertModel"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertModel"),
        "electra": ("electra.modeling_electra", "ElectraModel"),
    },
    "sequence-classification": {
        "bert": ("bert.modeling_bert", "BertForSequenceClassification"),
        "roberta": ("roberta.modeling_roberta", "RobertaForSequenceClassification"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaForSequenceClassification"),
        "camembert": ("camembert.modeling_camembert", "CamembertForSequenceClassification"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertForSequenceClassification"),
        "electra": ("electra.modeling_electra", "ElectraForSequenceClassification"),
    },
    "token-classification": {
        "bert": ("bert.modeling_bert", "BertForTokenClassification"),
        "roberta": ("roberta.modeling_roberta", "RobertaForTokenClassification"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaForTokenClassification"),
        "camembert": ("camembert.modeling_camembert", "CamembertForTokenClassification"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertForTokenClassification"),
        "electra": ("electra.modeling_electra", "ElectraForTokenClassification"),
    },
    "question-answering": {
        "bert": ("bert.modeling_bert", "BertForQuestionAnswering"),
        "roberta": ("roberta.modeling_roberta", "RobertaForQuestionAnswering"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaForQuestionAnswering"),
        "camembert": ("camembert.modeling_camembert", "CamembertForQuestionAnswering"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertForQuestionAnswering"),
        "electra": ("electra.modeling_electra", "ElectraForQuestionAnswering"),
    },
    "masked-lm": {
        "bert": ("bert.modeling_bert", "BertForMaskedLM"),
        "roberta": ("roberta.modeling_roberta", "RobertaForMaskedLM"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaForMaskedLM"),
        "camembert": ("camembert.modeling_camembert", "CamembertForMaskedLM"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertForMaskedLM"),
        "electra": ("electra.modeling_electra", "ElectraForMaskedLM"),
    },
    "multiple-choice": {
        "bert": ("bert.modeling_bert", "BertForMultipleChoice"),
        "roberta": ("roberta.modeling_roberta", "RobertaForMultipleChoice"),
        "xlm-roberta": ("xlm_roberta.modeling_xlm_roberta", "XLMRobertaForMultipleChoice"),
        "camembert": ("camembert.modeling_camembert", "CamembertForMultipleChoice"),
        "distilbert": ("distilbert.modeling_distilbert", "DistilBertForMultipleChoice"),
        "electra": ("electra.modeling_electra", "ElectraForMultipleChoice"),
    },
}
TASK_CLASS_SUFFIXES = {"base": "Model", "sequence-classification": "ForSequenceClassification",
                       "token-classification": "ForTokenClassification", "question-answering": "ForQuestionAnswering",
                       "masked-lm": "ForMaskedLM", "multiple-choice": "ForMultipleChoice"}
# families with every task: model_type -> (module under tuneformers.models, class-name prefix)
FAMILY_MODULES: dict[str, tuple[str, str]] = {
    "mpnet": ("mpnet.modeling_mpnet", "MPNet"),
    "deberta-v2": ("deberta_v2.modeling_deberta_v2", "DebertaV2"),
    "modernbert": ("modernbert.modeling_modernbert", "ModernBert"),
}
for _model_type, (_module, _prefix) in FAMILY_MODULES.items():
    for _task, _suffix in TASK_CLASS_SUFFIXES.items():
        MODEL_MAPPING_NAMES[_task][_model_type] = (_module, _prefix + _suffix)


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
