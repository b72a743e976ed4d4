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

from ...tokenization_utils_fast import PreTrainedTokenizerFast
from ...utils import atomic_write_text
from ...constants import TOKENIZER_FILE, VOCAB_FILE
from .tokenization_bert import load_vocab


class BertTokenizerFast(PreTrainedTokenizerFast):
    """BERT tokenizer on the ``tokenizers`` library: reads tokenizer.json, or builds one from vocab.txt."""

    vocab_file_names: ClassVar[dict[str, str]] = {"vocab_file": VOCAB_FILE, "tokenizer_file": TOKENIZER_FILE}
    vocab_files: ClassVar[tuple[str, ...]] = (VOCAB_FILE, TOKENIZER_FILE)
    init_options: ClassVar[tuple[str, ...]] = ("do_lower_case", "tokenize_chinese_chars", "strip_accents")

    def __init__(self, vocab_file: str | Path | None = None, tokenizer_file: str | Path | None = None,
                 do_lower_case: bool = True, tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 **kwargs: Any):
        self.do_lower_case, self.tokenize_chinese_chars, self.strip_accents = do_lower_case, tokenize_chinese_chars, strip_accents
        backend = None
        if tokenizer_file is None or not Path(tokenizer_file).is_file():
            if vocab_file is None:
                raise ValueError("BertTokenizerFast needs a vocab_file (vocab.txt) or a tokenizer_file (tokenizer.json).")
            backend = Tokenizer(WordPiece(load_vocab(vocab_file), unk_token=kwargs.get("unk_token", "[UNK]"),
                                          max_input_chars_per_word=100))
            backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            backend.decoder = decoders.WordPiece(prefix="##")
        super().__init__(tokenizer_file, tokenizer_object=backend, **kwargs)

    def _configure_backend(self, backend: Tokenizer) -> Tokenizer:
        backend.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=self.tokenize_chinese_chars, strip_accents=self.strip_accents,
            lowercase=self.do_lower_case)
        backend.post_processor = None  # [CLS] A [SEP] (B [SEP]) comes from the shared layout
        backend.add_special_tokens(self.all_special_tokens)  # plain: a file's lstrip flag would widen their offsets
        return backend

    def _save_vocabulary(self, folder: Path) -> None:
        vocab = self._backend.get_vocab(with_added_tokens=False)
        ordered = sorted(vocab.items(), key=lambda item: item[1])
        atomic_write_text(folder / VOCAB_FILE, "".join(token + "\n" for token, _ in ordered))
        super()._save_vocabulary(folder)

    def train_new_from_iterator(self, text_iterator: Iterable[str] | Iterable[list[str]], vocab_size: int,
                                min_frequency: int = 2, length: int | None = None,
                                show_progress: bool = False) -> BertTokenizerFast:
        """A new WordPiece tokenizer trained on ``text_iterator`` (strings, or batches of strings), with this
        one's normalisation (lower-casing, accents), special tokens and options; the text is streamed."""
        return train_bert_tokenizer(
            text_iterator, vocab_size, min_frequency=min_frequency, length=length, show_progress=show_progress,
            do_lower_case=self.do_lower_case, tokenize_chinese_chars=self.tokenize_chinese_chars,
            strip_accents=self.strip_accents, model_max_length=self.model_max_length, **self.named_special_tokens())


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
    backend.train_from_iterator(text_batches(text_iterator), trainer=trainer, length=length)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / TOKENIZER_FILE
        backend.save(str(path))
        return BertTokenizerFast(tokenizer_file=path, **options)


def text_batches(texts: Iterable[str] | Iterable[list[str]]) -> Iterator[list[str]]:
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
