"""A small streaming HTTP/1.1 client for file transfers (XEP-0363 PUT, download GET).

asyncio streams for the I/O and h11 (a sans-I/O HTTP/1.1 parser) for the protocol, so a
hostile or odd server cannot trip a hand-written parser. One request per connection
(`Connection: close`), bodies streamed in both directions, never held whole in memory.
TLS is verified with the context the caller passes (system CAs plus a configured CA);
there is no switch to turn verification off. Cancelling the awaiting task aborts the
transfer and closes the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urljoin, urlsplit

import h11

from .errors import XmppError

USER_AGENT: Final = "omemo-desktop"
READ_SIZE: Final = 256 * 1024
MAX_REDIRECTS: Final = 5


class HttpError(XmppError):
    """An HTTP transfer failed (network, TLS, protocol or an error status)."""


class HttpConnectionError(HttpError):
    """The server could not be reached or the connection broke off."""


class HttpCertificateError(HttpConnectionError):
    """The server's TLS certificate did not verify."""


class HttpStatusError(HttpError):
    def __init__(self, status: int, reason: str, url: str) -> None:
        super().__init__(f"the server answered {status} {reason}".rstrip())
        self.status = status
        self.url = url


def make_ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The system's CAs, plus `ca_file` if given; certificates and host names always checked."""
    ctx = ssl.create_default_context()
    if ca_file is not None:
        ctx.load_verify_locations(cafile=str(ca_file))
    return ctx


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]  # lower-case names
    url: str

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None


class _Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self.reader, self.writer, self.timeout = reader, writer, timeout
        self.h11 = h11.Connection(h11.CLIENT)
        self.eof = False

    async def send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            try:
                self.writer.write(data)
                await asyncio.wait_for(self.writer.drain(), self.timeout)
            except TimeoutError as exc:
                raise HttpConnectionError("the server stopped taking data") from exc
            except OSError as exc:
                raise HttpConnectionError(f"the connection broke off ({exc})") from exc

    async def next_event(self, idle: bool = False) -> h11.Event | type[h11.PAUSED]:
        """The next HTTP event; `idle` waits without a time limit (an answer that may come
        while we are still uploading)."""
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                if self.eof:  # h11 reports a body cut short by the peer this way
                    raise HttpConnectionError(
                        "the connection closed before the file was complete"
                    ) from exc
                raise HttpError(f"the server sent a malformed HTTP answer ({exc})") from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                data = await asyncio.wait_for(
                    self.reader.read(READ_SIZE), None if idle else self.timeout
                )
            except TimeoutError as exc:
                raise HttpConnectionError("the server stopped answering") from exc
            except OSError as exc:
                raise HttpConnectionError(f"the connection broke off ({exc})") from exc
            self.eof = not data
            self.h11.receive_data(data)

    async def response(self, url: str, idle: bool = False) -> Response:
        while True:
            event = await self.next_event(idle)
            if isinstance(event, h11.InformationalResponse):
                continue  # 100 Continue and friends
            if isinstance(event, h11.Response):
                headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers
                }
                return Response(
                    event.status_code, event.reason.decode("latin-1", "replace"), headers, url
                )
            if isinstance(event, h11.ConnectionClosed):
                raise HttpConnectionError("the server closed the connection without answering")
            raise HttpError(f"unexpected HTTP event {type(event).__name__}")

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpConnectionError("the connection closed before the file was complete")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)


async def _open(url: str, ssl_context: ssl.SSLContext, timeout: float) -> _Connection:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"cannot transfer over {scheme or 'a link without a scheme'}://")
    secure = scheme == "https"
    port = parts.port or (443 if secure else 80)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                parts.hostname,
                port,
                ssl=ssl_context if secure else None,
                server_hostname=parts.hostname if secure else None,
                limit=READ_SIZE * 2,
            ),
            timeout,
        )
    except ssl.SSLCertVerificationError as exc:
        raise HttpCertificateError(
            f"the certificate of {parts.hostname} could not be verified ({exc.verify_message})"
        ) from exc
    except TimeoutError as exc:
        raise HttpConnectionError(f"{parts.hostname} did not answer in time") from exc
    except OSError as exc:
        raise HttpConnectionError(f"could not connect to {parts.hostname} ({exc})") from exc
    return _Connection(reader, writer, timeout)


def _target(url: str) -> tuple[bytes, bytes]:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.netloc.encode("idna"), path.encode("ascii")


async def put(
    url: str,
    body: AsyncIterable[bytes],
    *,
    length: int,
    headers: Sequence[tuple[str, str]] = (),
    ssl_context: ssl.SSLContext,
    timeout: float = 30.0,
) -> Response:
    """Stream `length` bytes from `body` to `url`; returns the response (any status)."""
    conn = await _open(url, ssl_context, timeout)
    try:
        host, target = _target(url)
        request_headers: list[tuple[bytes, bytes]] = [
            (b"Host", host),
            (b"User-Agent", USER_AGENT.encode()),
            (b"Content-Length", str(length).encode()),
            (b"Connection", b"close"),
            *((n.encode("latin-1"), v.encode("latin-1")) for n, v in headers),
        ]
        await conn.send(h11.Request(method="PUT", target=target, headers=request_headers))
        # Read while sending: a server that refuses early (413, 401) answers and closes, and
        # a reset would otherwise destroy its answer before we read it.
        answer = asyncio.ensure_future(conn.response(url, idle=True))
        try:
            try:
                # Errors of `body` itself (reading the file) propagate unchanged.
                async for chunk in body:
                    if answer.done():
                        break
                    await _send_body(conn, h11.Data(data=chunk))
                else:
                    await _send_body(conn, h11.EndOfMessage())
            except _SendFailed as failed:
                with contextlib.suppress(HttpError, TimeoutError):
                    return await asyncio.wait_for(answer, 5.0)
                raise HttpConnectionError(f"the upload broke off: {failed.reason}") from None
            try:
                return await asyncio.wait_for(asyncio.shield(answer), timeout)
            except TimeoutError as exc:
                raise HttpConnectionError("the server did not confirm the upload") from exc
        finally:
            answer.cancel()
            await asyncio.gather(answer, return_exceptions=True)
    finally:
        await conn.close()


class _SendFailed(Exception):
    def __init__(self, reason: BaseException) -> None:
        self.reason = reason


async def _send_body(conn: _Connection, event: h11.Event) -> None:
    try:
        await conn.send(event)
    except HttpConnectionError as exc:
        raise _SendFailed(exc) from exc
    except h11.LocalProtocolError as exc:
        raise HttpError(f"the file did not have the announced size ({exc})") from exc


@contextlib.asynccontextmanager
async def get(
    url: str, *, ssl_context: ssl.SSLContext, timeout: float = 30.0
) -> AsyncIterator[tuple[Response, AsyncIterator[bytes]]]:
    """GET with redirects (never from https down to http); yields (response, body chunks).

    Anything but 200 raises HttpStatusError.
    """
    for _ in range(MAX_REDIRECTS + 1):
        conn = await _open(url, ssl_context, timeout)
        try:
            host, target = _target(url)
            await conn.send(
                h11.Request(
                    method="GET",
                    target=target,
                    headers=[
                        (b"Host", host),
                        (b"User-Agent", USER_AGENT.encode()),
                        (b"Accept-Encoding", b"identity"),
                        (b"Connection", b"close"),
                    ],
                )
            )
            await conn.send(h11.EndOfMessage())
            response = await conn.response(url)
            location = response.headers.get("location")
            if response.status in (301, 302, 303, 307, 308) and location:
                new = urljoin(url, location)
                if urlsplit(url).scheme == "https" and urlsplit(new).scheme != "https":
                    raise HttpError("the server redirected the download to an insecure link")
                url = new
                continue
            if response.status != 200:
                raise HttpStatusError(response.status, response.reason, url)
            yield response, conn.body()
            return
        finally:
            await conn.close()
    raise HttpError("the server redirected the download too often")


__all__ = [
    "HttpCertificateError",
    "HttpConnectionError",
    "HttpError",
    "HttpStatusError",
    "Response",
    "get",
    "make_ssl_context",
    "put",
]
