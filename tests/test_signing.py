"""Tests for signing.py: both published known-answer vectors and Hypothesis properties."""

import hashlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from django_zoomconnect.signing import compute_checksum, signing_string, verify_checksum
from tests.known_answers import (
    FORM_CHECKSUM,
    FORM_PARAMS,
    FORM_STRING,
    PUBLISHED_WRONG_CHECKSUM,
    RAW_CHECKSUM,
    RAW_PARAMS,
    RAW_STRING,
)


def test_raw_known_answer():
    assert signing_string(RAW_PARAMS) == RAW_STRING
    assert compute_checksum(RAW_PARAMS, "secret") == RAW_CHECKSUM
    assert verify_checksum(RAW_PARAMS, RAW_CHECKSUM, "secret")


def test_form_known_answer():
    assert signing_string(FORM_PARAMS, encoding="form") == FORM_STRING
    assert compute_checksum(FORM_PARAMS, "secret", encoding="form") == FORM_CHECKSUM
    assert verify_checksum(FORM_PARAMS, FORM_CHECKSUM, "secret")


def test_the_getting_started_page_checksum_is_wrong():
    for encoding in ("raw", "form"):
        assert compute_checksum(RAW_PARAMS, "secret", encoding=encoding) != PUBLISHED_WRONG_CHECKSUM
    assert not verify_checksum(RAW_PARAMS, PUBLISHED_WRONG_CHECKSUM, "secret")


def test_checksum_parameter_is_not_signed():
    with_checksum = {**RAW_PARAMS, "checksum": "anything"}
    assert compute_checksum(with_checksum, "secret") == RAW_CHECKSUM
    assert verify_checksum(with_checksum, RAW_CHECKSUM, "secret")


def test_form_encoding_matches_php_urlencode():
    params = {"m": "a b~c*d'e(f)!/é€"}
    assert signing_string(params, encoding="form") == "m=a+b%7Ec%2Ad%27e%28f%29%21%2F%C3%A9%E2%82%AC"


def test_keys_sort_in_byte_order():
    assert signing_string({"b": "1", "B": "2", "a-b": "3", "a": "4"}) == "B=2&a=4&a-b=3&b=1"


def test_rotated_secrets_and_pinned_encodings():
    assert verify_checksum(RAW_PARAMS, RAW_CHECKSUM, ["new-secret", "secret"])
    assert not verify_checksum(RAW_PARAMS, RAW_CHECKSUM, ["new-secret", "old"])
    assert not verify_checksum(RAW_PARAMS, RAW_CHECKSUM, "secret", encodings=("form",))
    assert verify_checksum(RAW_PARAMS, RAW_CHECKSUM.upper(), "secret")


@pytest.mark.parametrize("checksum", [None, "", "zz", "not-hex-€", RAW_CHECKSUM[:-1]])
def test_missing_or_malformed_checksums_fail(checksum):
    assert not verify_checksum(RAW_PARAMS, checksum, "secret")


def test_empty_secrets_never_verify():
    assert not verify_checksum(RAW_PARAMS, RAW_CHECKSUM, [])
    assert not verify_checksum(RAW_PARAMS, compute_checksum(RAW_PARAMS, ""), ["", None or ""])


def test_unknown_encoding_is_an_error():
    with pytest.raises(ValueError, match="encoding"):
        signing_string(RAW_PARAMS, encoding="base64")  # type: ignore[arg-type]


params_strategy = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), max_size=8)
secret_strategy = st.text(min_size=1, max_size=20)
encoding_strategy = st.sampled_from(["raw", "form"])


@given(params=params_strategy, secret=secret_strategy, encoding=encoding_strategy)
def test_sign_then_verify(params, secret, encoding):
    params.pop("checksum", None)
    checksum = compute_checksum(params, secret, encoding=encoding)
    assert verify_checksum(params, checksum, secret)
    assert verify_checksum(params, checksum, [secret], encodings=(encoding,))


@given(params=params_strategy, secret=secret_strategy, encoding=encoding_strategy, data=st.data())
def test_key_order_does_not_matter(params, secret, encoding, data):
    items = list(params.items())
    shuffled = dict(data.draw(st.permutations(items)))
    assert compute_checksum(shuffled, secret, encoding=encoding) == compute_checksum(
        params, secret, encoding=encoding
    )


def _tamper(text: str, position: int, replacement: str) -> str:
    position %= len(text) + 1
    return text[:position] + replacement + text[position + 1 :]


def _hmac_key(secret: str) -> bytes:
    """The key HMAC-SHA1 really uses (RFC 2104): the secret's bytes, hashed when longer than the
    64-byte block, then padded with zeros to it. Secrets with the same padded key are one key."""
    key = secret.encode("utf-8")
    if len(key) > 64:
        key = hashlib.sha1(key).digest()  # noqa: S324 - HMAC-SHA1's own key derivation
    return key.ljust(64, b"\0")


def test_secrets_that_differ_only_by_trailing_nuls_are_the_same_hmac_key():
    # Not a weakness of ours: HMAC pads every key with zeros, so these are one key by definition.
    checksum = compute_checksum(RAW_PARAMS, "secret")
    assert verify_checksum(RAW_PARAMS, checksum, "secret\x00")
    assert verify_checksum(RAW_PARAMS, checksum, "secret\x00\x00\x00")
    assert _hmac_key("secret") == _hmac_key("secret\x00")
    assert not verify_checksum(RAW_PARAMS, checksum, "secret\x00x")
    assert not verify_checksum(RAW_PARAMS, checksum, "\x00secret")
    long_secret = "s" * 64  # a longer key is hashed first: a NUL then makes another key
    assert not verify_checksum(RAW_PARAMS, compute_checksum(RAW_PARAMS, long_secret), long_secret + "\x00")


@given(
    params=params_strategy.filter(bool),
    secret=secret_strategy,
    encoding=encoding_strategy,
    key_index=st.integers(min_value=0, max_value=7),
    what=st.sampled_from(["key", "value", "secret"]),
    position=st.integers(min_value=0, max_value=50),
    replacement=st.characters(codec="utf-8"),
)
# Found by Hypothesis: a NUL appended to the secret is the same HMAC key (see the test above).
@example(
    params={"0": ""}, secret="0", encoding="raw", key_index=0, what="secret", position=1, replacement="\x00"
)
def test_any_change_to_a_key_value_or_secret_fails(
    params, secret, encoding, key_index, what, position, replacement
):
    params.pop("checksum", None)
    if not params:
        return
    checksum = compute_checksum(params, secret, encoding=encoding)
    keys = sorted(params)
    key = keys[key_index % len(keys)]
    tampered = dict(params)
    tampered_secret = secret
    if what == "value":
        tampered[key] = _tamper(params[key], position, replacement)
        changed = tampered[key] != params[key]
    elif what == "key":
        new_key = _tamper(key, position, replacement)
        value = tampered.pop(key)
        changed = new_key != key and new_key not in params and new_key != "checksum" and bool(new_key)
        tampered[new_key] = value
    else:
        tampered_secret = _tamper(secret, position, replacement)
        changed = bool(tampered_secret) and _hmac_key(tampered_secret) != _hmac_key(secret)
    if what != "secret":
        # What is signed must change too: the provider's string does not escape "=" or "&" in
        # keys, so a changed key could in principle sign the very same string.
        changed = changed and signing_string(tampered, encoding=encoding) != signing_string(
            params, encoding=encoding
        )
    if changed:
        assert not verify_checksum(tampered, checksum, tampered_secret, encodings=(encoding,))
