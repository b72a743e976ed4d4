"""ElectraConfig: BERT's hyper-parameters plus ELECTRA's embedding size and multiple-choice summary. No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ...activations import check_activation
from ..bert.configuration_bert import BertConfig


@dataclasses.dataclass(eq=False)
class ElectraConfig(BertConfig):
    """ELECTRA architecture (discriminator or generator). Defaults are HF's (electra-small-discriminator's sizes)."""

    model_type: ClassVar[str] = "electra"

    embedding_size: int = 128
    """Width of the embeddings; projected to hidden_size (``embeddings_project``) when they differ."""
    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    summary_type: str = "first"
    """Which token summarises a choice for multiple choice (only "first" is supported)."""
    summary_use_proj: bool = True
    summary_activation: str | None = "gelu"
    summary_last_dropout: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.embedding_size < 1:
            raise ValueError(f"ElectraConfig.embedding_size must be a positive integer, got {self.embedding_size}.")
        if self.summary_type != "first":
            raise ValueError(f"summary_type={self.summary_type!r} is not supported; tuneformers' ELECTRA uses 'first'.")
        if self.summary_activation is not None:
            check_activation(self.summary_activation)
        if not 0.0 <= self.summary_last_dropout < 1.0:
            raise ValueError(f"ElectraConfig.summary_last_dropout must be in [0, 1), got {self.summary_last_dropout}.")
