"""tuneformers: fine-tune pretrained transformers in PyTorch and TensorFlow.

The public names below are imported lazily: ``import tuneformers`` loads neither
torch nor tensorflow; the first use of a model, optimizer or trainer class does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# submodule (relative to this package) -> public names it defines.
# Each area owns its own line(s); add a name here when you add it to the public API.
_LAZY_IMPORTS: dict[str, list[str]] = {
    # no-torch layer
    "configuration_utils": ["PretrainedConfig"],
    "models.bert.configuration_bert": ["BertConfig"],
    "models.roberta.configuration_roberta": ["RobertaConfig"],
    "models.xlm_roberta.configuration_xlm_roberta": ["XLMRobertaConfig"],
    "models.camembert.configuration_camembert": ["CamembertConfig"],
    "models.distilbert.configuration_distilbert": ["DistilBertConfig"],
    "models.electra.configuration_electra": ["ElectraConfig"],
    "models.auto.configuration_auto": ["AutoConfig", "CONFIG_MAPPING"],
    "hf_argparser": ["HfArgumentParser"],
    "utils": ["is_torch_available", "is_tf_available", "logging"],
    "data.glue_dataset": ["GlueDataset", "GlueDataTrainingArguments"],
    "hub": ["resolve_model_dir"],
    "batch_encoding": ["BatchEncoding"],
    "tokenization_utils": ["PreTrainedTokenizerBase", "PreTrainedTokenizer"],
    "models.bert.tokenization_bert": ["BertTokenizer"],
    "models.bert.tokenization_bert_fast": ["BertTokenizerFast"],
    "tokenization_utils_fast": ["PreTrainedTokenizerFast"],
    "models.roberta.tokenization_roberta": ["RobertaTokenizer", "RobertaTokenizerFast"],
    "models.xlm_roberta.tokenization_xlm_roberta": ["XLMRobertaTokenizer", "XLMRobertaTokenizerFast"],
    "models.camembert.tokenization_camembert": ["CamembertTokenizer", "CamembertTokenizerFast"],
    "models.distilbert.tokenization_distilbert": ["DistilBertTokenizer", "DistilBertTokenizerFast"],
    "models.electra.tokenization_electra": ["ElectraTokenizer", "ElectraTokenizerFast"],
    "models.auto.tokenization_auto": ["AutoTokenizer"],
    "models.mpnet.configuration_mpnet": ["MPNetConfig"],
    "models.mpnet.tokenization_mpnet": ["MPNetTokenizer"],
    "models.mpnet.tokenization_mpnet_fast": ["MPNetTokenizerFast"],
    "models.deberta_v2.configuration_deberta_v2": ["DebertaV2Config"],
    "models.deberta_v2.tokenization_deberta_v2": ["DebertaV2Tokenizer"],
    "models.deberta_v2.tokenization_deberta_v2_fast": ["DebertaV2TokenizerFast"],
    "models.modernbert.configuration_modernbert": ["ModernBertConfig"],
    "data.processors.glue": [
        "InputExample",
        "InputFeatures",
        "DataProcessor",
        "glue_processors",
        "glue_output_modes",
        "glue_tasks_num_labels",
        "glue_convert_examples_to_features",
    ],
    "data.processors.squad": ["SquadExample", "SquadFeatures", "SquadV1Processor", "SquadV2Processor",
                              "squad_convert_examples_to_features"],
    "data.metrics": ["glue_compute_metrics", "simple_accuracy", "acc_and_f1", "pearson_and_spearman"],
    "data.readers": ["TextExample", "read_examples", "DataError", "DataFormatError"],
    "data.datasets": ["train_validation_split", "load_rotten_tomatoes", "load_lee_similarity"],
    "data.language_modeling": ["TextDataset", "LineByLineTextDataset", "group_texts", "read_texts"],
    "trainer.training_args": ["TrainingArguments"],
    "trainer_utils": ["EvalPrediction", "PredictionOutput", "TrainOutput", "get_last_checkpoint", "is_main_process"],
    "constants": ["CONFIG_NAME", "WEIGHTS_NAME", "SAFE_WEIGHTS_NAME", "TF_WEIGHTS_NAME"],
    "data.token_classification": ["TokenExample", "read_token_examples", "tokenize_and_align_labels", "entity_metrics"],
    "data.question_answering": ["QAExample", "read_qa_examples", "prepare_train_features",
                                "prepare_validation_features", "postprocess_qa_predictions", "squad_metrics"],
    "data.multiple_choice": ["ChoiceExample", "read_multiple_choice", "prepare_multiple_choice_features",
                             "DataCollatorForMultipleChoice"],
    # PyTorch layer
    "modeling_outputs": [
        "ModelOutput",
        "BaseModelOutputWithPooling",
        "SequenceClassifierOutput",
        "TokenClassifierOutput",
        "QuestionAnsweringModelOutput",
        "MaskedLMOutput",
        "MultipleChoiceModelOutput",
    ],
    "modeling_utils": ["PreTrainedModel"],
    "models.bert.modeling_bert": [
        "BertPreTrainedModel",
        "BertModel",
        "BertForSequenceClassification",
        "BertForTokenClassification",
        "BertForQuestionAnswering",
        "BertForMaskedLM",
        "BertForMultipleChoice",
    ],
    "models.roberta.modeling_roberta": [
        "RobertaPreTrainedModel",
        "RobertaModel",
        "RobertaForSequenceClassification",
        "RobertaForTokenClassification",
        "RobertaForQuestionAnswering",
        "RobertaForMaskedLM",
        "RobertaForMultipleChoice",
    ],
    "models.xlm_roberta.modeling_xlm_roberta": [
        "XLMRobertaModel",
        "XLMRobertaForSequenceClassification",
        "XLMRobertaForTokenClassification",
        "XLMRobertaForQuestionAnswering",
        "XLMRobertaForMaskedLM",
        "XLMRobertaForMultipleChoice",
    ],
    "models.camembert.modeling_camembert": [
        "CamembertModel",
        "CamembertForSequenceClassification",
        "CamembertForTokenClassification",
        "CamembertForQuestionAnswering",
        "CamembertForMaskedLM",
        "CamembertForMultipleChoice",
    ],
    "models.distilbert.modeling_distilbert": [
        "DistilBertPreTrainedModel",
        "DistilBertModel",
        "DistilBertForSequenceClassification",
        "DistilBertForTokenClassification",
        "DistilBertForQuestionAnswering",
        "DistilBertForMaskedLM",
        "DistilBertForMultipleChoice",
    ],
    "models.electra.modeling_electra": [
        "ElectraPreTrainedModel",
        "ElectraModel",
        "ElectraForSequenceClassification",
        "ElectraForTokenClassification",
        "ElectraForQuestionAnswering",
        "ElectraForMaskedLM",
        "ElectraForMultipleChoice",
        "ElectraForPreTraining",
    ],
    "models.mpnet.modeling_mpnet": ["MPNetPreTrainedModel", "MPNetModel", "MPNetForSequenceClassification",
                                    "MPNetForTokenClassification", "MPNetForQuestionAnswering", "MPNetForMaskedLM",
                                    "MPNetForMultipleChoice"],
    "models.deberta_v2.modeling_deberta_v2": ["DebertaV2PreTrainedModel", "DebertaV2Model",
                                              "DebertaV2ForSequenceClassification", "DebertaV2ForTokenClassification",
                                              "DebertaV2ForQuestionAnswering", "DebertaV2ForMaskedLM",
                                              "DebertaV2ForMultipleChoice"],
    "models.modernbert.modeling_modernbert": ["ModernBertPreTrainedModel", "ModernBertModel",
                                              "ModernBertForSequenceClassification", "ModernBertForTokenClassification",
                                              "ModernBertForQuestionAnswering", "ModernBertForMaskedLM",
                                              "ModernBertForMultipleChoice"],
    "models.auto.modeling_auto": [
        "AutoModel",
        "AutoModelForSequenceClassification",
        "AutoModelForTokenClassification",
        "AutoModelForQuestionAnswering",
        "AutoModelForMaskedLM",
        "AutoModelForMultipleChoice",
        "AutoModelWithLMHead",
        "MODEL_MAPPING",
        "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING",
        "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING",
        "MODEL_FOR_QUESTION_ANSWERING_MAPPING",
        "MODEL_FOR_MASKED_LM_MAPPING",
        "MODEL_WITH_LM_HEAD_MAPPING",
        "MODEL_FOR_MULTIPLE_CHOICE_MAPPING",
    ],
    "optimization": [
        "AdamW",
        "get_parameter_groups",
        "get_constant_schedule",
        "get_constant_schedule_with_warmup",
        "get_linear_schedule_with_warmup",
        "get_cosine_schedule_with_warmup",
        "get_cosine_with_hard_restarts_schedule_with_warmup",
        "get_polynomial_decay_schedule_with_warmup",
        "get_scheduler",
    ],
    "data.data_collator": [
        "DataCollator",
        "default_data_collator",
        "DataCollatorWithPadding",
        "DataCollatorForTokenClassification",
        "DataCollatorForLanguageModeling",
        "DataCollatorForWholeWordMask",
    ],
    "data.torch_dataset": ["FeaturesDataset"],
    "trainer.trainer": ["Trainer"],
    "trainer.mlm_metrics": ["compute_mlm_metrics", "mlm_logits_for_metrics"],
    "trainer.callbacks": ["TrainerCallback", "TrainerState", "TrainerControl", "EarlyStoppingCallback"],
    "trainer.utils": ["set_seed"],
    "pipelines": ["pipeline"],
    # TensorFlow layer
    "models.bert.modeling_tf_bert": [
        "TFBertModel",
        "TFBertForSequenceClassification",
        "TFBertForTokenClassification",
        "TFBertForQuestionAnswering",
        "TFBertForMaskedLM",
        "TFBertForMultipleChoice",
    ],
    "models.roberta.modeling_tf_roberta": [
        "TFRobertaModel",
        "TFRobertaForSequenceClassification",
        "TFRobertaForTokenClassification",
        "TFRobertaForQuestionAnswering",
        "TFRobertaForMaskedLM",
        "TFRobertaForMultipleChoice",
    ],
    "models.distilbert.modeling_tf_distilbert": [
        "TFDistilBertModel",
        "TFDistilBertForSequenceClassification",
        "TFDistilBertForTokenClassification",
        "TFDistilBertForQuestionAnswering",
        "TFDistilBertForMaskedLM",
        "TFDistilBertForMultipleChoice",
    ],
    "optimization_tf": ["create_optimizer", "AdamWeightDecay", "WarmUp"],
    "models.auto.modeling_tf_auto": [
        "TFAutoModel",
        "TFAutoModelForSequenceClassification",
        "TFAutoModelForTokenClassification",
        "TFAutoModelForQuestionAnswering",
        "TFAutoModelForMaskedLM",
        "TFAutoModelForMultipleChoice",
        "TFAutoModelWithLMHead",
    ],
    "trainer_tf": ["TFTrainer", "TFTrainingArguments"],
}

_NAME_TO_MODULE = {name: module for module, names in _LAZY_IMPORTS.items() for name in names}

__all__ = sorted(_NAME_TO_MODULE)


def __getattr__(name: str) -> Any:
    module_name = _NAME_TO_MODULE.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tuneformers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .configuration_utils import PretrainedConfig
    from .modeling_utils import PreTrainedModel
    from .models.bert.configuration_bert import BertConfig
    from .models.bert.modeling_bert import BertForSequenceClassification, BertModel
