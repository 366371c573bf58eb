"""Published vectors (see /work/shared/specs/test-vectors.md and xep0392.md for sources)."""

from __future__ import annotations

import itertools

import pytest

from omemo_desktop.omemo import colors, fingerprint, primitives, ratchet
from omemo_desktop.omemo.keys import IdentityKeyPair
from omemo_desktop.omemo.twomemo import profile
from omemo_desktop.omemo.twomemo.x3dh import shared_secret

H = bytes.fromhex


@pytest.mark.parametrize("impl", [primitives.hkdf_sha256, primitives.hkdf_sha256_reference])
def test_hkdf_rfc5869_a1_a2(impl: object) -> None:
    assert callable(impl)
    okm = impl(H("0b" * 22), H("000102030405060708090a0b0c"), H("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm == H(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )
    okm = impl(bytes(range(0x00, 0x50)), bytes(range(0x60, 0xB0)), bytes(range(0xB0, 0x100)), 82)
    assert okm == H(
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e"
        "590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"
    )


def test_x25519_rfc7748() -> None:
    a = H("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    b = H("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    assert primitives.x25519_public_bytes(a) == H(
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    )
    shared = H("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert primitives.x25519(a, primitives.x25519_public_bytes(b)) == shared
    assert primitives.x25519(b, primitives.x25519_public_bytes(a)) == shared


@pytest.mark.parametrize(
    ("seed", "public", "message", "signature"),
    [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
            "1cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
            "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ],
)
def test_ed25519_rfc8032(seed: str, public: str, message: str, signature: str) -> None:
    assert primitives.ed25519_public(H(seed)) == H(public)
    assert primitives.ed25519_sign(H(seed), H(message)) == H(signature)
    primitives.ed25519_verify(H(public), H(signature), H(message))


def test_libsodium_ed25519_to_curve25519() -> None:
    pair = IdentityKeyPair.from_seed(
        H("421151a459faeade3d247115f94aedae42318124095afabe4d1451a559faedee")
    )
    assert pair.x25519_public == H(
        "f1814f0e8ff1043d8a44d25babff3cedcae6c22c3edaa48f857ae70de2baae50"
    )
    assert pair.x25519_private == H(
        "8052030376d47112be7f73ed7a019293dd12ad910b654455798b4667d73de166"
    )
    assert primitives.x25519_public_bytes(pair.x25519_private) == pair.x25519_public
    # the fingerprint is the Curve25519 form
    assert fingerprint.fingerprint(pair.ed25519_public) == pair.x25519_public.hex()


def test_chain_key_vectors_omemo2_and_legacy() -> None:
    ck = H("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f")
    next_ck, mk = ratchet.kdf_ck(ck)
    assert next_ck == H("28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d")
    enc, auth, iv = ratchet.expand_message_key(mk, profile.MESSAGE_KEY_INFO)
    assert enc == H("0f6c976863336e89bf7c8c10c18d9fde60b4debd1ff832b863bbb19eeb4c8824")
    assert auth == H("360a0e0a032caa4ff68092a56e90bbe53e81e224e93ffb2d0bb7c0f4c2a01838")
    assert iv == H("609249259d6e2eecde1009bd3331249c")
    enc, auth, _ = ratchet.expand_message_key(mk, b"WhisperMessageKeys")
    assert enc == H("bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217")
    assert auth == H("c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b")


def test_x3dh_core_python_x3dh_vector() -> None:
    ik_b = H("4088d9d13c8942fc54837fca2af042dabddcc0ce3e58beba1a32727e8701fb50")
    spk_b = H("f842f570ab3810fc17e6ac84609ebc9ee900b2c88646443b08037dd35c806b66")
    opk_b = H("882cc2fd514c970395a239aba61a444ba0533e2bd3551dcbc4e2634ac2d9c366")
    ik_a = H("ab7e967d88446df3c19522e301356fc9480b8663b32ac2b7d1644942a98f965a")
    ek_a = H("3fc7be25aa53fe4c4b18fb1d2dfbf467147f236f67373bc10b97611f6c09ba20")
    sk = shared_secret(
        primitives.x25519(spk_b, ik_a),
        primitives.x25519(ik_b, ek_a),
        primitives.x25519(spk_b, ek_a),
        primitives.x25519(opk_b, ek_a),
        info=b"test_migrations",
    )
    assert sk == H("4b82cff274d62690a210e09dbc4d48fe43b73e615a83712d81cdd45deafb8aa4")


XEP0392 = [
    ("Romeo", 327.255249, (0.865, 0.000, 0.686), 327, (1.0, 0.0, 0.8)),
    ("juliet@capulet.lit", 209.410400, (0.000, 0.515, 0.573), 226, (0.0, 0.8, 1.0)),
    ("\U0001f63a", 331.199341, (0.872, 0.000, 0.659), 331, (1.0, 0.4, 0.8)),
    ("council", 359.994507, (0.918, 0.000, 0.394), 359, (0.8, 0.2, 0.4)),
    ("Board", 171.430664, (0.000, 0.527, 0.457), 161, (0.0, 1.0, 0.8)),
]


@pytest.mark.parametrize(("text", "angle", "rgb", "_hue", "_prgb"), XEP0392)
def test_xep0392_full_range(
    text: str, angle: float, rgb: tuple[float, ...], _hue: int, _prgb: tuple[float, ...]
) -> None:
    assert round(colors.hue_angle(text), 6) == pytest.approx(angle, abs=1e-6)
    assert colors.rgb_for(text) == pytest.approx(rgb, abs=0.0005)


@pytest.mark.parametrize(("text", "_angle", "_rgb", "hue", "prgb"), XEP0392)
def test_xep0392_web_safe_palette(
    text: str, _angle: float, _rgb: tuple[float, ...], hue: int, prgb: tuple[float, ...]
) -> None:
    steps = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    palette = colors.build_palette(list(itertools.product(steps, repeat=3)))
    best, rgb = colors.palette_color(text, palette)
    assert best == hue
    assert rgb == pytest.approx(prgb, abs=0.0005)


def test_hsluv_round_trip_and_fingerprint_colours() -> None:
    for rgb in [(0.2, 0.4, 0.6), (1.0, 0.0, 0.0), (0.1, 0.9, 0.3)]:
        assert colors.hsluv_to_rgb(*colors.rgb_to_hsluv(*rgb)) == pytest.approx(rgb, abs=1e-6)
    fp = "6e3c9a01" * 8
    assert colors.fingerprint_group_colors(fp) == [colors.hex_color("6e3c9a01")] * 8
