"""CamembertConfig: RoBERTa's architecture under model_type "camembert". No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..roberta.configuration_roberta import RobertaConfig


@dataclasses.dataclass(eq=False)
class CamembertConfig(RobertaConfig):
    model_type: ClassVar[str] = "camembert"

    vocab_size: int = 30522
