"""Logging set-up shared by the GUI and the CLI.

slixmpp logs raw stanzas (SASL exchanges included) at DEBUG, so its loggers are capped at
INFO whatever level the user picks: secrets never reach a log.
"""

from __future__ import annotations

import logging
from pathlib import Path

NOISY = ("slixmpp", "asyncio")


def setup(level: str = "WARNING", log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    floor = max(logging.INFO, logging.getLevelName(level.upper()))
    for name in NOISY:
        logging.getLogger(name).setLevel(floor if isinstance(floor, int) else logging.INFO)
    # slixmpp reports an expected certificate failure at ERROR; we report it ourselves.
    logging.getLogger("slixmpp.xmlstream.xmlstream").setLevel(logging.CRITICAL)
