"""Recognising shared files in message bodies (XEP-0454), cheap enough for the GUI to import
before the network stack loads. Transfers themselves live in files.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from omemo_desktop.omemo.aesgcm_url import aesgcm_url_of_body, file_name_of_url

from .views import MessageView

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"})


@dataclass(frozen=True)
class SharedFile:
    """What a message body that is a shared file tells (the key stays inside `url`)."""

    url: str
    name: str

    @property
    def is_image(self) -> bool:
        return PurePosixPath(self.name).suffix.lower() in IMAGE_SUFFIXES

    def __repr__(self) -> str:  # the URL's fragment is the file's key
        return f"SharedFile(name={self.name!r})"


def shared_file(message: MessageView | str | None) -> SharedFile | None:
    """The shared file a message carries, if its whole body is one aesgcm:// link.

    Such a link must never be shown as a clickable link or opened in a browser: its fragment
    is the key. Show a file widget instead."""
    if isinstance(message, MessageView):
        if message.notice:
            return None
        body: str | None = message.body
    else:
        body = message
    url = aesgcm_url_of_body(body)
    return SharedFile(url, file_name_of_url(url)) if url is not None else None


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB"):
        if size < 1000:
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


__all__ = ["SharedFile", "human_size", "shared_file"]
