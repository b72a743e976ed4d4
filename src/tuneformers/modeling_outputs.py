"""Model output containers: the loss comes first when labels are given.

``outputs.loss`` and ``outputs[0]`` both work. Integer and slice indexing skip fields that
are None, so ``outputs[0]`` is the loss when labels were passed and the logits otherwise,
and ``loss, logits = outputs[:2]`` reads as it would on a tuple.

No framework is imported here: the TensorFlow outputs subclass ``ModelOutput`` too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the TF models share ModelOutput, so this module imports no framework
    import torch


@dataclasses.dataclass
class ModelOutput:
    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(value for value in (getattr(self, f.name) for f in dataclasses.fields(self)) if value is not None)

    def keys(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is not None]

    def __getitem__(self, key: int | slice | str) -> Any:
        if isinstance(key, str):
            if key not in self.keys():
                raise KeyError(f"{type(self).__name__} has no field {key!r} set; set fields: {self.keys()}")
            return getattr(self, key)
        return self.to_tuple()[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.to_tuple())

    def __len__(self) -> int:
        return len(self.to_tuple())


@dataclasses.dataclass
class BaseModelOutputWithPooling(ModelOutput):
    last_hidden_state: torch.Tensor | None = None
    pooler_output: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclasses.dataclass
class SequenceClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


@dataclasses.dataclass
class TokenClassifierOutput(SequenceClassifierOutput):
    pass


@dataclasses.dataclass
class MultipleChoiceModelOutput(SequenceClassifierOutput):
    pass


@dataclasses.dataclass
class MaskedLMOutput(SequenceClassifierOutput):
    pass


@dataclasses.dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    loss: torch.Tensor | None = None
    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
