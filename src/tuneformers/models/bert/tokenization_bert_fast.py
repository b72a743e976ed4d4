"""BertTokenizerFast: BERT word pieces from the Rust ``tokenizers`` library, with offsets and word ids. No torch.

The Rust tokenizer only splits text into word pieces; special tokens, truncation, overflow windows and
padding come from the shared layer in tokenization_utils, so both BERT tokenizers behave the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, trainers
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
        for name, token in self.named_special_tokens().items():
            if token not in self._vocab:
                raise ValueError(f"{name}={token!r} is not in the vocabulary of {tokenizer_file or vocab_file}.")

    @property
    def backend_tokenizer(self) -> Tokenizer:
        return self._backend

    def _token_to_id_map(self) -> dict[str, int]:
        return self._vocab

    def _add_to_vocabulary(self, tokens: list[str], special: bool) -> None:
        (self._backend.add_special_tokens if special else self._backend.add_tokens)(tokens)
        self._vocab = self._backend.get_vocab(with_added_tokens=True)

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

    def train_new_from_iterator(self, text_iterator: Iterable[str] | Iterable[list[str]], vocab_size: int,
                                min_frequency: int = 2, length: int | None = None,
                                show_progress: bool = False) -> BertTokenizerFast:
        """A new WordPiece tokenizer trained on ``text_iterator`` (strings, or batches of strings), with this
        one's normalisation (lower-casing, accents), special tokens and options; the text is streamed."""
        return train_bert_tokenizer(
            text_iterator, vocab_size, min_frequency=min_frequency, length=length, show_progress=show_progress,
            do_lower_case=self.do_lower_case, tokenize_chinese_chars=self.tokenize_chinese_chars,
            strip_accents=self.strip_accents, model_max_length=self.model_max_length, **self.named_special_tokens())

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> BertTokenizerFast:
        vocab_file = folder / VOCAB_FILE
        tokenizer_file = folder / TOKENIZER_FILE
        if not vocab_file.is_file() and not tokenizer_file.is_file():
            raise FileNotFoundError(f"No tokenizer files in {folder}: looked for {TOKENIZER_FILE} and {VOCAB_FILE}.")
        return cls(vocab_file if vocab_file.is_file() else None, tokenizer_file if tokenizer_file.is_file() else None,
                   **options)


def train_bert_tokenizer(text_iterator: Iterable[str] | Iterable[list[str]], vocab_size: int, min_frequency: int = 2,
                         length: int | None = None, show_progress: bool = False, **options: Any) -> BertTokenizerFast:
    """Train a BERT WordPiece vocabulary of at most ``vocab_size`` entries on streamed text.

    ``options`` are BertTokenizerFast arguments (``do_lower_case``, special tokens, ...). The special
    tokens take the first ids ([PAD] is 0, as BERT's embeddings expect); the saved folder loads in
    tuneformers and in Hugging Face transformers.
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive number, got {vocab_size}.")
    order = ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")
    tokens = {name: options.get(name, f"[{name.removesuffix('_token').upper()}]") for name in order}
    specials = list(dict.fromkeys(token for token in tokens.values() if token is not None))
    if vocab_size <= len(specials):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside the {len(specials)} special tokens; "
                         "use a few thousand (BERT uses 30522).")
    backend = Tokenizer(WordPiece(unk_token=tokens["unk_token"], max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=options.get("tokenize_chinese_chars", True),
        strip_accents=options.get("strip_accents"), lowercase=options.get("do_lower_case", True))
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=specials, show_progress=show_progress,
                                        continuing_subword_prefix="##")
    backend.train_from_iterator(_text_batches(text_iterator), trainer=trainer, length=length)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / TOKENIZER_FILE
        backend.save(str(path))
        return BertTokenizerFast(tokenizer_file=path, **options)


def _text_batches(texts: Iterable[str] | Iterable[list[str]]) -> Iterator[list[str]]:
    """Batches of strings, from strings or batches; anything else is an error naming the bad item."""
    batch: list[str] = []
    for index, item in enumerate(texts):
        items = [item] if isinstance(item, str) else item
        if not isinstance(items, (list, tuple)) or not all(isinstance(text, str) for text in items):
            raise TypeError(f"train_new_from_iterator needs strings or lists of strings; item {index} is "
                            f"{type(item).__name__}.")
        batch.extend(items)
        if len(batch) >= 1000:
            yield batch
            batch = []
    if batch:
        yield batch
