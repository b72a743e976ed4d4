"""ELECTRA's tokenizers: BERT's, under ELECTRA's names (tokenizer_config.json says ElectraTokenizer). No torch."""

from __future__ import annotations

from ..bert.tokenization_bert import BertTokenizer
from ..bert.tokenization_bert_fast import BertTokenizerFast


class ElectraTokenizer(BertTokenizer):
    pass


class ElectraTokenizerFast(BertTokenizerFast):
    pass
