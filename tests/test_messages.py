"""The messages panel (M): an import from the desk lists each bad file with its reason, each duplicate
by name and each item a bank closed on its own, in full, instead of one status-bar line."""

from __future__ import annotations

import shutil

from PySide6.QtCore import Qt

from moderator.ingest import ImportReport, Skipped
from moderator.result_messages import MessageKind, import_messages
from moderator.settings import Settings
from tests.conftest import photo, write_image
from tests.desk_helpers import open_desk
from tests.test_desk_banks import bank_of_edited_copy


def test_import_messages_name_every_file():
    report = ImportReport(imported=["a"], skipped=[
        Skipped("/drop/broken.jpg", "not an image or video (starts with b'not a ph')"),
        Skipped("/drop/copy of cat.jpg", "duplicate of item 1234 (same content already imported; give it ...)"),
        Skipped("manifest.csv:7", "external_id rep-9 already imported as item 77"),
        Skipped("manifest.csv:8", "reporter contains a control character (U+001B)"),
    ])
    got = [(m.kind, m.subject, m.detail) for m in import_messages(report, at="2026-12-02T07:00:00.000Z")]
    assert got == [(MessageKind.SUMMARY, "Import", ""),
                   (MessageKind.BAD, "broken.jpg", "/drop/broken.jpg"),
                   (MessageKind.DUPLICATE, "copy of cat.jpg", "/drop/copy of cat.jpg"),
                   (MessageKind.DUPLICATE, "manifest.csv:7", "manifest.csv:7"),
                   (MessageKind.BAD, "manifest.csv:8", "manifest.csv:8")]


def test_desk_import_lists_bad_duplicate_and_bank_closed_items(qtbot, tmp_path, good_store, policy):
    store = good_store
    bank_of_edited_copy(tmp_path, "memes-allow", "no_violation", "allow", "allow", policy, store)
    drop = tmp_path / "drop"
    drop.mkdir()
    write_image(drop / "retina.jpg", photo("retina"))
    write_image(drop / "rocket-reupload.jpg", photo("rocket"), quality=80)  # new bytes, the allow bank's picture
    shutil.copy(drop / "retina.jpg", drop / "retina (copy).jpg")
    (drop / "broken.jpg").write_text("not a photo")
    window = open_desk(qtbot, store, policy, Settings(palate_cleanser=False))
    assert not window.messages.isVisible()
    qtbot.keyClick(window.viewer, Qt.Key.Key_M)
    assert window.messages.isVisible() and window.messages.rows() == [] and window.messages.empty.isVisible()
    with qtbot.waitSignal(window.importer.results, timeout=30000):
        window.importer.start([drop])
    rows = window.messages.rows()
    kinds = {(what, name) for what, name, _ in rows}
    assert ("not imported", "broken.jpg") in kinds
    assert ("duplicate", "retina (copy).jpg") in kinds or ("duplicate", "retina.jpg") in kinds
    assert ("closed by a bank", "rocket-reupload.jpg") in kinds
    closed = next(r for r in rows if r[0] == "closed by a bank")
    assert closed[2].startswith("no_violation → allow by bank:memes-allow"), closed
    broken = next(r for r in rows if r[1] == "broken.jpg")
    assert broken[2].startswith("not an image")  # the reason in full, not cut by a status bar
    assert [r[:2] for r in rows[:1]] == [("summary", "Import")] and " (at " in rows[0][2]
    status = window.statusBar().currentMessage()
    assert status.startswith("Import: imported 2, skipped 2") and status.endswith("(M lists each)"), status
    qtbot.keyClick(window.viewer, Qt.Key.Key_M)
    assert not window.messages.isVisible()


def test_bank_decisions_dialog_is_readable_at_any_name_length(qtbot, tmp_path, good_store, policy, monkeypatch):
    import time

    from moderator.clock import parse_iso
    from moderator.matching import match_pending
    from moderator.session import bank_decisions
    from ui.bank_decisions_dialog import BankDecisionsDialog

    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+5:30: a local time cannot pass for the stored UTC one
    time.tzset()
    try:
        long_bank = "allow-list-of-known-benign-memes-shared-by-the-consortium-2026"  # 62 of the 64 characters allowed
        bank_of_edited_copy(tmp_path, long_bank, "no_violation", "allow", "allow", policy, good_store)
        match_pending(good_store, policy)
        rows = bank_decisions(good_store)
        assert len(rows) == 1
        dialog = BankDecisionsDialog()
        qtbot.addWidget(dialog)
        dialog.show_rows(rows)
        dialog.show()
        qtbot.waitExposed(dialog)
        header = dialog.table.horizontalHeader()
        assert header.sectionSize(1) <= 200 and header.sectionSize(5) >= 150  # the long name does not push evidence off
        shown, tip = dialog.cell_text(0, 1)
        assert shown == f"bank:{long_bank}" and tip == shown  # elided when painted, full on hover
        when, when_tip = dialog.cell_text(0, 4)
        stored = rows[0]["decided_at"]
        assert when == parse_iso(stored).astimezone().strftime("%Y-%m-%d %H:%M:%S") and when != stored[:19].replace("T", " ")
        assert stored in when_tip and "(your time)" in when_tip
        evidence, evidence_tip = dialog.cell_text(0, 5)
        assert evidence_tip == rows[0]["note"] and evidence == " ".join(rows[0]["note"].split())
        assert dialog.width() <= 1000  # fits a 1024 px wide screen
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_background_matching_lists_each_item_a_bank_closed(qtbot, tmp_path, good_store, policy):
    """Matching at start (items imported before a bank existed): the item the allow bank closes is a row."""
    bank_of_edited_copy(tmp_path, "memes-allow", "no_violation", "allow", "allow", policy, good_store)
    window = open_desk(qtbot, good_store, policy, Settings(palate_cleanser=False))
    qtbot.waitUntil(lambda: any(r[0] == "closed by a bank" for r in window.messages.rows()), timeout=20000)
    rows = window.messages.rows()
    assert [r[:2] for r in rows if r[0] == "closed by a bank"] == [("closed by a bank", "rocket.jpg")]
    assert ("summary", "Bank matching") in [r[:2] for r in rows]
    assert not window.messages.isVisible()  # listed, not pushed in front of the media
