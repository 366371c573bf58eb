"""The OMEMO 2 ratchet profile (XEP-0384 §4.3–4.5): info strings, MAC, wire encoding."""

from __future__ import annotations

from typing import Final

from .. import ratchet
from ..errors import MalformedMessage
from ..ratchet import Header, ParsedMessage
from . import wire

ROOT_INFO: Final = b"OMEMO Root Chain"
MESSAGE_KEY_INFO: Final = b"OMEMO Message Key Material"
MAC_LENGTH: Final = 16


class Omemo2Profile:
    """Stateless; use the module-level :data:`PROFILE`."""

    root_info: Final = ROOT_INFO
    max_skip: Final = ratchet.MAX_SKIP
    max_stored: Final = ratchet.MAX_STORED
    pn_inclusive: Final = True

    def seal(self, message_key: bytes, header: Header, plaintext: bytes, ad: bytes) -> bytes:
        enc_key, auth_key, iv = ratchet.expand_message_key(message_key, MESSAGE_KEY_INFO)
        ciphertext = ratchet.cbc_encrypt(enc_key, iv, plaintext)
        message = wire.encode_message(header.n, header.pn, header.dh_pub, ciphertext)
        mac = ratchet.truncated_mac(auth_key, ad + message, MAC_LENGTH)
        return wire.encode_authenticated(mac, message)

    def parse(self, data: bytes) -> ParsedMessage:
        authenticated = wire.parse_authenticated(data)
        message = wire.parse_message(authenticated.message)
        if not message.ciphertext:
            raise MalformedMessage("OMEMOMessage has no ciphertext")
        header = Header(message.dh_pub, message.pn, message.n)
        return ParsedMessage(header, message.ciphertext, authenticated.mac, authenticated.message)

    def open(self, message_key: bytes, message: ParsedMessage, ad: bytes) -> bytes:
        enc_key, auth_key, iv = ratchet.expand_message_key(message_key, MESSAGE_KEY_INFO)
        ratchet.check_mac(auth_key, ad + message.authenticated, message.mac)
        return ratchet.cbc_decrypt(enc_key, iv, message.ciphertext)


PROFILE: Final = Omemo2Profile()
