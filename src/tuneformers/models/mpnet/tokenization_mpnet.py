"""MPNet tokenizers: BERT word pieces (vocab.txt) with RoBERTa's special-token layout. No torch.

``<s> A </s>`` for one text and ``<s> A </s></s> B </s>`` for a pair; no token type ids.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..bert.tokenization_bert import BertTokenizer

MPNET_SPECIAL_TOKENS = dict(unk_token="[UNK]", sep_token="</s>", pad_token="<pad>", cls_token="<s>", mask_token="<mask>")


class MPNetLayout:
    """The special-token layout of MPNet (and RoBERTa): cls A sep [sep B sep]; one token type."""

    model_input_names: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")

    def build_inputs_with_special_tokens(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        if pair_ids is None:
            return [self.cls_token_id, *ids, self.sep_token_id]
        return [self.cls_token_id, *ids, self.sep_token_id, self.sep_token_id, *pair_ids, self.sep_token_id]

    def create_token_type_ids_from_sequences(self, ids: list[int], pair_ids: list[int] | None = None) -> list[int]:
        return [0] * len(self.build_inputs_with_special_tokens(ids, pair_ids))

    def get_special_tokens_mask(self, ids: list[int], pair_ids: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            special = set(self.all_special_ids)
            return [1 if token in special else 0 for token in ids]
        mask = [1] + [0] * len(ids) + [1]
        return mask if pair_ids is None else mask + [1] + [0] * len(pair_ids) + [1]


class MPNetTokenizer(MPNetLayout, BertTokenizer):
    """MPNet tokenizer in pure Python on vocab.txt; same ids as MPNetTokenizerFast."""

    init_options: ClassVar[tuple[str, ...]] = (*BertTokenizer.init_options, "bos_token", "eos_token")

    def __init__(self, vocab_file, bos_token: str = "<s>", eos_token: str = "</s>", **kwargs: Any):
        super().__init__(vocab_file, **{**MPNET_SPECIAL_TOKENS, **kwargs})
        self.bos_token, self.eos_token = bos_token, eos_token
