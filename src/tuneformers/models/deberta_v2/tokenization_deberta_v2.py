"""DebertaV2Tokenizer: the slow tokenizer on the SentencePiece model file (spm.model). No torch.

It needs the optional ``sentencepiece`` package; DebertaV2TokenizerFast (tokenizer.json) needs nothing more
and also gives offsets.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

from ...tokenization_utils import PreTrainedTokenizerBase
from ...truncation import Segment
from .tokenization_deberta_v2_fast import SPM_FILE


class DebertaV2Tokenizer(PreTrainedTokenizerBase):
    """SentencePiece pieces of spm.model with ``[CLS] A [SEP] B [SEP]`` around them (the base layout)."""

    vocab_files: ClassVar[tuple[str, ...]] = (SPM_FILE,)
    init_options: ClassVar[tuple[str, ...]] = ("do_lower_case", "bos_token", "eos_token")

    def __init__(self, vocab_file: str | Path, do_lower_case: bool = False, bos_token: str = "[CLS]",
                 eos_token: str = "[SEP]", **kwargs: Any):
        try:
            import sentencepiece
        except ImportError as error:
            raise ImportError("DebertaV2Tokenizer reads spm.model with the sentencepiece package: pip install "
                              "sentencepiece. Or use DebertaV2TokenizerFast (AutoTokenizer's default), which reads "
                              "tokenizer.json and needs nothing more.") from error
        super().__init__(**kwargs)
        self.do_lower_case, self.bos_token, self.eos_token = do_lower_case, bos_token, eos_token
        self.vocab_file = Path(vocab_file)
        self._spm = sentencepiece.SentencePieceProcessor(model_file=str(vocab_file))
        self._vocab = {self._spm.id_to_piece(index): index for index in range(self._spm.get_piece_size())}
        for token in self.all_special_tokens:
            self._vocab.setdefault(token, len(self._vocab))
        self._ids_to_tokens = {index: token for token, index in self._vocab.items()}

    def _token_to_id_map(self) -> dict[str, int]:
        return self._vocab

    def _id_to_token(self, index: int) -> str | None:
        return self._ids_to_tokens.get(index)

    def tokenize(self, text: str) -> list[str]:
        return self._spm.encode(text.lower() if self.do_lower_case else text, out_type=str)

    def _encode_texts(self, texts, is_split_into_words: bool) -> list[Segment]:
        if is_split_into_words:
            texts = [" ".join(words) for words in texts]
        return [Segment(self.convert_tokens_to_ids(self.tokenize(text))) for text in texts]

    def _decode_tokens(self, tokens: list[str]) -> str:
        return self._spm.decode_pieces(tokens)

    def _save_vocabulary(self, folder: Path) -> None:
        if self.vocab_file.resolve() != (folder / SPM_FILE).resolve():
            shutil.copyfile(self.vocab_file, folder / SPM_FILE)

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> DebertaV2Tokenizer:
        if not (folder / SPM_FILE).is_file():
            raise FileNotFoundError(f"No {SPM_FILE} in {folder}; DebertaV2TokenizerFast reads tokenizer.json instead.")
        return cls(folder / SPM_FILE, **options)
