"""AutoConfig: pick the config class from config.json's model_type. No torch."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ...configuration_utils import PretrainedConfig
from ...typed_dataclass import ConfigFileError
from ...constants import CONFIG_NAME
from ...hub import resolve_model_dir, split_hub_kwargs

# model_type -> (module under tuneformers.models, config class name)
CONFIG_MAPPING_NAMES: dict[str, tuple[str, str]] = {
    "bert": ("bert.configuration_bert", "BertConfig"),
    "roberta": ("roberta.configuration_roberta", "RobertaConfig"),
    "xlm-roberta": ("xlm_roberta.configuration_xlm_roberta", "XLMRobertaConfig"),
    "camembert": ("camembert.configuration_camembert", "CamembertConfig"),
    "distilbert": ("distilbert.configuration_distilbert", "DistilBertConfig"),
    "electra": ("electra.configuration_electra", "ElectraConfig"),
    "mpnet": ("mpnet.configuration_mpnet", "MPNetConfig"),
    "deberta-v2": ("deberta_v2.configuration_deberta_v2", "DebertaV2Config"),
    "modernbert": ("modernbert.configuration_modernbert", "ModernBertConfig"),
}


def config_class_for(model_type: str | None) -> type[PretrainedConfig]:
    if model_type not in CONFIG_MAPPING_NAMES:
        raise ValueError(
            f"model_type={model_type!r} is not supported by tuneformers; supported: {sorted(CONFIG_MAPPING_NAMES)}."
        )
    module_name, class_name = CONFIG_MAPPING_NAMES[model_type]
    return getattr(importlib.import_module(f"tuneformers.models.{module_name}"), class_name)


class LazyMapping(Mapping):
    """A read-only mapping whose values are resolved (imported) only when looked up."""

    def __init__(self, keys: Callable[[], Iterable[Any]], resolve: Callable[[Any], Any]):
        self._keys, self._resolve = keys, resolve

    def __getitem__(self, key: Any) -> Any:
        if key not in set(self._keys()):
            raise KeyError(key)
        return self._resolve(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._keys()))

    def __len__(self) -> int:
        return len(list(self._keys()))


CONFIG_MAPPING: Mapping[str, type[PretrainedConfig]] = LazyMapping(lambda: CONFIG_MAPPING_NAMES, config_class_for)
"""model_type -> config class, as HF scripts use it (``CONFIG_MAPPING["bert"]()``, ``CONFIG_MAPPING.keys()``)."""


class AutoConfig:
    """``AutoConfig.from_pretrained(name_or_dir)`` returns e.g. a BertConfig; ``AutoConfig.for_model("bert")`` a new one."""

    def __init__(self) -> None:
        raise TypeError("AutoConfig is a factory: use AutoConfig.from_pretrained(...) or AutoConfig.for_model(...).")

    @staticmethod
    def for_model(model_type: str, **kwargs: Any) -> PretrainedConfig:
        return config_class_for(model_type)(**kwargs)

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, **kwargs: Any) -> PretrainedConfig:
        hub_kwargs, kwargs = split_hub_kwargs(kwargs)
        folder = resolve_model_dir(name_or_path, **hub_kwargs)
        path = folder / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"No {CONFIG_NAME} in {folder}. A model folder needs its config.json.")
        try:
            model_type = json.loads(path.read_text(encoding="utf-8")).get("model_type")
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"{path} is not a JSON object: {error}") from error
        if model_type is not None and not isinstance(model_type, str):
            raise ConfigFileError(f"{path}: model_type must be str, got {model_type!r} ({type(model_type).__name__}). "
                                  "Fix that value in the file.")
        return config_class_for(model_type).from_json_file(path, **kwargs)
