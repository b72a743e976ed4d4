"""RobertaConfig: BERT's hyper-parameters and defaults (as HF's), RoBERTa's vocabulary and special ids. No torch.

XLM-RoBERTa and CamemBERT use the same architecture under their own model_type (xlm_roberta/, camembert/).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ..bert.configuration_bert import BertConfig


@dataclasses.dataclass(eq=False)
class RobertaConfig(BertConfig):
    """RoBERTa architecture: BERT's fields; positions start after the padding id (``pad_token_id + 1``)."""

    model_type: ClassVar[str] = "roberta"

    vocab_size: int = 50265
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pad_token_id is None:
            raise ValueError(f"{type(self).__name__} needs a pad_token_id: RoBERTa numbers positions from it.")
        if self.pad_token_id + 2 > self.max_position_embeddings:
            raise ValueError(
                f"max_position_embeddings={self.max_position_embeddings} leaves no position for text: RoBERTa's positions "
                f"start at pad_token_id + 1 = {self.pad_token_id + 1}."
            )
