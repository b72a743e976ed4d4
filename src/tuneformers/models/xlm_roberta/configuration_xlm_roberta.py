"""XLMRobertaConfig: RoBERTa's architecture under model_type "xlm-roberta". No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..roberta.configuration_roberta import RobertaConfig


@dataclasses.dataclass(eq=False)
class XLMRobertaConfig(RobertaConfig):
    model_type: ClassVar[str] = "xlm-roberta"

    vocab_size: int = 30522
