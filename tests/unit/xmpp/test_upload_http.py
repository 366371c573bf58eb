"""XEP-0363 stanza parsing and the streaming HTTP client against in-process servers
(plain and TLS with a throw-away CA): chunked bodies, redirects, errors, broken connections,
certificate checks; and the service's download errors (nothing left at the destination)."""

from __future__ import annotations

import asyncio
import os
import ssl
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from omemo_desktop.omemo.filecrypt import FileKey, make_aesgcm_url
from omemo_desktop.service.errors import FileIntegrityError, TransferCancelled, TransferError
from omemo_desktop.service.events import EventBus, TransferProgress
from omemo_desktop.service.files import FileTransfers
from omemo_desktop.xmpp import http
from omemo_desktop.xmpp.upload import (
    NS_UPLOAD,
    UploadError,
    build_slot_request,
    parse_service_info,
    parse_slot,
)
from tests.helpers.tls import make_ca

DISCO = "http://jabber.org/protocol/disco#info"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def test_service_info_with_and_without_a_size_limit() -> None:
    info = ET.fromstring(
        f"""<query xmlns='{DISCO}'>
          <identity category='store' type='file'/><feature var='{NS_UPLOAD}'/>
          <x xmlns='jabber:x:data' type='result'>
            <field var='FORM_TYPE' type='hidden'><value>{NS_UPLOAD}</value></field>
            <field var='max-file-size'><value>5242880</value></field>
          </x></query>"""
    )
    service = parse_service_info("upload.example", info)
    assert service is not None and service.max_file_size == 5242880
    bare = ET.fromstring(f"<query xmlns='{DISCO}'><feature var='{NS_UPLOAD}'/></query>")
    assert parse_service_info("u", bare) == type(service)("u", None)
    other = ET.fromstring(f"<query xmlns='{DISCO}'><feature var='urn:x'/></query>")
    assert parse_service_info("u", other) is None


def test_slot_keeps_only_the_allowed_headers_without_newlines() -> None:
    slot = parse_slot(
        ET.fromstring(
            f"""<slot xmlns='{NS_UPLOAD}'>
              <put url='https://up.example/a/b'>
                <header name='Authorization'>Bearer x
y</header>
                <header name='X-Evil'>1</header>
                <header name='cookie'>c=1</header>
                <header name='Expires'>soon</header>
              </put><get url='https://dl.example/a/b'/></slot>"""
        )
    )
    assert slot.put_url == "https://up.example/a/b" and slot.get_url == "https://dl.example/a/b"
    assert slot.headers == (("Authorization", "Bearer xy"), ("cookie", "c=1"), ("Expires", "soon"))
    assert "Bearer" not in repr(slot)
    with pytest.raises(UploadError):
        parse_slot(ET.fromstring(f"<slot xmlns='{NS_UPLOAD}'><get url='x'/></slot>"))
    req = build_slot_request("a.jpg", 10, "image/jpeg")
    assert req.attrib == {"filename": "a.jpg", "size": "10", "content-type": "image/jpeg"}


# ---- in-process servers --------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = make_ca(tmp_path_factory.mktemp("ca"), ["localhost"])
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(ca.cert_file, ca.key_file)
    return server, ca.ca_file


async def _serve(handler: Handler, ctx: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0, ssl=ctx)
    return server, server.sockets[0].getsockname()[1]


async def _request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ln)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return lines[0], headers, body


@pytest.fixture
async def servers() -> AsyncIterator[list[asyncio.Server]]:
    made: list[asyncio.Server] = []
    yield made
    for s in made:
        s.close()
        await s.wait_closed()


PLAIN = ssl.create_default_context()


async def test_chunked_download_and_put_with_headers(servers: list[asyncio.Server]) -> None:
    seen: list[tuple[str, dict[str, str], bytes]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, headers, body = await _request(reader)
        seen.append((line, headers, body))
        if line.startswith("PUT"):
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b"hello ", b"chunked ", b"world"):
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            writer.write(b"0\r\n\r\n")
        await writer.drain()

    server, port = await _serve(handler)
    servers.append(server)

    async def body() -> AsyncIterator[bytes]:
        for piece in (b"ab", b"cd"):
            yield piece

    response = await http.put(
        f"http://127.0.0.1:{port}/up?x=1",
        body(),
        length=4,
        headers=[("Authorization", "Bearer t")],
        ssl_context=PLAIN,
    )
    assert response.status == 201
    line, headers, sent = seen[0]
    assert line == "PUT /up?x=1 HTTP/1.1" and sent == b"abcd"
    assert headers["authorization"] == "Bearer t" and headers["content-length"] == "4"
    async with http.get(f"http://127.0.0.1:{port}/f", ssl_context=PLAIN) as (resp, chunks):
        assert resp.content_length is None
        assert b"".join([c async for c in chunks]) == b"hello chunked world"


async def test_errors_are_named(servers: list[asyncio.Server]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await _request(reader)
        if "/gone" in line:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        elif "/down" in line:
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\n\r\n")
        elif "/cut" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        else:
            writer.write(b"garbage\r\n\r\n")
        await writer.drain()

    server, port = await _serve(handler)
    servers.append(server)
    base = f"http://127.0.0.1:{port}"
    with pytest.raises(http.HttpStatusError) as err:
        async with http.get(base + "/gone", ssl_context=PLAIN):
            pass
    assert err.value.status == 404
    with pytest.raises(http.HttpConnectionError, match="before the file was complete"):
        async with http.get(base + "/cut", ssl_context=PLAIN) as (_, chunks):
            async for _ in chunks:
                pass
    with pytest.raises(http.HttpError, match="malformed"):
        async with http.get(base + "/junk", ssl_context=PLAIN):
            pass
    with pytest.raises(http.HttpConnectionError, match="could not connect"):
        async with http.get("http://127.0.0.1:1/x", ssl_context=PLAIN):
            pass


async def test_tls_is_verified_and_https_never_redirects_to_http(
    servers: list[asyncio.Server], tls: tuple[ssl.SSLContext, Path]
) -> None:
    server_ctx, ca_file = tls

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await _request(reader)
        if "/down" in line:
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    server, port = await _serve(handler, server_ctx)
    servers.append(server)
    url = f"https://127.0.0.1:{port}"
    with pytest.raises(http.HttpCertificateError, match="could not be verified"):
        async with http.get(url + "/f", ssl_context=http.make_ssl_context(None)):
            pass
    trusted = http.make_ssl_context(ca_file)
    async with http.get(url + "/f", ssl_context=trusted) as (_, chunks):
        assert b"".join([c async for c in chunks]) == b"ok"
    with pytest.raises(http.HttpError, match="insecure"):
        async with http.get(url + "/down", ssl_context=trusted):
            pass


# ---- the service's download path -----------------------------------------------------------


def _account() -> object:
    return SimpleNamespace(jid="me@localhost")


async def test_download_failures_leave_nothing_and_say_why(
    servers: list[asyncio.Server], tls: tuple[ssl.SSLContext, Path], tmp_path: Path
) -> None:
    server_ctx, ca_file = tls
    key = FileKey(os.urandom(12), os.urandom(32))
    plain = os.urandom(200_000)
    blob = AESGCM(key.key).encrypt(key.iv, plain, None)
    stall = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line, _, _ = await _request(reader)
        data = blob if "/good" in line else blob[:-1] + bytes([blob[-1] ^ 1])
        if "/cut" in line:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(blob))
            writer.write(blob[:1000])
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data))
        writer.write(data[:50_000])
        await writer.drain()
        if "/slow" in line:
            await stall.wait()
        writer.write(data[50_000:])
        await writer.drain()

    server, port = await _serve(handler, server_ctx)
    servers.append(server)
    transfers = FileTransfers(EventBus(), ca_file)
    acc = _account()

    def link(name: str) -> str:
        return make_aesgcm_url(f"https://127.0.0.1:{port}/{name}", key)

    out = tmp_path / "out"
    out.mkdir()
    steps: list[TransferProgress] = []
    saved = await transfers.download(acc, link("good.bin"), out, progress=steps.append)  # type: ignore[arg-type]
    assert saved == out / "good.bin" and saved.read_bytes() == plain
    assert steps[-1].state == "finished" and steps[-1].total == len(plain)
    saved.unlink()
    with pytest.raises(FileIntegrityError, match="Nothing was saved"):
        await transfers.download(acc, link("bad.bin"), out)  # type: ignore[arg-type]
    with pytest.raises(TransferError, match=r"download failed.*before the file was complete"):
        await transfers.download(acc, link("cut.bin"), out)  # type: ignore[arg-type]
    with pytest.raises(TransferError, match="could not connect"):
        await transfers.download(acc, link("x").replace(str(port), "1"), out)  # type: ignore[arg-type]
    cancel = asyncio.Event()

    def cancel_once_started(p: TransferProgress) -> None:
        if p.done > 0:
            cancel.set()  # the server now stalls mid-file

    with pytest.raises(TransferCancelled):
        await transfers.download(
            acc,  # type: ignore[arg-type]
            link("slow.bin"),
            out,
            progress=cancel_once_started,
            cancel=cancel,
        )
    stall.set()
    assert list(out.iterdir()) == []
    with pytest.raises(TransferError, match="neither a message id"):
        await transfers.download(acc, "https://example.org/x", out)  # type: ignore[arg-type]


async def test_an_early_refusal_during_a_put_is_reported(servers: list[asyncio.Server]) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the body is never read
        writer.write(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    server, port = await _serve(handler)
    servers.append(server)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b"z" * 65536

    response = await http.put(
        f"http://127.0.0.1:{port}/up", body(), length=64 * 65536, ssl_context=PLAIN
    )
    assert response.status == 413
