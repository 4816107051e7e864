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
    kinds = {(what, name) for _, what, name, _ in rows}
    assert ("not imported", "broken.jpg") in kinds
    assert ("duplicate", "retina (copy).jpg") in kinds or ("duplicate", "retina.jpg") in kinds
    assert ("closed by a bank", "rocket-reupload.jpg") in kinds
    closed = next(r for r in rows if r[1] == "closed by a bank")
    assert closed[3].startswith("no_violation → allow by bank:memes-allow"), closed
    broken = next(r for r in rows if r[2] == "broken.jpg")
    assert broken[3].startswith("not an image")  # the reason in full, not cut by a status bar
    assert [r[1:3] for r in rows[:1]] == [("summary", "Import")]
    status = window.statusBar().currentMessage()
    assert status.startswith("Import: imported 2, skipped 2") and status.endswith("(M lists each)"), status
    qtbot.keyClick(window.viewer, Qt.Key.Key_M)
    assert not window.messages.isVisible()
