"""MPNetConfig: the hyper-parameters of an MPNet model, as in an HF config.json. No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ...activations import check_activation
from ...configuration_utils import PretrainedConfig
from ...typed_dataclass import ProblemList


@dataclasses.dataclass(eq=False)
class MPNetConfig(PretrainedConfig):
    """MPNet architecture: BERT layers with a learned relative-position bias shared by all layers.
    Defaults are microsoft/mpnet-base."""

    model_type: ClassVar[str] = "mpnet"

    vocab_size: int = 30527
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 514
    """Positions count from pad_token_id + 1, so 514 positions hold 512 tokens."""
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    relative_attention_num_buckets: int = 32
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        problems = ProblemList("MPNetConfig")
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "relative_attention_num_buckets"):
            problems.check(getattr(self, name) >= 1, f"{name} must be a positive integer, got {getattr(self, name)}.")
        problems.check(self.hidden_size % max(self.num_attention_heads, 1) == 0,
                       f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}.")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            problems.check(0.0 <= getattr(self, name) < 1.0, f"{name} must be in [0, 1), got {getattr(self, name)}.")
        problems.check(self.pad_token_id is not None and 0 <= self.pad_token_id < self.vocab_size,
                       f"pad_token_id={self.pad_token_id} must be a token of the vocabulary (size {self.vocab_size}): "
                       "MPNet counts positions from it.")
        problems.raise_if_any()
        check_activation(self.hidden_act)

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads
