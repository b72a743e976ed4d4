"""DistilBERT's tokenizers: BERT's word pieces and ``[CLS] A [SEP] B [SEP]`` layout, without token_type_ids
(DistilBERT has no token types). No torch."""

from __future__ import annotations

from typing import ClassVar

from ..bert.tokenization_bert import BertTokenizer
from ..bert.tokenization_bert_fast import BertTokenizerFast


class DistilBertTokenizer(BertTokenizer):
    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")


class DistilBertTokenizerFast(BertTokenizerFast):
    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")
