"""Test-only adapter around Syndace's python-twomemo backend (the OMEMO 2 reference oracle).

Never imported by the application. Runs the async backend with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from types import MappingProxyType
from typing import Any, TypeVar

import twomemo.twomemo as tw
import x3dh
from omemo.session import Initiation

from omemo_desktop.omemo.twomemo.x3dh import Bundle
from tests.helpers.reference_storage import MemoryStorage

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Peer:
    """One twomemo device with its sessions held in memory."""

    def __init__(self, jid: str = "them@example.org", device_id: int = 4242) -> None:
        self.jid = jid
        self.device_id = device_id
        self.backend = tw.Twomemo(MemoryStorage())
        self.sessions: dict[tuple[str, int], tw.SessionImpl] = {}
        run(self.backend.generate_pre_keys(100))

    def bundle_impl(self) -> tw.BundleImpl:
        return run(self.backend.get_bundle(self.jid, self.device_id))

    def bundle(self) -> Bundle:
        impl = self.bundle_impl()
        by_key = impl.pre_key_ids
        return Bundle(
            impl.bundle.identity_key,
            impl.signed_pre_key_id,
            impl.bundle.signed_pre_key,
            impl.bundle.signed_pre_key_sig,
            MappingProxyType({pk_id: key for key, pk_id in by_key.items()}),
        )

    # --- sending -------------------------------------------------------------------------
    def initiate(self, ours: Bundle, jid: str, device_id: int) -> None:
        impl = tw.BundleImpl(
            jid,
            device_id,
            x3dh.Bundle(ours.ik, ours.spk, ours.spks, frozenset(ours.prekeys.values())),
            ours.spk_id,
            {key: pk_id for pk_id, key in ours.prekeys.items()},
        )
        session, _ = run(
            self.backend.build_session_active(
                jid, device_id, impl, tw.PlainKeyMaterialImpl.make_empty()
            )
        )
        # The session's first message is produced again by encrypt() below; the one made
        # while building is simply not delivered (a lost message).
        self.sessions[(jid, device_id)] = session

    def encrypt(self, key_material: bytes, jid: str, device_id: int) -> tuple[bytes, bool]:
        session = self.sessions[(jid, device_id)]
        plain = tw.PlainKeyMaterialImpl(key_material[:32], key_material[32:])
        encrypted = run(self.backend.encrypt_key_material(session, plain))
        data = encrypted.serialize()
        if session.initiation is Initiation.ACTIVE and not session.confirmed:
            return session.key_exchange.serialize(data), True
        return data, False

    # --- receiving -----------------------------------------------------------------------
    def decrypt(self, data: bytes, kex: bool, jid: str, device_id: int) -> bytes:
        key = (jid, device_id)
        if kex:
            exchange, inner = tw.KeyExchangeImpl.parse(data)
            existing = self.sessions.get(key)
            if existing is not None and existing.key_exchange.builds_same_session(exchange):
                data = inner
            else:
                encrypted = tw.EncryptedKeyMaterialImpl.parse(inner, jid, device_id)
                session, plain = run(
                    self.backend.build_session_passive(jid, device_id, exchange, encrypted)
                )
                self.sessions[key] = session
                return plain.key + plain.auth_tag
        encrypted = tw.EncryptedKeyMaterialImpl.parse(data, jid, device_id)
        plain = run(self.backend.decrypt_key_material(self.sessions[key], encrypted))
        return plain.key + plain.auth_tag

    def encrypt_payload(self, plaintext: bytes) -> tuple[bytes, bytes]:
        content, plain = run(self.backend.encrypt_plaintext(plaintext))
        return content.ciphertext, plain.key + plain.auth_tag

    def decrypt_payload(self, ciphertext: bytes, key_material: bytes) -> bytes:
        content = tw.ContentImpl(ciphertext)
        plain = tw.PlainKeyMaterialImpl(key_material[:32], key_material[32:])
        return run(self.backend.decrypt_plaintext(content, plain))


def random_bytes(n: int) -> bytes:
    return os.urandom(n)
