"""BertConfig: the hyper-parameters of a BERT model, as in an HF config.json. No torch."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from ...activations import check_activation
from ...configuration_utils import PretrainedConfig


@dataclasses.dataclass(eq=False)
class BertConfig(PretrainedConfig):
    """BERT architecture. Defaults are bert-base-uncased."""

    model_type: ClassVar[str] = "bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    position_embedding_type: str = "absolute"
    classifier_dropout: float | None = None
    """Dropout before classification heads; None uses hidden_dropout_prob."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"BertConfig.{name} must be a positive integer, got {getattr(self, name)}.")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not a multiple of num_attention_heads={self.num_attention_heads}; "
                "each head gets hidden_size / num_attention_heads dimensions."
            )
        check_activation(self.hidden_act)
        if self.position_embedding_type != "absolute":
            raise ValueError(
                f"position_embedding_type={self.position_embedding_type!r} is not supported; only 'absolute' is."
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"BertConfig.{name} must be in [0, 1), got {value}.")
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id={self.pad_token_id} is outside the vocabulary (size {self.vocab_size}).")

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads
