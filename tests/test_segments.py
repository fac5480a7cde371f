"""Tests for segments.py: the GSM-7 / UCS-2 boundaries, packing at part edges, and properties."""

import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from django_zoomconnect.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    GSM7_PART_LIMIT,
    GSM7_SINGLE_LIMIT,
    UCS2_PART_LIMIT,
    UCS2_SINGLE_LIMIT,
    SegmentInfo,
    analyse,
    credit_cost,
    encoding_of,
    is_gsm7,
    split,
    ucs2_characters,
)

EMOJI = "\U0001f600"  # 😀, a surrogate pair in UTF-16


def units(text: str, encoding: str) -> int:
    """An independent count: escape pairs for GSM-7, UTF-16 code units for UCS-2."""
    if encoding == "GSM7":
        return sum(2 if char in "\f^{}\\[~]|€" else 1 for char in text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --- the alphabet ------------------------------------------------------------------------------


def test_alphabet_sizes():
    # 128 positions less the escape; ten extension characters, none of them in the basic table.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert "\x1b" not in GSM7_BASIC | GSM7_EXTENSION


@pytest.mark.parametrize("char", sorted("\f^{}\\[~]|€"))
def test_extension_characters_count_two_septets(char):
    assert analyse(char) == SegmentInfo(encoding="GSM7", length=2, parts=1, characters=1)


def test_euro_counts_two_septets():
    assert analyse("€5").length == 3
    assert analyse("€" * 80) == SegmentInfo("GSM7", 160, 1, 80)
    assert analyse("€" * 81) == SegmentInfo("GSM7", 162, 2, 81)


@pytest.mark.parametrize(
    "text", ["@£$¥èéùìòÇ", "ΔΦΓΛΩΠΨΣΘΞ", "ÆæßÉ¤¡¿§ÄÖÑÜäöñüà", "Hello, world!\r\n", "_#%&'()*+,-./:;<=>?"]
)
def test_basic_alphabet_is_gsm7_one_septet_each(text):
    info = analyse(text)
    assert info.encoding == "GSM7"
    assert info.length == len(text) == info.characters


@pytest.mark.parametrize(
    "char",
    [
        "ç",  # only the capital Ç is in the table
        "\u2019",  # the typographic apostrophe a word processor puts in
        "\u201c",
        "á",
        "Ж",
        "`",
        "\x1b",  # the escape itself is not a character
        "\u2126",  # OHM SIGN, not the Greek capital omega of the table
        "\t",
        EMOJI,
    ],
)
def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2(char):
    text = "a" * 100 + char
    assert not is_gsm7(text)
    assert encoding_of(text) == "UCS2"
    info = analyse(text)
    assert info.encoding == "UCS2"
    assert info.length == 100 + len(char.encode("utf-16-le")) // 2
    assert info.parts == 2


def test_ucs2_counts_extension_characters_as_one_unit():
    assert analyse("€ç").length == 2


# --- boundaries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "parts"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (153 * 10, 10), (1531, 11)],
)
def test_gsm7_boundaries(size, parts):
    text = "a" * size
    assert analyse(text) == SegmentInfo("GSM7", size, parts, size)
    assert len(split(text)) == parts


@pytest.mark.parametrize(
    ("size", "parts"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (67 * 10, 10), (671, 11)],
)
def test_ucs2_boundaries(size, parts):
    text = "Ж" * size
    assert analyse(text) == SegmentInfo("UCS2", size, parts, size)
    assert len(split(text)) == parts


def test_extension_character_at_position_153_moves_to_the_next_part():
    # 306 septets would fit two parts by division, but the € cannot straddle the first boundary.
    text = "a" * 152 + "€" + "a" * 152
    info = analyse(text)
    assert info.length == 306
    assert info.parts == 3
    first, second, third = split(text)
    assert first == "a" * 152
    assert second == "€" + "a" * 151
    assert third == "a"


def test_extension_character_ending_a_part_exactly_stays():
    text = "a" * 151 + "€" + "a" * 153
    assert analyse(text).parts == 2
    assert split(text) == ["a" * 151 + "€", "a" * 153]


def test_single_part_limit_counts_the_escape():
    assert analyse("a" * 158 + "€") == SegmentInfo("GSM7", 160, 1, 159)
    assert analyse("a" * 159 + "€") == SegmentInfo("GSM7", 161, 2, 160)
    assert split("a" * 159 + "€") == ["a" * 153, "a" * 6 + "€"]


def test_emoji_at_a_ucs2_boundary_moves_to_the_next_part():
    text = "Ж" * 66 + EMOJI + "Ж" * 66
    info = analyse(text)
    assert info == SegmentInfo("UCS2", 134, 3, 133)
    assert split(text) == ["Ж" * 66, EMOJI + "Ж" * 65, "Ж"]


def test_emoji_count_two_units_in_a_single_part():
    assert analyse(EMOJI * 35) == SegmentInfo("UCS2", 70, 1, 35)
    assert analyse(EMOJI * 36) == SegmentInfo("UCS2", 72, 2, 36)
    # 33 emoji fill 66 units; the 34th does not fit in the unit that is left.
    assert [len(part) for part in split(EMOJI * 36)] == [33, 3]


def test_lone_surrogate_counts_one_unit():
    assert analyse("\ud83d") == SegmentInfo("UCS2", 1, 1, 1)


def test_ucs2_characters_are_the_ones_outside_gsm7_once_each_in_order():
    assert ucs2_characters("Mañana café, 10€ {ok}") == []
    assert ucs2_characters(f"Olá {EMOJI} ça va? {EMOJI} “ok” ó") == ["á", EMOJI, "ç", "“", "”", "ó"]
    assert encoding_of("ç") == "UCS2"
    assert encoding_of("Ç") == "GSM7"


@given(st.text())
def test_ucs2_characters_are_empty_exactly_for_gsm7_text(text):
    assert (ucs2_characters(text) == []) == is_gsm7(text)


def test_empty_text_has_no_parts():
    assert analyse("") == SegmentInfo("GSM7", 0, 0, 0)
    assert split("") == []
    assert credit_cost("") == 0


def test_credit_cost():
    assert credit_cost("hi") == 1.0
    assert credit_cost("a" * 161) == 2.0
    assert credit_cost("a" * 161, credits_per_part=0.25) == 0.5


def test_segment_info_is_frozen():
    info = analyse("hi")
    with pytest.raises(AttributeError):
        info.parts = 5  # type: ignore[misc]


# --- properties --------------------------------------------------------------------------------

# Weighted towards the interesting characters: plain GSM, extension, non-GSM BMP, astral.
CHARS = st.one_of(
    st.sampled_from(sorted(GSM7_BASIC)),
    st.sampled_from(sorted(GSM7_EXTENSION)),
    st.sampled_from(["ç", "\u2019", "Ж", "á", EMOJI, "\U0001f44d", "\U00020000"]),
    st.characters(codec="utf-8"),
)
GSM_CHARS = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))


def texts(chars: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Short free text, or long text built from runs so that multi-part messages are common."""
    runs = st.lists(st.tuples(st.text(chars, min_size=1, max_size=3), st.integers(1, 100)), max_size=6)
    return st.one_of(st.text(chars, max_size=40), runs.map(lambda rs: "".join(t * n for t, n in rs)))


GSM_TEXTS = texts(GSM_CHARS)
TEXTS = st.one_of(texts(CHARS), GSM_TEXTS)


def reference_parts(text: str) -> int:
    """A slow, obviously correct count: walk the characters and open a part when one won't fit."""
    if not text:
        return 0
    encoding = "GSM7" if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else "UCS2"
    single, limit = (160, 153) if encoding == "GSM7" else (70, 67)
    if units(text, encoding) <= single:
        return 1
    parts, fill = 1, 0
    for char in text:
        width = units(char, encoding)
        if fill + width > limit:
            parts, fill = parts + 1, 0
        fill += width
    return parts


@given(TEXTS)
@example("a" * 152 + "€" + "a" * 152)
@example("Ж" * 66 + EMOJI + "Ж" * 66)
def test_analyse_agrees_with_the_reference(text):
    info = analyse(text)
    assert info.parts == reference_parts(text)
    assert info.characters == len(text)
    assert info.length == units(text, info.encoding)
    assert info.encoding == ("GSM7" if is_gsm7(text) else "UCS2")


@given(TEXTS, TEXTS)
def test_parts_never_decrease_as_text_grows(text, suffix):
    before = analyse(text).parts
    assert analyse(text + suffix).parts >= before
    for index in range(1, min(len(suffix), 8) + 1):
        assert analyse(text + suffix[:index]).parts >= before


@given(GSM_TEXTS, GSM_TEXTS)
def test_parts_never_decrease_for_gsm7_text(text, suffix):
    assert analyse(text + suffix).parts >= analyse(text).parts


@given(TEXTS)
@example("a" * 152 + "€" + "a" * 152)
@example("€" * 200)
def test_split_rejoins_and_every_part_fits(text):
    info = analyse(text)
    parts = split(text)
    assert "".join(parts) == text
    assert len(parts) == info.parts
    assert all(parts)
    single, limit = (
        (GSM7_SINGLE_LIMIT, GSM7_PART_LIMIT)
        if info.encoding == "GSM7"
        else (UCS2_SINGLE_LIMIT, UCS2_PART_LIMIT)
    )
    if len(parts) == 1:
        assert units(parts[0], info.encoding) <= single
    else:
        for index, part in enumerate(parts):
            assert units(part, info.encoding) <= limit
            if index + 1 < len(parts):
                # Packed greedily: the next part's first character would not have fitted.
                next_char = parts[index + 1][0]
                assert units(part, info.encoding) + units(next_char, info.encoding) > limit


@given(TEXTS)
def test_parts_at_least_the_division_bound(text):
    info = analyse(text)
    if info.parts > 1:
        per_part = GSM7_PART_LIMIT if info.encoding == "GSM7" else UCS2_PART_LIMIT
        assert info.parts >= math.ceil(info.length / per_part)


@given(TEXTS, st.floats(min_value=0, max_value=10, allow_nan=False))
def test_credit_cost_is_parts_times_rate(text, rate):
    assert credit_cost(text, credits_per_part=rate) == analyse(text).parts * rate
