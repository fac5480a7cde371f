"""Tests for phone.py: the spellings people type, the refusals and their reasons, wire formats."""

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from django_zoomconnect import phone
from django_zoomconnect.exceptions import PhoneNumberError

# --- normalize ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "+27821234567",
        "+27 82 123 4567",
        "27821234567",
        "27 82 123 4567",
        "082 123 4567",
        "082-123-4567",
        "(082) 123 4567",
        "0821234567",
        "0027821234567",
        "00 27 82 123 4567",
        "821234567",  # the leading zero a spreadsheet ate
        "  +27 82 123 4567\n",
        "+27 (0)82 123 4567",
    ],
)
def test_normalize_accepts_what_people_type(text):
    assert phone.normalize(text) == "+27821234567"


def test_digits_with_a_foreign_country_code_and_no_plus():
    assert phone.normalize("447911123456") == "+447911123456"
    assert phone.normalize("1 201 555 0123") == "+12015550123"


def test_default_region_is_read_at_call_time(settings):
    assert phone.normalize("07911 123456", region="GB") == "+447911123456"
    with pytest.raises(PhoneNumberError):
        phone.normalize("07911 123456")
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "DEFAULT_REGION": "GB"}
    assert phone.normalize("07911 123456") == "+447911123456"
    # An explicit region still wins, and a number with its country code ignores both.
    assert phone.normalize("082 123 4567", region="za") == "+27821234567"
    assert phone.normalize("+27821234567") == "+27821234567"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("hello", "not a phone number"),
        ("12", "too short for country code +27 (ZA)"),
        ("+99 123 456", "unknown country calling code"),
        ("+27821234567890123456", "too long"),
        ("+27 82 123 4567 890", "too long for country code +27 (ZA)"),
        ("00 1", "too short after the international prefix"),
        ("082 123 4567 ext. 12", "it has an extension (12), which an SMS cannot reach"),
        ("+1 201 555 01234", "too long for country code +1 (US)"),
        ("+44 7911 12345", "not in the numbering plan for country code +44 (GB)"),
        ("+800 1234 567", "too short for country code +800"),
    ],
)
def test_invalid_numbers_say_why_and_name_the_input(value, reason):
    with pytest.raises(PhoneNumberError) as caught:
        phone.normalize(value)
    assert str(caught.value) == f"{value!r} is not a valid phone number: {reason}."
    assert caught.value.number == value
    assert isinstance(caught.value, ValueError)


def test_number_outside_the_numbering_plan_is_refused():
    # A possible length for ZA, but no ZA number starts with 099.
    with pytest.raises(PhoneNumberError, match=r"not in the numbering plan for country code \+27 \(ZA\)"):
        phone.normalize("099 234 5678")


@pytest.mark.parametrize("value", [None, 27821234567, b"+27821234567", ["+27821234567"]])
def test_non_string_input_is_a_phone_number_error(value):
    with pytest.raises(PhoneNumberError, match="expected a string") as caught:
        phone.normalize(value)
    assert caught.value.number == value
    assert not phone.is_valid(value)


@pytest.mark.parametrize("region", ["XX", "", "South Africa", 27])
def test_unknown_region_is_a_plain_value_error(region):
    with pytest.raises(ValueError, match="region") as caught:
        phone.normalize("0821234567", region=region)
    assert not isinstance(caught.value, PhoneNumberError)


def test_digits_that_are_valid_in_the_default_region_are_read_there_first():
    # Vienna's +43 1 234567 without its "+" is also East London's 043 123 4567; the default
    # region wins, which is why "digits" is not the default wire format.
    assert phone.normalize("431234567") == "+27431234567"
    assert phone.normalize("+431234567") == "+431234567"


def test_parse_returns_the_phonenumber():
    parsed = phone.parse("082 123 4567")
    assert parsed.country_code == 27
    assert phonenumbers.number_type(parsed) == PhoneNumberType.MOBILE


# --- is_valid, same_number ---------------------------------------------------------------------


def test_is_valid():
    assert phone.is_valid("082 123 4567")
    assert phone.is_valid("07911 123456", region="GB")
    assert not phone.is_valid("07911 123456")
    assert not phone.is_valid("12")
    assert not phone.is_valid("")


def test_same_number():
    assert phone.same_number("082 123 4567", "+27821234567")
    assert phone.same_number("27821234567", "0027 82 123 4567")
    assert not phone.same_number("082 123 4567", "082 123 4568")
    assert not phone.same_number("12", "12")
    # Opaque ids appear in real webhooks (to=INF-…): they equal nothing, not even themselves.
    assert not phone.same_number("INF-WnV8e3c2tsHTQKDb", "INF-WnV8e3c2tsHTQKDb")
    assert phone.same_number("07911 123456", "+447911123456", region="GB")


# --- to_wire -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("e164", "+27821234567"), ("digits", "27821234567"), ("national", "0821234567")],
)
def test_to_wire_formats(fmt, expected):
    assert phone.to_wire("+27821234567", fmt=fmt) == expected
    assert phone.to_wire("082 123 4567", fmt=fmt) == expected


def test_to_wire_national_for_a_foreign_number_uses_the_international_prefix():
    assert phone.to_wire("+447911123456", fmt="national") == "00447911123456"
    assert phone.to_wire("+447911123456", fmt="national", region="GB") == "07911123456"
    # Within the North American plan a long-distance number is dialled with its leading 1.
    assert phone.to_wire("+12015550123", fmt="national", region="US") == "12015550123"
    assert phone.to_wire("+27821234567", fmt="national", region="US") == "01127821234567"


def test_to_wire_default_format_comes_from_settings(settings):
    assert phone.to_wire("0821234567") == "+27821234567"
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "PHONE_NUMBER_FORMAT": "digits"}
    assert phone.to_wire("0821234567") == "27821234567"
    settings.ZOOMCONNECT = {**settings.ZOOMCONNECT, "PHONE_NUMBER_FORMAT": "national"}
    assert phone.to_wire("+27821234567") == "0821234567"


def test_to_wire_refuses_an_unknown_format_and_invalid_numbers():
    with pytest.raises(ValueError, match=r"'E\.164' is not one of 'e164', 'digits', 'national'"):
        phone.to_wire("+27821234567", fmt="E.164")
    with pytest.raises(PhoneNumberError, match="'12'"):
        phone.to_wire("12", fmt="e164")


# --- properties --------------------------------------------------------------------------------


def _example_numbers() -> list[phonenumbers.PhoneNumber]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.append(example)
    return numbers


EXAMPLES = _example_numbers()
SA_MOBILES = st.builds(
    lambda prefix, rest: phonenumbers.parse(f"+27{prefix}{rest}"),
    st.sampled_from(["61", "72", "73", "76", "79", "82", "83", "84"]),
    st.text("0123456789", min_size=7, max_size=7),
)
VALID_NUMBERS = st.one_of(st.sampled_from(EXAMPLES), SA_MOBILES)
REGIONS = st.sampled_from(["ZA", "GB", "US", "DE", "IN", "AU", "BR", "NG"])
STYLES = st.sampled_from([PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.RFC3966])


def test_there_are_plenty_of_example_numbers():
    assert len(EXAMPLES) > 400


@given(VALID_NUMBERS, STYLES, REGIONS)
def test_normalize_is_idempotent(number, style, region):
    written = phonenumbers.format_number(number, style)
    once = phone.normalize(written, region=region)
    assert once == phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert phone.normalize(once, region=region) == once
    assert phone.is_valid(written, region=region)


@given(VALID_NUMBERS)
def test_national_spelling_in_its_own_region_normalizes(number):
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    assert phone.normalize(national, region=region) == phonenumbers.format_number(
        number, PhoneNumberFormat.E164
    )


@given(VALID_NUMBERS, st.sampled_from(["e164", "national"]), REGIONS)
def test_to_wire_round_trips_through_normalize(number, fmt, region):
    e164 = phone.normalize(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    wire = phone.to_wire(e164, fmt=fmt, region=region)
    assert phone.normalize(wire, region=region) == e164


@given(VALID_NUMBERS, REGIONS)
@example(phonenumbers.parse("+4915123456789"), "DE")  # also a valid German national number
def test_digits_round_trip_unless_also_a_national_number_of_the_region(number, region):
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    wire = phone.to_wire(e164, fmt="digits", region=region)
    assert wire == e164[1:]
    national_reading = phonenumbers.parse(wire, region)
    if not phonenumbers.is_valid_number(national_reading):
        assert phone.normalize(wire, region=region) == e164
    else:
        # The documented ambiguity: a valid national reading wins over the international one,
        # even for the region's own numbers ("4915123456789" in DE is +49 4915123456789).
        national = phonenumbers.format_number(national_reading, PhoneNumberFormat.E164)
        assert phone.normalize(wire, region=region) == national


@given(SA_MOBILES)
def test_south_african_mobiles_in_every_spelling(number):
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    national = "0" + e164[3:]
    for spelling in (
        e164,
        e164[1:],
        national,
        "00" + e164[1:],
        f"{national[:3]} {national[3:6]} {national[6:]}",
    ):
        assert phone.normalize(spelling) == e164
    assert [phone.to_wire(e164, fmt=f) for f in ("e164", "digits", "national")] == [e164, e164[1:], national]


@given(st.text(max_size=30), REGIONS)
def test_any_text_either_normalizes_or_raises_phone_number_error(text, region):
    if phone.is_valid(text, region=region):
        result = phone.normalize(text, region=region)
        assert result.startswith("+")
        assert result[1:].isdigit()
        assert phone.normalize(result) == result
    else:
        with pytest.raises(PhoneNumberError) as caught:
            phone.normalize(text, region=region)
        assert str(caught.value).startswith(f"{text!r} is not a valid phone number: ")
        assert caught.value.number == text


def _the_long_way(text):
    try:
        return phonenumbers.format_number(phone._parse_in(text, "ZA"), PhoneNumberFormat.E164)
    except PhoneNumberError:
        return None


def _e164_spellings():
    """Every example number of every region and type in E.164, and near misses of each: a digit
    more, a digit less, the last digit changed, a zero after the country code."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            text = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            code = str(example.country_code)
            national = text[1 + len(code) :]
            yield from (text, text + "5", text[:-1], text[:-1] + str((int(text[-1]) + 1) % 10))
            yield f"+{code}0{national}"
    for code in (800, 808, 870, 878, 881, 882, 883, 888, 979):  # the non-geographic ones
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            yield phonenumbers.format_number(example, PhoneNumberFormat.E164)


def test_the_e164_shortcut_agrees_with_parsing_on_every_example_number_and_near_miss():
    spellings = sorted(set(_e164_spellings()))
    taken = [text for text in spellings if phone._valid_e164(text) is not None]
    assert len(taken) > len(spellings) // 3  # the shortcut does serve the usual case
    for text in spellings:
        fast = phone._valid_e164(text)
        assert fast is None or fast == text
        if fast is not None:
            assert _the_long_way(text) == text, (
                text
            )  # never accepts what parsing would refuse or read otherwise


def _near_misses(national):
    """``national``, each digit changed two ways, a digit less and a digit more."""
    yield national
    for i, digit in enumerate(national):
        for step in (1, 5):
            yield national[:i] + str((int(digit) + step) % 10) + national[i + 1 :]
    yield national[:-1]
    yield national + "7"


def test_one_pattern_per_numbering_plan_agrees_with_phonenumbers_on_every_example_and_near_miss():
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumber

    checked = valid = 0
    for text in sorted(set(_e164_spellings())):
        number = phonenumbers.parse(text, None)
        code = number.country_code
        if len(COUNTRY_CODE_TO_REGION_CODE.get(code, ())) != 1:
            continue  # the region is chosen by the number: phonenumbers decides those itself
        for national in _near_misses(str(number.national_number)):
            if not national or national[0] == "0":
                continue
            expected = phonenumbers.is_valid_number(
                PhoneNumber(country_code=code, national_number=int(national))
            )
            assert (phone._numbering_plan(code, len(national)).fullmatch(national) is not None) == expected, (
                code,
                national,
            )
            checked += 1
            valid += expected
    assert checked > 50_000
    assert checked // 10 < valid < checked  # both answers are well represented


@given(VALID_NUMBERS)
def test_the_e164_shortcut_never_disagrees_with_parsing(number):
    text = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    fast = phone._valid_e164(text)
    assert fast is None or fast == _the_long_way(text)


@pytest.mark.parametrize(
    "text",
    [
        "+27 82 123 4567",
        "+27-821234567",
        "+270821234567",
        "+39 06 1234 5678",
        "+390612345678",
        "+2782\u0661\u0662\u0663\u0664\u0665\u0666\u0667",
    ],
)
def test_what_the_shortcut_leaves_still_normalizes_the_long_way(text):
    assert phone._valid_e164(text) is None
    assert phone.normalize(text) == _the_long_way(text.strip())
