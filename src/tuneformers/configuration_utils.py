"""PretrainedConfig: a typed model configuration that round-trips HF config.json files.

No-torch layer: imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

CONFIG_NAME = "config.json"
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


@dataclasses.dataclass
class PretrainedConfig:
    """Fields shared by every model family.

    Subclasses add their own typed fields and set ``model_type``. Keys found in a
    config.json that no field declares are kept in ``extra`` and written back on save,
    so a file written by HF transformers survives a load/save round trip unchanged.
    """

    model_type: ClassVar[str] = ""

    num_labels: int | None = None
    """Number of outputs of a classification or regression head. Defaults to len(id2label), else 2."""
    id2label: dict[int, str] | None = None
    """Label names by class index; generated as LABEL_0..LABEL_{n-1} when not given."""
    label2id: dict[str, int] | None = None
    """Inverse of id2label; derived when not given."""
    problem_type: str | None = None
    """regression, single_label_classification or multi_label_classification; None infers it from the labels."""
    architectures: list[str] | None = None
    """Model class names this checkpoint was saved from (written by save_pretrained)."""
    pad_token_id: int | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """config.json keys that no field declares, preserved as they were."""

    def __post_init__(self) -> None:
        self._check_field_types()
        if self.id2label is not None:
            self.id2label = {int(index): str(label) for index, label in self.id2label.items()}
            if self.num_labels is not None and self.num_labels != len(self.id2label):
                raise ValueError(
                    f"num_labels={self.num_labels} disagrees with id2label, which has {len(self.id2label)} "
                    f"entries {self.id2label}. Pass only one of them, or make them agree."
                )
            if sorted(self.id2label) != list(range(len(self.id2label))):
                raise ValueError(f"id2label keys must be 0..{len(self.id2label) - 1}, got {sorted(self.id2label)}.")
            self.num_labels = len(self.id2label)
        else:
            if self.num_labels is None:
                self.num_labels = len(self.label2id) if self.label2id else 2
            if self.label2id is not None and len(self.label2id) == self.num_labels:
                self.id2label = {int(index): label for label, index in self.label2id.items()}
            else:
                self.id2label = {index: f"LABEL_{index}" for index in range(self.num_labels)}
        if self.num_labels < 1:
            raise ValueError(f"num_labels must be at least 1, got {self.num_labels}.")
        self.label2id = {label: index for index, label in self.id2label.items()}
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type={self.problem_type!r} is not one of {PROBLEM_TYPES} (or None to infer it).")

    # ---- typed fields -------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]

    def _check_field_types(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            coerced = _coerce(value, hints[field.name])
            if coerced is _MISMATCH:
                raise TypeError(
                    f"{type(self).__name__}.{field.name} must be {_describe(hints[field.name])}, "
                    f"got {value!r} ({type(value).__name__})."
                )
            setattr(self, field.name, coerced)

    # ---- dict / JSON --------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **overrides: Any) -> PretrainedConfig:
        """Build from a config.json dict. Unknown file keys go to ``extra``; unknown overrides are an error."""
        known = set(cls.field_names())
        file_model_type = config_dict.get("model_type")
        if cls.model_type and file_model_type and file_model_type != cls.model_type:
            raise ValueError(
                f"This config has model_type={file_model_type!r} but {cls.__name__} reads {cls.model_type!r} configs. "
                "Use AutoConfig / the Auto model classes to pick the right class."
            )
        kwargs = {key: value for key, value in config_dict.items() if key in known}
        extra = {key: value for key, value in config_dict.items() if key not in known and key != "model_type"}
        kwargs.update(cls._checked_overrides(overrides))
        if "num_labels" in overrides and "id2label" not in overrides:
            if kwargs.get("id2label") is not None and len(kwargs["id2label"]) != overrides["num_labels"]:
                kwargs["id2label"] = None
                kwargs["label2id"] = None
        if "id2label" in overrides and "label2id" not in overrides:
            kwargs["label2id"] = None
        extra.pop("num_labels", None)
        return cls(**kwargs, extra=extra)

    @classmethod
    def _checked_overrides(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        known = cls.field_names()
        for key in overrides:
            if key not in known:
                raise TypeError(unknown_keyword_message(key, known, f"{cls.__name__} field"))
        return overrides

    def to_dict(self) -> dict[str, Any]:
        """The config.json content, in the layout HF transformers writes and reads."""
        output: dict[str, Any] = dict(self.extra)
        for name in self.field_names():
            if name == "num_labels":
                continue  # implied by id2label, as HF writes it
            output[name] = getattr(self, name)
        output["id2label"] = {str(index): label for index, label in self.id2label.items()}
        output["model_type"] = self.model_type
        return dict(sorted(output.items()))

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json_file(cls, path: str | os.PathLike, **overrides: Any) -> PretrainedConfig:
        path = Path(path)
        try:
            config_dict = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"{path} is not valid JSON ({error}). Re-save the config or fix the file.") from error
        if not isinstance(config_dict, dict):
            raise ValueError(f"{path} must hold a JSON object, found {type(config_dict).__name__}.")
        try:
            return cls.from_dict(config_dict, **overrides)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{path}: {error}") from error

    # ---- folders ------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs: Any) -> PretrainedConfig:
        """Load config.json from a folder, the HF cache, a packaged model or the hub. kwargs override fields."""
        from .hub import resolve_model_dir, split_hub_kwargs

        hub_kwargs, kwargs = split_hub_kwargs(kwargs)
        folder = resolve_model_dir(name_or_path, **hub_kwargs)
        config_path = folder / CONFIG_NAME
        if not config_path.is_file():
            raise FileNotFoundError(f"No {CONFIG_NAME} in {folder}. A model folder needs its config.json beside the weights.")
        return cls.from_json_file(config_path, **kwargs)

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        from .utils import atomic_write_text

        folder = Path(save_directory)
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(f"save_pretrained needs a folder, but {folder} is a file.")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CONFIG_NAME
        atomic_write_text(path, self.to_json_string())
        return path

    def update(self, **changes: Any) -> None:
        """Change fields in place, with the same checks and label handling as from_dict overrides."""
        updated = type(self).from_dict(self.to_dict(), **changes)
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(updated, field.name))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]


def unknown_keyword_message(key: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown keyword {key!r}: it is not a {what}.{hint}"


_MISMATCH = object()


def _coerce(value: Any, annotation: Any) -> Any:
    """Return value if it fits annotation (ints accepted as floats, JSON lists as lists), else _MISMATCH."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(annotation):
            return None
        for option in typing.get_args(annotation):
            if option is type(None):
                continue
            coerced = _coerce(value, option)
            if coerced is not _MISMATCH:
                return coerced
        return _MISMATCH
    if annotation is Any:
        return value
    if annotation is bool:
        return value if isinstance(value, bool) else _MISMATCH
    if annotation is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISMATCH
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return _MISMATCH
    if annotation is str:
        return value if isinstance(value, str) else _MISMATCH
    if origin is dict or annotation is dict:
        return value if isinstance(value, dict) else _MISMATCH
    if origin is list or annotation is list:
        return list(value) if isinstance(value, (list, tuple)) else _MISMATCH
    return value


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    return getattr(origin or annotation, "__name__", str(annotation))
