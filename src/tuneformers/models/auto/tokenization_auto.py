"""AutoTokenizer: pick the tokenizer class from tokenizer_config.json or config.json. No torch."""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

from ...hub import resolve_model_dir, split_hub_kwargs
from ...constants import CONFIG_NAME, TOKENIZER_CONFIG_NAME
from ...tokenization_utils import PreTrainedTokenizerBase
from ...typed_dataclass import ConfigFileError

# model_type or tokenizer class name -> (slow, fast) as (module under tuneformers.models, class name)
TOKENIZER_MAPPING_NAMES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "bert": (("bert.tokenization_bert", "BertTokenizer"), ("bert.tokenization_bert_fast", "BertTokenizerFast")),
    "roberta": (("roberta.tokenization_roberta", "RobertaTokenizer"), ("roberta.tokenization_roberta", "RobertaTokenizerFast")),
    "xlm-roberta": (("xlm_roberta.tokenization_xlm_roberta", "XLMRobertaTokenizer"),
                    ("xlm_roberta.tokenization_xlm_roberta", "XLMRobertaTokenizerFast")),
    "camembert": (("camembert.tokenization_camembert", "CamembertTokenizer"),
                  ("camembert.tokenization_camembert", "CamembertTokenizerFast")),
    "distilbert": (("distilbert.tokenization_distilbert", "DistilBertTokenizer"),
                   ("distilbert.tokenization_distilbert", "DistilBertTokenizerFast")),
    "electra": (("electra.tokenization_electra", "ElectraTokenizer"), ("electra.tokenization_electra", "ElectraTokenizerFast")),
    "mpnet": (("mpnet.tokenization_mpnet", "MPNetTokenizer"), ("mpnet.tokenization_mpnet_fast", "MPNetTokenizerFast")),
}
TOKENIZER_CLASS_TO_MODEL_TYPE = {"BertTokenizer": "bert", "BertTokenizerFast": "bert"}
TOKENIZER_CLASS_TO_MODEL_TYPE["RobertaTokenizer"] = TOKENIZER_CLASS_TO_MODEL_TYPE["RobertaTokenizerFast"] = "roberta"
TOKENIZER_CLASS_TO_MODEL_TYPE["XLMRobertaTokenizer"] = TOKENIZER_CLASS_TO_MODEL_TYPE["XLMRobertaTokenizerFast"] = "xlm-roberta"
TOKENIZER_CLASS_TO_MODEL_TYPE["CamembertTokenizer"] = TOKENIZER_CLASS_TO_MODEL_TYPE["CamembertTokenizerFast"] = "camembert"
TOKENIZER_CLASS_TO_MODEL_TYPE["DistilBertTokenizer"] = TOKENIZER_CLASS_TO_MODEL_TYPE["DistilBertTokenizerFast"] = "distilbert"
TOKENIZER_CLASS_TO_MODEL_TYPE["ElectraTokenizer"] = TOKENIZER_CLASS_TO_MODEL_TYPE["ElectraTokenizerFast"] = "electra"
TOKENIZER_MAPPING_NAMES["deberta-v2"] = (("deberta_v2.tokenization_deberta_v2", "DebertaV2Tokenizer"),
                                         ("deberta_v2.tokenization_deberta_v2_fast", "DebertaV2TokenizerFast"))
TOKENIZER_MAPPING_NAMES["PreTrainedTokenizerFast"] = (("tokenization_utils_fast", "PreTrainedTokenizerFast"),) * 2
TOKENIZER_MAPPING_NAMES["modernbert"] = TOKENIZER_MAPPING_NAMES["PreTrainedTokenizerFast"]
TOKENIZER_CLASS_TO_MODEL_TYPE.update({"MPNetTokenizer": "mpnet", "MPNetTokenizerFast": "mpnet"})
TOKENIZER_CLASS_TO_MODEL_TYPE.update({"DebertaV2Tokenizer": "deberta-v2", "DebertaV2TokenizerFast": "deberta-v2"})
TOKENIZER_CLASS_TO_MODEL_TYPE.update({"PreTrainedTokenizerFast": "PreTrainedTokenizerFast",  # HF 5 writes the same
                                      "TokenizersBackend": "PreTrainedTokenizerFast"})


def _read_json(path) -> dict:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return content if isinstance(content, dict) else {}


def _read_text_value(path, key: str) -> str | None:
    value = _read_json(path).get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigFileError(f"{path}: {key} must be str, got {value!r} ({type(value).__name__}). Fix that value in the file.")
    return value


class AutoTokenizer:
    """``AutoTokenizer.from_pretrained(name_or_dir)`` returns a BertTokenizerFast (or BertTokenizer with use_fast=False)."""

    def __init__(self) -> None:
        raise TypeError("AutoTokenizer is a factory: use AutoTokenizer.from_pretrained(...).")

    @staticmethod
    def from_pretrained(name_or_path: str | os.PathLike, use_fast: bool = True, **kwargs: Any) -> PreTrainedTokenizerBase:
        hub_kwargs, options = split_hub_kwargs(kwargs)
        folder = resolve_model_dir(name_or_path, **hub_kwargs)
        tokenizer_class = _read_text_value(folder / TOKENIZER_CONFIG_NAME, "tokenizer_class")
        model_type = TOKENIZER_CLASS_TO_MODEL_TYPE.get(tokenizer_class) or _read_text_value(folder / CONFIG_NAME, "model_type")
        if model_type not in TOKENIZER_MAPPING_NAMES:
            raise ValueError(
                f"Cannot tell which tokenizer {folder} needs (tokenizer_class={tokenizer_class!r}, "
                f"model_type={model_type!r}); tuneformers supports {sorted(TOKENIZER_MAPPING_NAMES)}."
            )
        module_name, class_name = TOKENIZER_MAPPING_NAMES[model_type][1 if use_fast else 0]
        package = "tuneformers" if "." not in module_name else "tuneformers.models"  # shared modules sit at the top
        cls = getattr(importlib.import_module(f"{package}.{module_name}"), class_name)
        return cls.from_pretrained(folder, **options)
