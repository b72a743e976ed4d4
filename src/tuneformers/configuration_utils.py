"""PretrainedConfig: a typed model configuration that round-trips HF config.json files.

No-torch layer: imports only the standard library.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from .constants import CONFIG_NAME
from .typed_dataclass import ConfigFileError, check_field_types, check_known_keywords
from .utils import get_logger

PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


def infer_problem_type(problem_type: str | None, num_labels: int, integer_labels: bool | None = None) -> str | None:
    """The loss a sequence-classification head computes: ``problem_type`` when set; else one output means
    regression, and several outputs mean single-label classification for integer labels and multi-label
    for float (0/1 per label) ones. None while it still depends on labels not seen yet.

    The one rule for PyTorch heads, TensorFlow heads and ``tuneformers evaluate``.
    """
    if problem_type is not None:
        return problem_type
    if num_labels == 1:
        return "regression"
    if integer_labels is None:
        return None
    return "single_label_classification" if integer_labels else "multi_label_classification"


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
    finetuning_task: str | None = None
    """Name of the task this checkpoint was fine-tuned on (informational, as HF scripts record it)."""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """config.json keys that no field declares, preserved as they were."""

    def __post_init__(self) -> None:
        check_field_types(self)
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
        if "num_classes" in overrides and "num_labels" not in overrides:
            get_logger(__name__).info("num_classes is read as num_labels (the name the config uses).")
            overrides = {("num_labels" if key == "num_classes" else key): value for key, value in overrides.items()}
        check_known_keywords(overrides, cls.field_names(), f"{cls.__name__} field")
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
        except TypeError as error:
            raise ConfigFileError(f"{path}: {error} Fix the file.") from error
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error

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
