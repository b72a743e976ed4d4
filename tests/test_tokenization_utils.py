"""The tokenizer base and the pure truncation arithmetic (truncation.py), apart from any vocabulary."""

from __future__ import annotations

import pytest

from tuneformers.truncation import cut_slice, keep_counts, longest_first, window_slices


def test_skip_special_tokens_survives_a_call(tokenizer):
    """Issue 11 regression: __call__ used to overwrite the fast tokenizer's special-id table with a tuple."""
    ids = tokenizer.convert_tokens_to_ids(["hello", "[MASK]", "[UNK]", "[PAD]", "[CLS]", "[SEP]"])
    before = tokenizer.convert_ids_to_tokens(ids, skip_special_tokens=True)
    tokenizer("hello world")
    tokenizer("hello", "world", return_offsets_mapping=True)
    after = tokenizer.convert_ids_to_tokens(ids, skip_special_tokens=True)
    assert before == after == ["hello"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "hello"


def test_unknown_keyword_hint_comes_from_real_parameters(tokenizer):
    """Issue 11 regression: the hint was built from co_varnames, which lists local variables too."""
    with pytest.raises(TypeError) as error:
        tokenizer("x", target=3)
    assert "Unknown keyword 'target'" in str(error.value) and "Did you mean 'target'" not in str(error.value)
    with pytest.raises(TypeError, match="Did you mean 'max_length'"):
        tokenizer("x", max_lenght=3)
    with pytest.raises(TypeError, match="Did you mean 'return_tensors'"):
        tokenizer("x", return_tensor="pt")


def test_special_token_layout_has_one_definition(tokenizer):
    """Rows, token types and the special mask all come from the three layout methods."""
    encoding = tokenizer("a b", "c", return_special_tokens_mask=True)
    first, second = tokenizer.convert_tokens_to_ids(["a", "b"]), tokenizer.convert_tokens_to_ids(["c"])
    assert encoding["input_ids"] == tokenizer.build_inputs_with_special_tokens(first, second)
    assert encoding["token_type_ids"] == tokenizer.create_token_type_ids_from_sequences(first, second)
    assert encoding["special_tokens_mask"] == tokenizer.get_special_tokens_mask(first, second)
    assert tokenizer.num_special_tokens_to_add(pair=True) == 3 and tokenizer.num_special_tokens_to_add() == 2


@pytest.mark.parametrize(("len_first", "len_second", "budget", "expected"), [
    (10, 10, 8, (4, 4)),     # tie: the first text is the shorter one
    (3, 20, 8, (3, 5)),      # the short text keeps all it has
    (20, 3, 8, (5, 3)),
    (20, 20, 7, (3, 4)),     # odd budget: the first (tied shorter) keeps the floor of half
    (5, 2, 10, (5, 2)),      # nothing to cut
])
def test_longest_first_is_the_tokenizers_rule(len_first, len_second, budget, expected):
    assert longest_first(len_first, len_second, budget) == expected


def test_keep_counts_per_strategy_and_errors():
    assert keep_counts("longest_first", 12, None, 5) == (5, 0)
    assert keep_counts("only_first", 12, 3, 8) == (5, 3)
    assert keep_counts("only_second", 3, 12, 8) == (3, 5)
    with pytest.raises(ValueError, match="only_first.*second text alone has 9 tokens"):
        keep_counts("only_first", 2, 9, 8)
    with pytest.raises(ValueError, match="needs text pairs"):
        keep_counts("only_second", 5, None, 3)
    with pytest.raises(ValueError, match="truncation='sideways'"):
        keep_counts("sideways", 5, None, 3)


def test_windows_and_cuts():
    assert window_slices(10, 4, 1) == [slice(0, 4), slice(3, 7), slice(6, 10)]
    assert window_slices(10, 4, 0) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert window_slices(3, 4, 2) == [slice(0, 3)]
    assert window_slices(10, 4, 1, side="left") == [slice(6, 10), slice(3, 7), slice(0, 4)]
    with pytest.raises(ValueError, match="stride=4 must be smaller"):
        window_slices(10, 4, 4)
    assert cut_slice(10, 3, "right") == slice(0, 3) and cut_slice(10, 3, "left") == slice(7, 10)
    assert cut_slice(2, 3, "left") == slice(0, 2)


def test_windows_cover_every_token_with_the_stride_overlap(tokenizer):
    text = " ".join(f"word{i}" for i in range(40))
    pieces = tokenizer(text, add_special_tokens=False)["input_ids"]
    rows = tokenizer(text, truncation=True, max_length=12, stride=3, return_overflowing_tokens=True)["input_ids"]
    bodies = [row[1:-1] for row in rows]
    assert [token for token in bodies[0]] == pieces[:10]
    for previous, current in zip(bodies, bodies[1:]):
        assert previous[-3:] == current[:3]
    assert bodies[-1][-1] == pieces[-1]
