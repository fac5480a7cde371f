"""Tests for storable.py: which text no database can store, and finding it inside JSON-like values."""

import pytest

from django_zoomconnect.storable import find_problem, params_problem, problem


@pytest.mark.parametrize("text", ["", "plain", "Café 🙂", "\x01\x7f\u200b", "\U0010ffff", "\ufffd"])
def test_storable_text(text):
    assert problem(text) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a\x00b", "a NUL character"),
        ("\x00", "a NUL character"),
        ("\ud800", "an unpaired surrogate (U+D800)"),
        ("x\udfffy", "an unpaired surrogate (U+DFFF)"),
    ],
)
def test_unstorable_text(text, reason):
    assert problem(text) == reason


def test_find_problem_looks_into_keys_values_and_lists():
    assert find_problem({"a": ["b", {"c": 1, "d": None}], "e": ("f", 2.5)}) is None
    assert find_problem({"a": ["b", {"c": "x\x00"}]}) == "a NUL character"
    assert find_problem({"a\x00": "b"}) == "a NUL character"
    assert find_problem([["\ud83d"]]) == "an unpaired surrogate (U+D83D)"
    assert find_problem(7) is None


def test_find_problem_does_not_recurse():
    deep: list[object] = ["\x00"]
    for _ in range(10_000):
        deep = [deep]
    assert find_problem(deep) == "a NUL character"


def test_params_problem_names_the_first_key_and_its_reason():
    assert params_problem({}) is None
    assert params_problem({"a": "b", "Café": "🙂"}) is None
    assert params_problem({"a": "b", "c": "x\ud800", "d\x00": "e"}) == ("c", "an unpaired surrogate (U+D800)")
    assert params_problem({"k": "\ud800\x00"}) == ("k", "a NUL character")
    # Keys and values are searched together, never across a boundary: no pair makes a problem.
    assert params_problem({"\ud83d": "\ude00"}) == ("\ud83d", "an unpaired surrogate (U+D83D)")
