"""The GUI composition root: parse arguments, paint the window, then start the service.

Order matters for start-up time: PySide6 first (qasync needs to know the binding), the
window is shown and painted, and only then is the service (slixmpp, storage) imported.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omemo_desktop.ui.single_instance import SingleInstance

log = logging.getLogger(__name__)

DATA_DIR_ENV = "OMEMO_DESKTOP_DATA_DIR"
CA_FILE_ENV = "OMEMO_DESKTOP_CA_FILE"


def app_version() -> str:
    """The installed distribution's version (bundled builds ship its metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("omemo-desktop")
    except PackageNotFoundError:
        from omemo_desktop import __version__

        return __version__


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for (importlib.metadata and the distribution
    scan cost ~30 ms, which every start would otherwise pay before the first paint)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"omemo-desktop {app_version()}")
        parser.exit()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="omemo-desktop", description="A desktop XMPP messenger with OMEMO encryption."
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(DATA_DIR_ENV),
        help=f"where accounts and messages are kept (env {DATA_DIR_ENV})",
    )
    parser.add_argument(
        "--ca-file",
        default=os.environ.get(CA_FILE_ENV),
        help=f"an extra trusted CA certificate, PEM (env {CA_FILE_ENV})",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="show the main window, process events and exit 0 (no network)",
    )
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING, ERROR")
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument(
        "uri",
        nargs="?",
        help="an xmpp: link to open (a chat, ?message, ?join, ?roster or a verification link); "
        "an app already running on the same data folder gets it instead",
    )
    return parser.parse_args(argv)


def resolve_data_dir(override: str | None) -> Path:
    try:
        from omemo_desktop import paths
    except ImportError:  # paths.py is optional for the GUI
        import platformdirs

        chosen = override or platformdirs.user_data_dir("omemo-desktop")
        path = Path(chosen).expanduser()
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path
    return paths.data_dir(override)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        from omemo_desktop import log as app_log

        app_log.setup(args.log_level)
    except ImportError:
        logging.basicConfig(level=args.log_level.upper())

    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)

    import qasync  # after PySide6, so qasync picks that binding

    from omemo_desktop.ui.main_window import MainWindow
    from omemo_desktop.ui.tasks import TaskRunner

    app.setApplicationName("omemo-desktop")
    app.setOrganizationName("omemo-desktop")
    app.setDesktopFileName("omemo-desktop")
    from omemo_desktop.ui.theme import SystemTheme

    SystemTheme(app)  # light or dark, as the system is (parented to the app: lives as long)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    runner = TaskRunner(loop)

    if args.smoke:
        settings = QSettings()  # never written in smoke mode
        window = MainWindow(runner, settings)
        window.show()
        app.processEvents()
        QTimer.singleShot(150, app.quit)
        app.exec()
        window.close()
        loop.close()
        return 0

    data_dir = resolve_data_dir(args.data_dir)
    instance = _claim_single_instance(data_dir, args.uri or "")
    if isinstance(instance, int):  # an app already runs on this data: it got the link
        loop.close()
        return instance
    ca_file = Path(args.ca_file).expanduser() if args.ca_file else None
    settings = QSettings(str(data_dir / "gui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(runner, settings)
    window.show()
    app.processEvents()

    # Links from later launches; queued until the service is up (None from then on).
    links: list[str] | None = [args.uri] if args.uri else []

    def on_link(uri: str) -> None:
        log.info("a later launch handed over %r", uri)
        window.showNormal()
        window.raise_()
        window.activateWindow()
        if uri and links is not None:
            links.append(uri)
        elif uri:
            window.open_uri(uri)

    instance.received.connect(on_link)
    from omemo_desktop.ui.single_instance import UrlOpenEvents

    url_events = UrlOpenEvents(app)  # macOS: clicked links arrive as events, not arguments
    app.installEventFilter(url_events)
    url_events.received.connect(on_link)

    # Quitting goes through the coroutine (so the service closes on a running loop),
    # not through QApplication.quit(), which would stop the loop under it.
    app.setQuitOnLastWindowClosed(False)
    quit_event = asyncio.Event()
    window.quit_requested.connect(quit_event.set)
    exit_code = 0

    async def run() -> None:
        nonlocal exit_code, links
        await asyncio.sleep(0)  # let the window paint before the network stack loads
        from omemo_desktop.service.api import KeyringUnavailable, ServiceError, create_messenger

        try:
            messenger = create_messenger(data_dir, ca_file)
        except ImportError as error:
            log.error("the service could not be loaded", exc_info=error)
            window.show_message_box(
                "omemo-desktop cannot start",
                "The messaging service of this build is missing or broken "
                f"({error}). Reinstall omemo-desktop; if that does not help, report it.",
            )
            exit_code = 1
            window.close()
            return
        window.attach(messenger)
        try:
            await messenger.start()
        except KeyringUnavailable as error:
            window.show_message_box("No keyring available", str(error))
            exit_code = 1
            window.close()
            await messenger.close()
            return
        except ServiceError as error:
            window.show_error(str(error))
        window.reload_accounts()
        if not messenger.accounts():
            window.open_add_account()
        queued, links = links or [], None
        for uri in queued:
            window.open_uri(uri)
        try:
            await quit_event.wait()
        finally:
            await messenger.close()

    try:
        with loop:
            loop.run_until_complete(run())
    finally:
        app.removeEventFilter(url_events)
        instance.close()
    return exit_code


def _claim_single_instance(data_dir: Path, uri: str) -> SingleInstance | int:
    """Listen for later launches, or hand `uri` to the app already running on `data_dir`
    and return the exit code (0 handed over, 1 that app did not answer)."""
    from omemo_desktop.ui.single_instance import (
        AnotherInstanceNotResponding,
        SingleInstance,
        hand_over,
        server_name,
    )

    name = server_name(data_dir)
    instance = SingleInstance(name)
    try:
        # Try the running app first, then listen; losing a race to listen means another
        # launch started just now: hand over to that one.
        if hand_over(name, uri) or (not instance.listen() and hand_over(name, uri)):
            log.info("omemo-desktop is already running on %s: handed it %r", data_dir, uri)
            return 0
    except AnotherInstanceNotResponding as error:
        print(
            f"omemo-desktop: already running on {data_dir}, but {error}. "
            "Close it (or end it) and start again.",
            file=sys.stderr,
        )
        return 1
    return instance
