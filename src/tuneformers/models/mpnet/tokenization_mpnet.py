"""MPNet tokenizers: BERT word pieces (vocab.txt) with RoBERTa's special-token layout. No torch.

``<s> A </s>`` for one text and ``<s> A </s></s> B </s>`` for a pair; no token type ids.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..bert.tokenization_bert import BertTokenizer
from ..roberta.tokenization_roberta import RobertaSpecialTokenLayout

MPNET_SPECIAL_TOKENS = dict(unk_token="[UNK]", sep_token="</s>", pad_token="<pad>", cls_token="<s>", mask_token="<mask>")


class MPNetTokenizer(RobertaSpecialTokenLayout, BertTokenizer):
    """MPNet tokenizer in pure Python on vocab.txt; same ids as MPNetTokenizerFast."""

    init_options: ClassVar[tuple[str, ...]] = (*BertTokenizer.init_options, "bos_token", "eos_token")

    def __init__(self, vocab_file, bos_token: str = "<s>", eos_token: str = "</s>", **kwargs: Any):
        super().__init__(vocab_file, **{**MPNET_SPECIAL_TOKENS, **kwargs})
        self.bos_token, self.eos_token = bos_token, eos_token
