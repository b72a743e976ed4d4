"""Auto model classes: pick the model class from the config's model_type."""

from __future__ import annotations

import importlib
import os
from typing import Any, ClassVar

from ...configuration_utils import PretrainedConfig
from ...hub import split_hub_kwargs
from ...modeling_utils import PreTrainedModel
from .configuration_auto import AutoConfig

# task -> model_type -> (module under tuneformers.models, class name)
MODEL_MAPPING_NAMES: dict[str, dict[str, tuple[str, str]]] = {
    "base": {"bert": ("bert.modeling_bert", "BertModel")},
    "sequence-classification": {"bert": ("bert.modeling_bert", "BertForSequenceClassification")},
    "token-classification": {"bert": ("bert.modeling_bert", "BertForTokenClassification")},
    "question-answering": {"bert": ("bert.modeling_bert", "BertForQuestionAnswering")},
    "masked-lm": {"bert": ("bert.modeling_bert", "BertForMaskedLM")},
    "multiple-choice": {"bert": ("bert.modeling_bert", "BertForMultipleChoice")},
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


class _AutoModel:
    task: ClassVar[str]

    def __init__(self) -> None:
        raise TypeError(f"{type(self).__name__} is a factory: use .from_pretrained(...) or .from_config(config).")

    @classmethod
    def model_class_for(cls, model_type: str) -> type[PreTrainedModel]:
        mapping = MODEL_MAPPING_NAMES[cls.task]
        if model_type not in mapping:
            raise ValueError(f"{cls.__name__} has no model for model_type={model_type!r}; supported: {sorted(mapping)}.")
        module_name, class_name = mapping[model_type]
        return getattr(importlib.import_module(f"tuneformers.models.{module_name}"), class_name)

    @classmethod
    def from_config(cls, config: PretrainedConfig) -> PreTrainedModel:
        return cls.model_class_for(config.model_type)(config)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> PreTrainedModel:
        config = kwargs.get("config")
        if config is None:
            hub_kwargs, _ = split_hub_kwargs(kwargs)
            config = AutoConfig.from_pretrained(name_or_path, **hub_kwargs)
        return cls.model_class_for(config.model_type).from_pretrained(name_or_path, **kwargs)


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
