"""BertTokenizer: BERT's word-piece tokenizer in pure Python. No torch.

Text is normalised exactly as the ``tokenizers`` library's BertNormalizer does (so this tokenizer and
BertTokenizerFast give the same ids): drop control characters, turn whitespace into spaces, put spaces
around CJK ideographs, strip accents (NFD, drop non-spacing marks), lower-case character by character.
Then it splits on whitespace and punctuation and applies greedy longest-match WordPiece.
"""

from __future__ import annotations

import collections
import json
import re
import unicodedata
from pathlib import Path
from typing import Any, ClassVar

from ...constants import ADDED_TOKENS_FILE, VOCAB_FILE
from ...tokenization_utils import PreTrainedTokenizerBase
from ...truncation import Segment
from ...utils import atomic_write_text



def load_vocab(path: str | Path) -> dict[str, int]:
    """vocab.txt: one token per line, the line number is its id."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No vocabulary file {path}. A BERT tokenizer folder needs {VOCAB_FILE} (or tokenizer.json).")
    tokens = path.read_text(encoding="utf-8").split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    vocab: dict[str, int] = collections.OrderedDict()
    for index, token in enumerate(tokens):
        vocab.setdefault(token.rstrip("\r"), index)
    if not vocab:
        raise ValueError(f"{path} is empty: a vocabulary needs at least one token per line.")
    return vocab


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    # As the Rust normaliser: its Extension E range starts at 0x2B920, so 0x2B820-0x2B91F stay inside words.
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B920 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


class BasicTokenizer:
    """Normalisation plus splitting on whitespace and punctuation."""

    def __init__(self, do_lower_case: bool = True, never_split: list[str] | None = None,
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None):
        self.do_lower_case = do_lower_case
        self.never_split = set(never_split or ())
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents

    def normalize(self, text: str) -> str:
        chars = []
        for char in text:
            if char == "\x00" or char == "\ufffd" or _is_control(char):
                continue
            if char.isspace():
                chars.append(" ")
            elif self.tokenize_chinese_chars and _is_cjk(ord(char)):
                chars.append(f" {char} ")
            else:
                chars.append(char)
        text = "".join(chars)
        if self.strip_accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
        if self.do_lower_case:
            text = "".join(c.lower() for c in text)  # character-wise, as the Rust normaliser does
        return text

    def tokenize(self, text: str) -> list[str]:
        words = []
        for word in self.normalize(text).split():
            if word in self.never_split:
                words.append(word)
                continue
            start = 0
            for index, char in enumerate(word):
                if _is_punctuation(char):
                    if start < index:
                        words.append(word[start:index])
                    words.append(char)
                    start = index + 1
            if start < len(word):
                words.append(word[start:])
        return words


class WordpieceTokenizer:
    """Greedy longest-match-first split of a word into vocabulary pieces; [UNK] if impossible."""

    def __init__(self, vocab: dict[str, int], unk_token: str, max_input_chars_per_word: int = 100):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        self._cache: dict[str, list[str]] = {}

    def tokenize(self, word: str) -> list[str]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        pieces = self._split(word)
        if len(self._cache) < 200_000:
            self._cache[word] = pieces
        return pieces

    def _split(self, word: str) -> list[str]:
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(piece)
                    break
                end -= 1
            else:
                return [self.unk_token]
            start = end
        return pieces


class BertTokenizer(PreTrainedTokenizerBase):
    """BERT tokenizer in pure Python, reading vocab.txt. Same ids as BertTokenizerFast."""

    vocab_files: ClassVar[tuple[str, ...]] = (VOCAB_FILE,)
    init_options: ClassVar[tuple[str, ...]] = ("do_lower_case", "do_basic_tokenize", "never_split",
                                               "tokenize_chinese_chars", "strip_accents")

    def __init__(self, vocab_file: str | Path, do_lower_case: bool = True, do_basic_tokenize: bool = True,
                 never_split: list[str] | None = None, tokenize_chinese_chars: bool = True,
                 strip_accents: bool | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocab = load_vocab(vocab_file)
        self.ids_to_tokens = {index: token for token, index in self.vocab.items()}
        self.do_lower_case, self.do_basic_tokenize = do_lower_case, do_basic_tokenize
        self.never_split, self.tokenize_chinese_chars, self.strip_accents = never_split, tokenize_chinese_chars, strip_accents
        for name, token in self.named_special_tokens().items():
            if token not in self.vocab:
                raise ValueError(f"{name}={token!r} is not in the vocabulary {vocab_file}.")
        self.basic_tokenizer = BasicTokenizer(do_lower_case, never_split, tokenize_chinese_chars, strip_accents)
        self.wordpiece_tokenizer = WordpieceTokenizer(self.vocab, self.unk_token)
        self._tokens = dict(self.vocab)  # the vocabulary plus added tokens
        self._whole_tokens: set[str] = set()
        self._compile_whole_tokens()

    def _compile_whole_tokens(self) -> None:
        """Special and added tokens written in a text are kept whole, longest first."""
        whole = sorted({*self.all_special_tokens, *self._whole_tokens}, key=len, reverse=True)
        self._special_pattern = re.compile("(" + "|".join(re.escape(t) for t in whole) + ")") if whole else None

    def _token_to_id_map(self) -> dict[str, int]:
        return self._tokens

    def _add_to_vocabulary(self, tokens: list[str], special: bool) -> None:
        for token in tokens:
            if token not in self._tokens:
                self._tokens[token] = len(self._tokens)
                self.ids_to_tokens[self._tokens[token]] = token
        self._whole_tokens.update(tokens)
        self._compile_whole_tokens()

    def _id_to_token(self, index: int) -> str | None:
        return self.ids_to_tokens.get(index)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _words(self, text: str) -> list[str]:
        if self.do_basic_tokenize:
            return self.basic_tokenizer.tokenize(text)
        return text.split()

    def tokenize(self, text: str) -> list[str]:
        """Word pieces of ``text``; special tokens written in the text ([MASK], ...) are kept whole."""
        if not isinstance(text, str):
            raise TypeError(f"tokenize takes a string, got {type(text).__name__}.")
        parts = self._special_pattern.split(text) if self._special_pattern else [text]
        tokens = []
        for index, part in enumerate(parts):
            if index % 2:  # a special token
                tokens.append(part)
                continue
            for word in self._words(part):
                tokens.extend(self.wordpiece_tokenizer.tokenize(word))
        return tokens

    def _encode_texts(self, texts, is_split_into_words: bool) -> list[Segment]:
        vocab, unk = self._tokens, self.vocab.get(self.unk_token)
        segments = []
        for text in texts:
            if is_split_into_words:
                tokens = [piece for word in text for piece in self.tokenize(word)]
            else:
                tokens = self.tokenize(text)
            segments.append(Segment([vocab.get(token, unk) for token in tokens]))
        return segments

    def _save_vocabulary(self, folder: Path) -> None:
        ordered = sorted(self.vocab.items(), key=lambda item: item[1])
        atomic_write_text(folder / VOCAB_FILE, "".join(token + "\n" for token, _ in ordered))
        added = self.get_added_vocab()
        if added:
            atomic_write_text(folder / ADDED_TOKENS_FILE, json.dumps(added, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def _from_folder(cls, folder: Path, options: dict[str, Any]) -> BertTokenizer:
        tokenizer = cls(folder / VOCAB_FILE, **options)
        added_file = folder / ADDED_TOKENS_FILE
        if added_file.is_file():
            added = json.loads(added_file.read_text(encoding="utf-8"))
            special = set(tokenizer.all_special_tokens)
            for token in sorted(added, key=added.get):
                tokenizer._add_to_vocabulary([token], token in special)
        return tokenizer
