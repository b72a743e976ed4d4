"""CamemBERT's tokenizer: a SentencePiece Unigram vocabulary read from tokenizer.json, with RoBERTa's
special-token layout. No torch.

``CamembertTokenizer`` (the slow name) needs the ``sentencepiece`` package and then uses the same backend;
without it, it raises an ImportError that names ``CamembertTokenizerFast``.
"""

from __future__ import annotations

from typing import Any

from ...tokenization_utils_fast import require_sentencepiece
from ..roberta.tokenization_roberta import RobertaLayoutTokenizer


class CamembertTokenizerFast(RobertaLayoutTokenizer):
    """Unigram word pieces (``▁`` marks a word start) from tokenizer.json; ``<s> A </s></s> B </s>``."""


class CamembertTokenizer(CamembertTokenizerFast):
    def __init__(self, *args: Any, **kwargs: Any):
        require_sentencepiece(type(self).__name__, "CamembertTokenizerFast")
        super().__init__(*args, **kwargs)
