"""Encrypted file sharing (XEP-0454 over XEP-0363): upload, then an aesgcm:// link as the
body of an OMEMO message; download, verify the tag, and only then put the file in place.

Send: check the size against the upload service's limit (before anything leaves) → slot →
stream file → AES-256-GCM → PUT → the link goes through the ordinary send pipeline (outbox,
trust gate, OMEMO, rooms included). The message is stored only after the upload succeeded,
so a cancelled or failed upload leaves nothing in the history or the outbox.

Receive: a message whose whole body is one aesgcm:// link is a shared file
(`shared_file`). Downloads stream into a hidden temporary file next to the destination and
are renamed into place only after the GCM tag verified; on any failure the temporary file is
removed, so nothing half-written or unauthenticated is left where the person would look.

No OOB element (XEP-0066) is added: it would carry the link, and so the key, in the clear
(XEP-0454 §3 forbids that); clients that implement XEP-0454 recognise the body itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, Final, TypeVar

from omemo_desktop.omemo.filecrypt import (
    TAG_SIZE,
    BadAesgcmUrl,
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
from omemo_desktop.storage import DatabaseError, MessageRepository
from omemo_desktop.storage.model import Encryption, Message
from omemo_desktop.xmpp import http
from omemo_desktop.xmpp import upload as xupload
from omemo_desktop.xmpp.errors import XmppError

from .account import Account, bare
from .errors import (
    FileIntegrityError,
    FileTooLarge,
    ServiceError,
    TransferCancelled,
    TransferError,
)
from .events import EventBus, TransferProgress
from .sharing import human_size

log = logging.getLogger(__name__)
MESSAGES = MessageRepository()
CHUNK: Final = 256 * 1024
WRITE_BATCH: Final = 1024 * 1024
T = TypeVar("T")
ProgressCallback = Callable[[TransferProgress], None]


class _Progress:
    """Reports to the caller's callback and the bus, at most about a hundred times."""

    def __init__(
        self,
        bus: EventBus,
        callback: ProgressCallback | None,
        template: TransferProgress,
    ) -> None:
        self._bus, self._callback, self._t = bus, callback, template
        self._last_done = -1
        self._last_time = 0.0

    def _emit(self, event: TransferProgress) -> None:
        self._t = event
        self._bus.publish(event)
        if self._callback is not None:
            try:
                self._callback(event)
            except Exception:  # a UI bug must not break the transfer
                log.exception("progress callback failed")

    def total(self, total: int | None) -> None:
        self._t = replace(self._t, total=total)

    def step(self, done: int) -> None:
        total = self._t.total or 0
        now = time.monotonic()
        if done - self._last_done >= max(total // 100, 1) or now - self._last_time >= 0.2:
            self._last_done, self._last_time = done, now
            self._emit(replace(self._t, done=done))

    def end(self, state: str, error: str | None = None) -> None:
        done = self._t.total if state == "finished" and self._t.total is not None else self._t.done
        self._emit(replace(self._t, done=done, state=state, error=error))


async def _unless_cancelled(work: Awaitable[T], cancel: asyncio.Event | None) -> T:
    """Run `work`; if `cancel` is set first, cancel it (closing its socket) and say so."""
    task = asyncio.ensure_future(work)
    if cancel is None:
        return await task
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # our caller was cancelled: stop the work, stay cancelled
        task.cancel()
        raise
    finally:
        waiter.cancel()
    if not task.done():  # the person cancelled
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise TransferCancelled("The transfer was cancelled.")
    return task.result()


async def _in_thread(fn: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, fn)


class FileTransfers:
    """Per service: the upload service of each account (discovered once) and the TLS context."""

    def __init__(self, bus: EventBus, ca_file: Path | None) -> None:
        self._bus = bus
        self._ca_file = ca_file
        self._ssl: ssl.SSLContext | None = None
        self._services: dict[str, xupload.UploadService] = {}

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = http.make_ssl_context(self._ca_file)
        return self._ssl

    async def upload_service(self, acc: Account) -> xupload.UploadService:
        cached = self._services.get(acc.jid)
        if cached is not None:
            return cached
        domain = acc.jid.split("@", 1)[-1]
        try:
            found = await xupload.discover_upload_service(acc.client, domain)
        except XmppError as exc:
            raise TransferError(f"Could not ask {domain} about file uploads: {exc}.") from exc
        if found is None:
            raise TransferError(
                f"Your server {domain} offers no file upload (XEP-0363), so files cannot be "
                "shared from this account. Ask its administrator to enable it."
            )
        self._services[acc.jid] = found
        return found

    # ---- send ---------------------------------------------------------------------------

    async def send_file(
        self,
        acc: Account,
        peer: str,
        path: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: asyncio.Event | None = None,
        kick: bool = True,
    ) -> Message:
        """Upload `path` encrypted and queue the aesgcm:// link as an OMEMO message."""
        peer = bare(peer)
        try:
            st = await _in_thread(path.stat)
        except OSError as exc:
            raise TransferError(f"Cannot read {path}: {exc.strerror}.") from exc
        if not path.is_file():
            raise TransferError(f"{path} is not a file.")
        try:
            source: BinaryIO = await _in_thread(lambda: path.open("rb"))
        except OSError as exc:
            raise TransferError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            return await self._send_open_file(
                acc, peer, path, source, st.st_size, progress, cancel, kick
            )
        finally:
            source.close()

    async def _send_open_file(
        self,
        acc: Account,
        peer: str,
        path: Path,
        source: BinaryIO,
        size: int,
        progress: ProgressCallback | None,
        cancel: asyncio.Event | None,
        kick: bool,
    ) -> Message:
        meter = _Progress(
            self._bus,
            progress,
            TransferProgress(acc.jid, uuid.uuid4().hex, peer, "upload", path.name, 0, size),
        )
        try:
            service = await self.upload_service(acc)
            limit = service.max_file_size
            if limit is not None and encrypted_size(size) > limit:
                raise FileTooLarge(
                    f"{path.name} is too large to share: it has {human_size(size)}, and your "
                    f"server accepts files up to {human_size(max(limit - 16, 0))}. Nothing was "
                    "uploaded."
                )
            key = new_file_key(os.urandom)
            # A random name: the server sees it, the receiver needs only the extension.
            remote = uuid.uuid4().hex + path.suffix.lower()[:10]
            try:
                slot = await _unless_cancelled(
                    xupload.request_slot(
                        acc.client, service, remote, encrypted_size(size), CONTENT_TYPE
                    ),
                    cancel,
                )
                url = make_aesgcm_url(slot.get_url, key)
            except xupload.SlotRefused as exc:
                raise TransferError(f"The file was not shared: {exc}.") from exc
            except BadAesgcmUrl as exc:
                raise TransferError(f"The file was not shared: {exc}.") from exc
            except XmppError as exc:
                raise TransferError(f"The file was not shared: {exc}.") from exc
            body = self._encrypted_chunks(source, path, size, key, meter)
            try:
                await _unless_cancelled(
                    xupload.put_file(
                        slot,
                        body,
                        length=encrypted_size(size),
                        content_type=CONTENT_TYPE,
                        ssl_context=self.ssl_context,
                    ),
                    cancel,
                )
            except http.HttpError as exc:
                raise TransferError(
                    f"Uploading {path.name} failed: {exc}. Check your connection and try again."
                ) from exc
            try:
                msg = await acc.queue_message(peer, url, encryption=Encryption.OMEMO2)
            except DatabaseError as exc:
                raise ServiceError(
                    f"The file was uploaded but the message was not sent. {exc}"
                ) from exc
            if kick:
                acc.kick_outbox()
        except TransferCancelled:
            meter.end("cancelled")
            raise
        except asyncio.CancelledError:
            meter.end("cancelled")
            raise
        except ServiceError as exc:
            meter.end("failed", str(exc))
            raise
        meter.end("finished")
        return msg

    async def _encrypted_chunks(
        self, f: BinaryIO, path: Path, size: int, key: FileKey, meter: _Progress
    ) -> AsyncIterator[bytes]:
        enc = FileEncryptor(key)
        sent = 0
        while True:
            try:
                chunk = await _in_thread(partial(f.read, CHUNK))
            except OSError as exc:
                raise TransferError(f"Reading {path.name} failed: {exc.strerror}.") from exc
            if not chunk:
                break
            sent += len(chunk)
            if sent > size:
                break
            yield enc.update(chunk)
            meter.step(sent)
        if sent != size:  # the slot was asked for exactly `size`: a changing file cannot go
            raise TransferError(f"{path.name} changed while it was being uploaded; try again.")
        yield enc.finalize()

    # ---- receive ------------------------------------------------------------------------

    async def resolve(self, acc: Account, source: str) -> tuple[str, str]:
        """A message id or an aesgcm:// link -> (link, conversation)."""
        if source.strip().lower().startswith("aesgcm://"):
            return source.strip(), ""
        if not source.strip().isdigit():
            raise TransferError(f"{source!r} is neither a message id nor an aesgcm:// link.")
        msg = await acc.db.run(lambda c: MESSAGES.get(c, int(source)))
        url = aesgcm_url_of_body(msg.body) if msg is not None else None
        if msg is None or url is None:
            raise TransferError(f"Message {source} is not a shared file.")
        return url, msg.conversation

    async def download(
        self,
        acc: Account,
        source: str,
        dest: Path,
        *,
        progress: ProgressCallback | None = None,
        cancel: asyncio.Event | None = None,
        overwrite: bool = False,
    ) -> Path:
        url, peer = await self.resolve(acc, source)
        try:
            https_url, key = parse_aesgcm_url(url)
        except BadAesgcmUrl as exc:
            raise TransferError(f"The link cannot be downloaded: {exc}.") from exc
        if dest.is_dir():
            dest = dest / file_name_of_url(url)
        if dest.exists() and not overwrite:
            raise TransferError(f"{dest} exists already; choose another name.")
        if not dest.parent.is_dir():
            raise TransferError(f"The folder {dest.parent} does not exist.")
        meter = _Progress(
            self._bus,
            progress,
            TransferProgress(acc.jid, uuid.uuid4().hex, peer, "download", dest.name, 0, None),
        )
        part = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise TransferError(f"Cannot write into {dest.parent}: {exc.strerror}.") from exc
        out = os.fdopen(fd, "wb")
        try:
            await _unless_cancelled(self._fetch(https_url, key, out, meter), cancel)
            await _in_thread(partial(_sync, out))
            out.close()
            await _in_thread(lambda: os.replace(part, dest))
        except BaseException as exc:
            out.close()
            with contextlib.suppress(OSError):
                part.unlink()
            if isinstance(exc, TransferCancelled | asyncio.CancelledError):
                meter.end("cancelled")
                raise
            error = _download_error(exc, dest)
            meter.end("failed", str(error))
            if error is exc:
                raise
            raise error from exc
        meter.end("finished")
        return dest

    async def _fetch(self, url: str, key: FileKey, out: BinaryIO, meter: _Progress) -> None:
        dec = FileDecryptor(key)
        async with http.get(url, ssl_context=self.ssl_context) as (response, chunks):
            length = response.content_length
            if length is not None:
                if length < TAG_SIZE:
                    raise FileTagMismatch("the file is shorter than its authentication tag")
                meter.total(length - TAG_SIZE)
            pending: list[bytes] = []
            buffered = 0
            done = 0
            async for chunk in chunks:
                plain = dec.update(chunk)
                pending.append(plain)
                buffered += len(plain)
                done += len(plain)
                if buffered >= WRITE_BATCH:
                    data = b"".join(pending)
                    pending, buffered = [], 0
                    await _in_thread(partial(out.write, data))
                meter.step(done)
            pending.append(dec.finalize())  # raises on a bad tag: the caller removes the file
            data = b"".join(pending)
            await _in_thread(partial(out.write, data))


def _sync(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _download_error(exc: BaseException, dest: Path) -> BaseException:
    if isinstance(exc, FileTagMismatch):
        return FileIntegrityError(
            f"The downloaded file failed its integrity check ({exc}); it may have been changed "
            f"on the server. Nothing was saved to {dest}."
        )
    if isinstance(exc, http.HttpStatusError) and exc.status in (404, 410):
        return TransferError("The file is no longer on the server (it may have expired).")
    if isinstance(exc, http.HttpError):
        return TransferError(
            f"The download failed: {exc}. Check your connection and try again; nothing was saved."
        )
    if isinstance(exc, OSError):
        return TransferError(f"Could not save {dest}: {exc.strerror or exc}.")
    return exc


async def wait_until_sent(acc: Account, message_id: int, timeout: float = 60.0) -> str:
    """For the CLI: flush the outbox and return the message's delivery state."""
    try:
        await asyncio.wait_for(acc.flush_outbox(), timeout)
    except TimeoutError:
        return "pending"  # the caller says it was not accepted (yet)
    stored = await acc.db.run(lambda c: MESSAGES.get(c, message_id))
    return str(stored.state) if stored is not None else "missing"


CONTENT_TYPE: Final = "application/octet-stream"  # the bytes are ciphertext, whatever the file

__all__ = ["FileTransfers", "wait_until_sent"]
