"""Add account, trust decisions, fingerprints and QR, verification links, subscriptions,
search, settings."""

from __future__ import annotations

import asyncio

from PySide6.QtGui import QGuiApplication

from omemo_desktop.service.api import (
    AuthenticationError,
    SubscriptionRequested,
    TrustDecisionNeeded,
)
from omemo_desktop.ui import colors
from omemo_desktop.ui.dialogs import TrustDialog
from omemo_desktop.ui.main_window import MainWindow
from omemo_desktop.ui.qt_compat import emit
from tests.gui.conftest import ALICE, BOB, BOB_LAPTOP, BOB_PHONE
from tests.helpers.fake_messenger import FakeMessenger


def test_add_account_success_with_progress(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_add_account()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.jid.setText("dave@example.net")
    dialog.password.setText("secret")
    dialog.server.setText("127.0.0.1:5222")
    dialog.register.setChecked(True)
    assert dialog.ok.text() == "Create account"
    fake.gate = asyncio.Event()
    dialog.ok.click()
    drive.settle()
    assert dialog.busy.isVisible()
    assert "127.0.0.1:5222" in dialog.busy.label.text()
    assert not dialog.jid.isEnabled()
    fake.gate.set()
    drive.until(lambda: not dialog.isVisible())
    call = fake.called("add_account")[0]
    assert call.args == ("dave@example.net", "secret")
    assert call.kwargs == {"server": "127.0.0.1:5222", "register": True}
    assert window.account_box.currentText() == "dave@example.net"
    assert window.account_box.count() == 2


def test_add_account_shows_readable_errors(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_add_account()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.jid.setText("not an address")
    dialog.ok.click()
    assert dialog.error.isVisible() and "name@example.org" in dialog.error.label.text()
    dialog.jid.setText("dave@example.net")
    dialog.password.setText("pw")
    dialog.server.setText("host:99999")
    dialog.ok.click()
    assert "port number" in dialog.error.label.text()
    assert not fake.called("add_account")
    dialog.server.clear()
    text = "The server rejected the password for dave@example.net. Check it and try again."
    fake.fail["add_account"] = AuthenticationError(text)
    dialog.ok.click()
    drive.until(lambda: dialog.error.label.text() == text)
    assert dialog.isVisible() and dialog.jid.isEnabled() and not dialog.busy.isVisible()
    fake.fail["add_account"] = RuntimeError("boom")
    dialog.ok.click()
    drive.until(lambda: "report" in dialog.error.label.text())
    assert "RuntimeError" in dialog.error.label.text()


def trust_dialog(window: MainWindow) -> TrustDialog:
    return window.trust_dialogs[(ALICE, BOB)]


def test_trust_dialog_from_event_trust_calls_set_trust(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.emit(TrustDecisionNeeded(ALICE, BOB, (BOB_LAPTOP,)))
    dialog = trust_dialog(window)
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert dialog.banner.kind == "warning"
    row = dialog.rows[777]
    assert len(row.fingerprint.group_labels) == 8
    assert "Laptop" in row.trust.accessibleName()
    row.trust.click()
    drive.until(lambda: fake.called("set_trust"))
    assert fake.called("set_trust")[0].args == (ALICE, BOB, 777, "trusted")
    drive.until(lambda: not dialog.isVisible())


def test_key_changed_variant_is_a_loud_warning(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    fake.emit(TrustDecisionNeeded(ALICE, BOB, (BOB_LAPTOP, BOB_PHONE), key_changed=True))
    dialog = trust_dialog(window)
    qtbot.addWidget(dialog)
    assert dialog.banner.kind == "danger"
    assert "has changed" in dialog.banner.label.text()
    dialog.rows[777].distrust.click()
    drive.until(lambda: fake.called("set_trust"))
    assert fake.called("set_trust")[0].args == (ALICE, BOB, 777, "distrusted")
    assert dialog.isVisible()  # device 4242 still undecided


def test_repeated_event_reuses_the_dialog(window: MainWindow, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    fake.emit(TrustDecisionNeeded(ALICE, BOB, (BOB_LAPTOP,)))
    fake.emit(TrustDecisionNeeded(ALICE, BOB, (BOB_LAPTOP, BOB_PHONE)))
    dialog = trust_dialog(window)
    qtbot.addWidget(dialog)
    assert sorted(dialog.rows) == [777, 4242]


def test_own_fingerprint_page_has_eight_colored_groups_and_a_qr(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    page = window.open_own_devices()
    assert page is not None
    qtbot.addWidget(page)
    drive.until(lambda: page.copy.isEnabled())
    view = page.fingerprint_view
    assert [g.text() for g in view.group_labels] == ["a1b2c3d4", "e5f60718"] * 4
    expected = colors.text_color("a1b2c3d4", view.palette()).name()
    assert view.group_labels[0].property("groupColor") == expected
    assert len({c.name() for c in view.group_colors()}) == 2
    pixmap = page.qr.pixmap()
    assert not pixmap.isNull() and pixmap.width() > 100
    page.copy.click()
    assert (
        QGuiApplication.clipboard().text()
        == f"xmpp:{ALICE}?omemo2-sid-1001=" + "a1b2c3d4e5f60718" * 4
    )


def test_xep0392_vectors() -> None:
    assert round(colors.hue("Romeo"), 6) == 327.255249
    assert round(colors.hue("juliet@capulet.lit"), 6) == 209.4104
    assert colors.rgb("Romeo") == (round(0.865 * 255), 0, round(0.686 * 255))
    assert colors.rgb("Board") == (0, round(0.527 * 255), round(0.457 * 255))


def test_contact_page_lists_devices_with_trust_switch_and_reset(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    window.open_chat(BOB)
    page = window.open_contact_page()
    assert page is not None
    qtbot.addWidget(page)
    drive.until(lambda: len(page.cards) == 2)
    laptop = page.cards[777]
    assert laptop.trust_switch is not None and not laptop.trust_switch.isChecked()
    laptop.trust_switch.setChecked(True)
    drive.until(lambda: fake.called("set_trust"))
    assert fake.called("set_trust")[0].args == (ALICE, BOB, 777, "trusted")
    assert laptop.reset is not None
    laptop.reset.click()
    drive.until(lambda: fake.called("reset_session"))
    drive.until(lambda: page.banner.kind == "info")


def test_matching_verification_uri_verifies(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    uri = f"xmpp:{BOB}?omemo2-sid-4242={BOB_PHONE.fingerprint}"
    dialog = window.open_verification_uri(uri)
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.apply.click()
    drive.until(lambda: dialog.outcome.kind)
    assert fake.called("apply_verification_uri")[0].args == (ALICE, uri)
    assert dialog.outcome.kind == "info"
    assert "Verified" in dialog.outcome.label.text()


def test_pasted_mismatching_uri_warns_loudly(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    uri = f"xmpp:{BOB}?omemo2-sid-4242={'00' * 32}"
    QGuiApplication.clipboard().setText(uri)
    window.verify_uri_action.trigger()
    dialog = window.findChild(type(window.open_verification_uri("")), None)
    dialogs = [d for d in window.findChildren(type(dialog)) if d.uri.text() == uri]
    assert dialogs, "the pasted link is taken from the clipboard"
    dialog = dialogs[0]
    qtbot.addWidget(dialog)
    dialog.apply.click()
    drive.until(lambda: dialog.outcome.kind)
    assert dialog.outcome.kind == "danger"
    assert "do NOT match" in dialog.outcome.label.text()
    assert dialog.outcome.label.font().bold()
    assert not [c for c in fake.called("set_trust")]


def test_not_a_verification_uri(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_verification_uri("https://example.org")
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.apply.click()
    assert dialog.outcome.kind == "danger" and "xmpp:" in dialog.outcome.label.text()


def test_subscription_request_dialog(window: MainWindow, drive, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    fake.emit(SubscriptionRequested(ALICE, "eve@example.com"))
    dialog = window.subscription_dialogs[(ALICE, "eve@example.com")]
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    dialog.allow.click()
    drive.until(lambda: fake.called("answer_subscription"))
    assert fake.called("answer_subscription")[0].args == (ALICE, "eve@example.com", True)


def test_search_opens_the_conversation(
    window: MainWindow, drive, qtbot, fake: FakeMessenger
) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_search()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.query.setText("alice")
    emit(dialog.query.returnPressed)
    drive.until(lambda: dialog.results.count() == 1)
    emit(dialog.results.itemActivated, dialog.results.item(0))
    drive.until(lambda: window.peer == BOB)


def test_add_contact(window: MainWindow, drive, qtbot, fake: FakeMessenger) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_add_contact()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.jid.setText("frank@example.org")
    dialog.ok.click()
    drive.until(lambda: fake.called("add_contact"))
    drive.until(lambda: window.contact_list.count() == 3)


def test_settings_are_saved(window: MainWindow, qtbot, settings) -> None:  # type: ignore[no-untyped-def]
    dialog = window.open_settings()
    qtbot.addWidget(dialog)
    dialog.trust_policy.setCurrentIndex(1)
    dialog.notifications.setChecked(False)
    dialog._on_save_clicked()
    assert settings.value("trust_policy") == "tofu"
    assert settings.value("notifications") in (False, "false")
