"""TensorFlow Auto model classes: pick the TF model class from the config's model_type."""

from __future__ import annotations

from .auto_factory import AutoModelFactory, model_mapping, task_mapping_names

# model_type -> (module under tuneformers.models, class-name prefix); every family has every task's class
TF_FAMILY_MODULES: dict[str, tuple[str, str]] = {
    "bert": ("bert.modeling_tf_bert", "TFBert"),
    "roberta": ("roberta.modeling_tf_roberta", "TFRoberta"),
    "distilbert": ("distilbert.modeling_tf_distilbert", "TFDistilBert"),
}
TF_MODEL_MAPPING_NAMES = task_mapping_names(TF_FAMILY_MODULES)


class _TFAutoModel(AutoModelFactory):
    mapping_names = TF_MODEL_MAPPING_NAMES


class TFAutoModel(_TFAutoModel):
    task = "base"


class TFAutoModelForSequenceClassification(_TFAutoModel):
    task = "sequence-classification"


class TFAutoModelForTokenClassification(_TFAutoModel):
    task = "token-classification"


class TFAutoModelForQuestionAnswering(_TFAutoModel):
    task = "question-answering"


class TFAutoModelForMaskedLM(_TFAutoModel):
    task = "masked-lm"


class TFAutoModelForMultipleChoice(_TFAutoModel):
    task = "multiple-choice"


class TFAutoModelWithLMHead(TFAutoModelForMaskedLM):
    """The v3 name of TFAutoModelForMaskedLM for encoders."""


TF_MODEL_MAPPING = model_mapping(TFAutoModel)
TF_MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING = model_mapping(TFAutoModelForSequenceClassification)
TF_MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING = model_mapping(TFAutoModelForTokenClassification)
TF_MODEL_FOR_QUESTION_ANSWERING_MAPPING = model_mapping(TFAutoModelForQuestionAnswering)
TF_MODEL_FOR_MASKED_LM_MAPPING = model_mapping(TFAutoModelForMaskedLM)
TF_MODEL_WITH_LM_HEAD_MAPPING = TF_MODEL_FOR_MASKED_LM_MAPPING
TF_MODEL_FOR_MULTIPLE_CHOICE_MAPPING = model_mapping(TFAutoModelForMultipleChoice)
