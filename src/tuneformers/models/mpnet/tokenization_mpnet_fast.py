"""MPNetTokenizerFast: MPNet's word pieces from the Rust ``tokenizers`` library, with offsets. No torch.

The word pieces are BERT's (BertTokenizerFast reads tokenizer.json or vocab.txt); only the special-token
layout differs: RoBERTa's (RobertaSpecialTokenLayout).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..bert.tokenization_bert_fast import BertTokenizerFast
from ..roberta.tokenization_roberta import RobertaSpecialTokenLayout
from .tokenization_mpnet import MPNET_SPECIAL_TOKENS


class MPNetTokenizerFast(RobertaSpecialTokenLayout, BertTokenizerFast):
    """``<s> A </s>`` / ``<s> A </s></s> B </s>`` around BERT word pieces; returns no token type ids."""

    init_options: ClassVar[tuple[str, ...]] = (*BertTokenizerFast.init_options, "bos_token", "eos_token")

    def __init__(self, vocab_file=None, tokenizer_file=None, bos_token: str = "<s>", eos_token: str = "</s>",
                 **kwargs: Any):
        super().__init__(vocab_file, tokenizer_file, **{**MPNET_SPECIAL_TOKENS, **kwargs})
        self.bos_token, self.eos_token = bos_token, eos_token
