"""Published libsignal vectors (shared/specs/test-vectors.md §D, §E, §F1, §F2, §G, §I)."""

from __future__ import annotations

import pytest

from omemo_desktop.omemo import primitives, ratchet
from omemo_desktop.omemo.errors import BadSignature, InvalidKey
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.legacy import signatures, wire
from omemo_desktop.omemo.legacy.session import MESSAGE_KEY_INFO, x3dh_secret

h = bytes.fromhex


# §D: libsignal-protocol-c tests/test_curve25519.c (agreement, generate_public)
def test_d_prefixed_keys_and_agreement() -> None:
    alice_priv = h("c806439dc9d2c476ffed8f2580c0888d58ab406bf7ae3698879021b96bb4bf59")
    alice_pub = h("051bb75966f2e93a3691dfff942bb2a466a1c08b8d78ca3f4d6df8b8bfa2e4ee28")
    bob_priv = h("b03b34c33a1c44f225b662d2bf4859b8135411fa7b0386d45fb75dc5b91b4466")
    bob_pub = h("05653614993d2b15ee9e5fd3d86ce719ef4ec1daae1886a87b3f5fa9565a27a22f")
    shared = h("325f239328941ced6e673b86ba41017448e99b649a9c3806c1dd7ca4c477e629")
    assert wire.encode_key(primitives.x25519_public_bytes(alice_priv)) == alice_pub
    assert wire.encode_key(primitives.x25519_public_bytes(bob_priv)) == bob_pub
    assert primitives.x25519(alice_priv, wire.decode_key(bob_pub)) == shared
    assert primitives.x25519(bob_priv, wire.decode_key(alice_pub)) == shared


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x05" * 32, b"\x06" + b"\x01" * 32, b"\x05" + b"\x01" * 33, b"\x05" + b"\xff" * 32],
)
def test_d_bad_keys_rejected(bad: bytes) -> None:
    with pytest.raises(InvalidKey):
        wire.decode_key(bad)


# §E: libsodium ed25519_convert — our identity's Curve25519 form (the legacy identity key)
def test_e_identity_curve_form() -> None:
    pair = IdentityKeyPair.from_seed(
        h("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee")
    )
    assert pair.x25519_public == h(
        "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
    )
    assert pair.x25519_private == h(
        "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"
    )


# §F1: libsignal-protocol-c tests/test_curve25519.c test_curve25519_signature
F1_PUB = h("05ab7e717d4a163b7d9a1d8071dfe9dcf8cdcd1cea3339b6356be84d887e322c64")
F1_MSG = h("05edce9d9c415ca78cb7252e72c2c4a554d3eb29485a0e1d503118d1a82d99fb4a")
F1_SIG = h(
    "5de88ca9a89b4a115da79109c67c9c7464a3e4180274f1cb8c63c2984e286dfb"
    "ede82deb9dcd9fae0bfbb821569b3d9001bd8130cd11d486cef047bd60b86e88"
)


def test_f1_curvesig_verifies() -> None:
    signatures.verify(wire.decode_key(F1_PUB), F1_SIG, F1_MSG)


def test_f1_sign_bit_is_honoured() -> None:
    cleared = F1_SIG[:63] + bytes([F1_SIG[63] & 0x7F])
    with pytest.raises(BadSignature):
        signatures.verify(wire.decode_key(F1_PUB), cleared, F1_MSG)
    # the derived Edwards key of the vector
    assert primitives.mont_to_ed(wire.decode_key(F1_PUB), 1) == h(
        "6e76ed464e9784130e359de1d7cd59c71d12abb745b0c436f7a2a0c93bc562c4"
    )


@pytest.mark.parametrize("index", range(64))
def test_f1_bit_flip_fails(index: int) -> None:
    sig = bytearray(F1_SIG)
    sig[index] ^= 0x01
    with pytest.raises(BadSignature):
        signatures.verify(wire.decode_key(F1_PUB), bytes(sig), F1_MSG)


def test_f1_wrong_message_or_length_fails() -> None:
    with pytest.raises(BadSignature):
        signatures.verify(wire.decode_key(F1_PUB), F1_SIG, F1_MSG[:-1] + b"\x00")
    with pytest.raises(BadSignature):
        signatures.verify(wire.decode_key(F1_PUB), F1_SIG[:63], F1_MSG)


# §F2: libsignal-protocol-c internal_fast_tests.c (xeddsa_fast_test, curvesigs_fast_test)
F2_PRIV = h("0000000000000000bd0000000000000000000000000000000000000000000040")
F2_XEDDSA = h(
    "11c7f3e6c4df9e8a5150e1db3b30f92de3a3b3aa438656545fa7390f4bcc7bb2"
    "6c431d9e90643e4f0eaa0e9c557766fa69ada576d63dcaf2ac326c11d0b97702"
)
F2_CURVESIG = h(
    "cf873d0379ac20e8893e5567ee0f8951f8db840d26b243b463526689d01ca718"
    "ac189fb1678574ebdde569330659448b0bd6c1973f7d780ab39518626803d782"
)


def test_f2_public_key() -> None:
    assert signatures.curve_public_from_private(F2_PRIV) == h(
        "5995f464e9d34d5ca56b9905b9a3cc37c456b2d8d313edbcf584b705b5c04955"
    )


def test_f2_xeddsa_deterministic() -> None:
    assert signatures.xeddsa_sign(F2_PRIV, bytes(200), bytes(64)) == F2_XEDDSA
    u = signatures.curve_public_from_private(F2_PRIV)
    signatures.xeddsa_verify(u, F2_XEDDSA, bytes(200))
    signatures.verify(u, F2_XEDDSA, bytes(200))  # the libsignal-style verifier accepts it too


def test_f2_curvesig_deterministic() -> None:
    assert signatures.curvesig_sign(F2_PRIV, bytes(200), bytes(64)) == F2_CURVESIG
    signatures.verify(signatures.curve_public_from_private(F2_PRIV), F2_CURVESIG, bytes(200))


def test_f2_xeddsa_verify_rejects_tampering() -> None:
    u = signatures.curve_public_from_private(F2_PRIV)
    for i in (0, 31, 32, 63):
        sig = bytearray(F2_XEDDSA)
        sig[i] ^= 0x01
        with pytest.raises(BadSignature):
            signatures.xeddsa_verify(u, bytes(sig), bytes(200))
    with pytest.raises(BadSignature):
        signatures.xeddsa_verify(u, F2_XEDDSA, bytes(199))


# §G: libsignal-protocol-java ChainKeyTest.testChainKeyDerivationV3
def test_g_legacy_chain_step() -> None:
    ck = h("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f")
    next_ck, mk = ratchet.kdf_ck(ck)
    enc, mac, iv = ratchet.expand_message_key(mk, MESSAGE_KEY_INFO)
    assert enc == h("bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217")
    assert mac == h("c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b")
    assert iv == h("afa8207986b692a116d4b40bbff72d6c")
    assert next_ck == h("28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d")


# §I: libsignal-protocol-java RatchetingSessionTest.testRatchetingSessionAsBob
def test_i_x3dh_as_bob() -> None:
    bob_ik = h("4875cc69ddf8ea0719ec947d61081135868d5fd801f02c0225e516df2156605e")
    bob_spk = h("583900131fb727998b7803fe6ac22cc591f342e4e42a8c8d5d78194209b8d253")
    assert wire.encode_key(primitives.x25519_public_bytes(bob_ik)) == h(
        "05f1f43874f6966956c2dd473f8fa15adeb71d1cb991b2341692324cefb1c5e626"
    )
    assert wire.encode_key(primitives.x25519_public_bytes(bob_spk)) == h(
        "05ac248a8f263be6863576eb0362e28c828f0107a3379d34bab1586bf8c770cd67"
    )
    alice_ik = wire.decode_key(
        h("05b4a8455660ada65b401007f615e654041746432e3339c6875149bceefcb42b4a")
    )
    alice_base = wire.decode_key(
        h("05472d1fb1a9862c3af6beaca8920277e2b26f4a79213ec7c906aeb35e03cf8950")
    )
    root, ck0 = x3dh_secret(
        primitives.x25519(bob_spk, alice_ik),
        primitives.x25519(bob_ik, alice_base),
        primitives.x25519(bob_spk, alice_base),
        None,
    )
    assert ck0 == h("9797caca53c989bbe229a40ca7727010eb2604fc14945d77958a0aeda088b44d")
    assert root == h("3e6130d0a8c8e5b8ad65eb8b7d95fa3ab84710d48d92f34dcda43f9909261bca")
