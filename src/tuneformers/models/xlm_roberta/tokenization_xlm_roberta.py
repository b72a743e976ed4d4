"""XLM-RoBERTa's tokenizer: a SentencePiece Unigram vocabulary read from tokenizer.json by the ``tokenizers``
library, with RoBERTa's special-token layout. No torch.

``XLMRobertaTokenizer`` (the slow name) needs the ``sentencepiece`` package and then uses the same backend;
without it, it raises an ImportError that names ``XLMRobertaTokenizerFast``.
"""

from __future__ import annotations

from typing import Any

from ...tokenization_utils_fast import require_sentencepiece
from ..roberta.tokenization_roberta import RobertaLayoutTokenizer


class XLMRobertaTokenizerFast(RobertaLayoutTokenizer):
    """Unigram word pieces (``▁`` marks a word start) from tokenizer.json; ``<s> A </s></s> B </s>``."""


class XLMRobertaTokenizer(XLMRobertaTokenizerFast):
    def __init__(self, *args: Any, **kwargs: Any):
        require_sentencepiece(type(self).__name__, "XLMRobertaTokenizerFast")
        super().__init__(*args, **kwargs)
