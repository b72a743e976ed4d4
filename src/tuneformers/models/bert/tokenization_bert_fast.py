"""BertTokenizerFast: BERT word pieces from the Rust ``tokenizers`` library, with offsets and word ids. No torch.

The Rust tokenizer only splits text into word pieces; special tokens, truncation, overflow windows and
padding come from the shared layer in tokenization_utils, so both BERT tokenizers behave the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

from ...tokenization_utils import PreTrainedTokenizerBase
from ...truncation import Segment
from ...utils import atomic_path, atomic_write_text
from ...constants import TOKENIZER_FILE, VOCAB_FILE
from .tokenization_bert import load_vocab


class BertTokenizerFast(PreTrainedTokenizerBase):
    """BERT tokenizer on the ``tokenizers`` library: reads tokenizer.json, or builds one from vocab.txt."""

    vocab_files: ClassVar[tuple[str, ...]] = (VOCAB_FILE, TOKENIZER_FILE)
    init_options: ClassVar[tuple[str, ...]] = ("do_lower_case", "tokenize_chinese_chars", "strip_accents")
    tracks_offsets: ClassVar[bool] = True

    def __init__(self, vocab_file: str | Path | None = None, tokenizer_file: str | Path | None = None,
                 do_lower_case: bool = True, tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.do_lower_case, self.tokenize_chinese_chars, self.strip_accents = do_lower_case, tokenize_chinese_chars, strip_accents
        if tokenizer_file is not None and Path(tokenizer_file).is_file():
            try:
                backend = Tokenizer.from_file(str(tokenizer_file))
            except Exception as error:  # the Rust library raises plain Exception
                raise ValueError(f"Could not read {tokenizer_file}: {error}. Delete it to rebuild from {VOCAB_FILE}.") from error
        elif vocab_file is not None:
            backend = Tokenizer(WordPiece(load_vocab(vocab_file), unk_token=self.unk_token, max_input_chars_per_word=100))
            backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            backend.decoder = decoders.WordPiece(prefix="##")
        else:
            raise ValueError("BertTokenizerFast needs a vocab_file (vocab.txt) or a tokenizer_file (tokenizer.json).")
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=tokenize_chinese_chars, strip_accents=strip_accents,
            lowercase=do_lower_case)
        backend.no_truncation()  # the shared layer truncates and pads
        backend.no_padding()
        backend.post_processor = None
        backend.add_special_tokens(self.all_special_tokens)
        self._backend = backend
        self._vocab = backend.get_vocab(with_added_tokens=True)
        for name, token in self.special_tokens_map.items():
            if token not in self._vocab:
                raise ValueError(f"{name}={token!r} is not in the vocabulary of {tokenizer_file or vocab_file}.")

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._backend

    def _token_to_id_map(self) -> dict[str, int]:
        return self._vocab

    def _id_to_token(self, index: int) -> str | None:
        return self._backend.id_to_token(index)

    @property
    def vocab_size(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=False)

    def __len__(self) -> int:
        return self._backend.get_vocab_size(with_added_tokens=True)

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes a string, got {type(text).__name__}.")
        return self._backend.encode(text, add_special_tokens=False).tokens

    def _encode_texts(self, texts, is_split_into_words: bool) -> list[Segment]:
        encodings = self._backend.encode_batch(texts, add_special_tokens=False, is_pretokenized=is_split_into_words)
        return [Segment(encoding.ids, encoding) for encoding in encodings]

    def _decode_ids(self, ids: list[int], skip_special_tokens: bool) -> str:
        return self._backend.decode(ids, skip_special_tokens=skip_special_tokens)

    def _save_vocabulary(self, folder: Path) -> None:
        vocab = self._backend.get_vocab(with_added_tokens=False)
        ordered = sorted(vocab.items(), key=lambda item: item[1])
        atomic_write_text(folder / VOCAB_FILE, "".join(token + "\n" for token, _ in ordered))
        with atomic_path(folder / TOKENIZER_FILE) as temp_path:
            self._backend.save(str(temp_path))

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> BertTokenizerFast:
        vocab_file = folder / VOCAB_FILE
        tokenizer_file = folder / TOKENIZER_FILE
        if not vocab_file.is_file() and not tokenizer_file.is_file():
            raise FileNotFoundError(f"No tokenizer files in {folder}: looked for {TOKENIZER_FILE} and {VOCAB_FILE}.")
        return cls(vocab_file if vocab_file.is_file() else None, tokenizer_file if tokenizer_file.is_file() else None,
                   **options)
