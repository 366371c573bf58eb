"""XEP-0454 file encryption: URL layout (the XEP's vector), streaming vs one-shot AES-GCM."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from omemo_desktop.omemo.filecrypt import (
    BadAesgcmUrl,
    FileCryptoError,
    FileDecryptor,
    FileEncryptor,
    FileKey,
    FileTagMismatch,
    aesgcm_url_of_body,
    encrypted_size,
    file_name_of_url,
    make_aesgcm_url,
    new_file_key,
    parse_aesgcm_url,
)

GET = "https://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg"
IV = bytes.fromhex("8c3d050e9386ec173861778f")
KEY = bytes.fromhex("68e9af38a97aaf82faa4063b4d0878a61261534410c8a84331eaac851759f587")
URL = (
    "aesgcm://download.montague.tld/4a771ac1-f0b2-4a4a-9700-f2a26fa2bb67/tr%C3%A8s%20cool.jpg"
    "#8c3d050e9386ec173861778f68e9af38a97aaf82faa4063b4d0878a61261534410c8a84331eaac851759f587"
)


def test_url_matches_the_xep_example_both_ways() -> None:
    assert make_aesgcm_url(GET, FileKey(IV, KEY)) == URL
    https, key = parse_aesgcm_url(URL)
    assert https == GET and key == FileKey(IV, KEY)
    assert file_name_of_url(URL) == "très cool.jpg"


def test_legacy_16_byte_iv_and_uppercase_hex_are_accepted() -> None:
    iv16 = bytes(range(16))
    url = f"aesgcm://h.example/f#{(iv16 + KEY).hex().upper()}"
    assert parse_aesgcm_url(url)[1] == FileKey(iv16, KEY)


@pytest.mark.parametrize(
    "url",
    [
        "https://h.example/f#" + "00" * 44,
        "aesgcm://h.example/f",
        "aesgcm://h.example/f#" + "00" * 43,
        "aesgcm://h.example/f#" + "zz" * 44,
        "aesgcm:///f#" + "00" * 44,
    ],
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(BadAesgcmUrl):
        parse_aesgcm_url(url)


def test_only_https_links_become_aesgcm_links() -> None:
    with pytest.raises(BadAesgcmUrl, match="https"):
        make_aesgcm_url("http://127.0.0.1:5280/f", FileKey(IV, KEY))


def test_body_recognition_is_strict() -> None:
    assert aesgcm_url_of_body(URL) == URL
    assert aesgcm_url_of_body(URL + "\ndata:image/jpeg;base64,/9j/4AAQ") == URL
    assert aesgcm_url_of_body("look: " + URL) is None
    assert aesgcm_url_of_body(URL + "\nnice") is None
    assert aesgcm_url_of_body(URL + " ") is None
    assert aesgcm_url_of_body(None) is None
    assert aesgcm_url_of_body("aesgcm://h/f#123") is None


def test_keys_are_checked_and_never_printed() -> None:
    with pytest.raises(FileCryptoError):
        FileKey(IV, KEY[:16])
    with pytest.raises(FileCryptoError):
        FileKey(IV[:8], KEY)
    assert KEY.hex() not in repr(FileKey(IV, KEY))
    k = new_file_key(os.urandom)
    assert len(k.iv) == 12 and len(k.key) == 32


def _stream(data: bytes, sizes: list[int], key: FileKey) -> bytes:
    enc = FileEncryptor(key)
    out, pos, i = [], 0, 0
    while pos < len(data):
        n = sizes[i % len(sizes)] or 1
        out.append(enc.update(data[pos : pos + n]))
        pos, i = pos + n, i + 1
    out.append(enc.finalize())
    return b"".join(out)


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3000),
    sizes=st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=8),
)
def test_streaming_equals_one_shot_aesgcm_both_ways(data: bytes, sizes: list[int]) -> None:
    key = FileKey(IV, KEY)
    oracle = AESGCM(KEY).encrypt(IV, data, None)  # ciphertext ‖ tag
    assert _stream(data, sizes, key) == oracle
    assert len(oracle) == encrypted_size(len(data))
    dec = FileDecryptor(key)
    plain, pos, i = [], 0, 0
    while pos < len(oracle):
        n = sizes[i % len(sizes)] or 1
        plain.append(dec.update(oracle[pos : pos + n]))
        pos, i = pos + n, i + 1
    plain.append(dec.finalize())
    assert b"".join(plain) == data


def test_a_flipped_bit_or_a_cut_file_fails_the_tag() -> None:
    key = FileKey(IV, KEY)
    blob = bytearray(AESGCM(KEY).encrypt(IV, b"x" * 1000, None))
    blob[500] ^= 1
    dec = FileDecryptor(key)
    dec.update(bytes(blob))
    with pytest.raises(FileTagMismatch, match="integrity"):
        dec.finalize()
    dec = FileDecryptor(key)
    dec.update(b"short")
    with pytest.raises(FileTagMismatch, match="shorter"):
        dec.finalize()


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("aesgcm://h/a/..%2F..%2Fetc%2Fpasswd#", "_.._etc_passwd"),
        ("aesgcm://h/a/.hidden#", "hidden"),
        ("aesgcm://h/a/#", "file"),
        ("aesgcm://h/a/..#", "file"),
        ("aesgcm://h/a/C%3A%5Cx.exe#", "C__x.exe"),
    ],
)
def test_file_names_from_links_cannot_escape_the_folder(url: str, name: str) -> None:
    assert file_name_of_url(url + "00" * 44) == name
