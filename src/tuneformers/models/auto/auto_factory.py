"""The factory behind the Auto model classes of both frameworks: model_type -> class, resolved lazily. No torch.

``modeling_auto.py`` (PyTorch) and ``modeling_tf_auto.py`` (TensorFlow) each list their families
(model_type -> module under tuneformers.models, class-name prefix), expand them with ``task_mapping_names`` into
task -> model_type -> (module, class name), and subclass ``AutoModelFactory`` once per task.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any, ClassVar

from ...hub import split_hub_kwargs
from .configuration_auto import AutoConfig, LazyMapping, config_class_for


TASK_CLASS_SUFFIXES = {"base": "Model", "sequence-classification": "ForSequenceClassification",
                       "token-classification": "ForTokenClassification", "question-answering": "ForQuestionAnswering",
                       "masked-lm": "ForMaskedLM", "multiple-choice": "ForMultipleChoice"}


def task_mapping_names(families: dict[str, tuple[str, str]]) -> dict[str, dict[str, tuple[str, str]]]:
    """model_type -> (module, class-name prefix), for families with a class for every task ->
    task -> model_type -> (module, class name), e.g. "masked-lm" -> "bert" -> ("bert.modeling_bert", "BertForMaskedLM")."""
    return {task: {model_type: (module, prefix + suffix) for model_type, (module, prefix) in families.items()}
            for task, suffix in TASK_CLASS_SUFFIXES.items()}


class AutoModelFactory:
    task: ClassVar[str]
    mapping_names: ClassVar[dict[str, dict[str, tuple[str, str]]]]

    def __init__(self) -> None:
        raise TypeError(f"{type(self).__name__} is a factory: use .from_pretrained(...) or .from_config(config).")

    @classmethod
    def model_class_for(cls, model_type: str) -> type:
        mapping = cls.mapping_names[cls.task]
        if model_type not in mapping:
            raise ValueError(f"{cls.__name__} has no model for model_type={model_type!r}; supported: {sorted(mapping)}.")
        module_name, class_name = mapping[model_type]
        return getattr(importlib.import_module(f"tuneformers.models.{module_name}"), class_name)

    @classmethod
    def from_config(cls, config: Any) -> Any:
        return cls.model_class_for(config.model_type)(config)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> Any:
        config = kwargs.get("config")
        if config is None:
            hub_kwargs, _ = split_hub_kwargs(kwargs)
            config = AutoConfig.from_pretrained(name_or_path, **hub_kwargs)
        return cls.model_class_for(config.model_type).from_pretrained(name_or_path, **kwargs)


def model_mapping(factory: type[AutoModelFactory]) -> Mapping[type, type]:
    """config class -> model class of ``factory``'s task: the shape of HF's MODEL_FOR_*_MAPPING."""
    names = factory.mapping_names[factory.task]
    return LazyMapping(lambda: [config_class_for(model_type) for model_type in names],
                       lambda config_class: factory.model_class_for(config_class.model_type))
