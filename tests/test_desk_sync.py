"""The real desk window with a real hub process: work arrives by lease and is painted filtered,
decisions go up, the status bar says online/offline and what is unsynced, quitting with unsynced
decisions asks first, and a decision made on a lease another desk took shows as decided elsewhere."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox
from skimage import data
from sqlalchemy import select

from moderator.hub_config import HubConfig
from moderator.keymap import load_keymap
from moderator.settings import Settings
from storage.store import Store
from tests.desk_helpers import on_screen, painted_picture, saturation
from tests.hub_fixtures import clear_queue, decision, free_port, poll
from ui.app import build_window

SETTINGS = Settings(palate_cleanser=False)
GRAY = 6


def photo_png(name: str) -> bytes:
    out = io.BytesIO()
    Image.fromarray(getattr(data, name)()[..., :3]).save(out, format="PNG")
    return out.getvalue()


def add_photos(hub, names: list[str], **spec) -> list[str]:
    """Colourful, sharp photos as hub items (the desk must never paint them unfiltered)."""
    from upstream.db import write_tx
    from upstream.items import MediaInfo, add_item, add_media

    engine = hub.engine()
    try:
        with write_tx(engine) as conn:
            ids = []
            for i, name in enumerate(names):
                rgb = getattr(data, name)()
                info = MediaInfo(mime="image/png", kind="image", width=rgb.shape[1], height=rgb.shape[0])
                media = add_media(conn, hub.data_dir, photo_png(name), info)
                ids.append(add_item(conn, media, priority=len(names) - i, source_name=f"{name}.png", **spec))
            return ids
    finally:
        engine.dispose()


def hub_decisions(hub) -> list[dict]:
    from upstream.schema import decisions

    engine = hub.engine()
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(decisions).order_by(decisions.c.seq))]
    finally:
        engine.dispose()


def wait_for(qtbot, check, timeout: float = 30.0):
    """check() until truthy, with the Qt event loop running (the desk's sync needs it); its value."""
    found = []
    qtbot.waitUntil(lambda: bool(found.append(check()) or found[-1]), timeout=int(timeout * 1000))
    return found[-1]


@pytest.fixture(scope="module")
def fixed_hub(hub_factory):
    """A SQLite hub on a fixed port, so a restart after a kill -9 is the same URL to the desk."""
    return hub_factory("sqlite", "--port", str(free_port()), "--lease-seconds", "2")


def open_hub_desk(qtbot, tmp_path, policy, hub):
    store = Store(tmp_path / "desk")
    window = build_window(store, policy, load_keymap(), "tester", settings=SETTINGS,
                          hub=HubConfig(hub.url, hub.tokens["moderator"], "env"))
    qtbot.addWidget(window)
    window.show()
    window.viewer.setFocus()
    return store, window


def close_desk(qtbot, window, store) -> None:
    window._quit_confirmed = True
    window.close()
    window.sync.service.close()
    store.close()


def test_work_arrives_from_the_hub_filtered_and_decisions_go_up(qtbot, tmp_path, policy, fixed_hub):
    clear_queue(fixed_hub)
    ids = add_photos(fixed_hub, ["astronaut", "coffee", "chelsea"])
    store, window = open_hub_desk(qtbot, tmp_path, policy, fixed_hub)
    r = window.reviewer
    qtbot.waitUntil(lambda: len(r.items) == 3 and on_screen(window), timeout=30000)
    assert [i.id for i in r.items] == ids  # the hub's review order (priority)
    assert saturation(painted_picture(window.viewer)).max() <= GRAY  # leased media, painted filtered
    view = window.queue_panel.view  # rows that arrived one by one still get measured columns
    assert view.horizontalHeader().sectionSize(0) >= view.fontMetrics().horizontalAdvance("chelsea.png") or \
        view.horizontalHeader().sectionSize(5) >= view.fontMetrics().horizontalAdvance("chelsea.png")
    assert window.queue_panel.model.index(0, 5).data() == "astronaut.png"
    qtbot.waitUntil(lambda: window.sync.status.online, timeout=20000)
    assert window.sync.indicator.text().startswith("● online")
    QTest.keyClick(window.viewer, Qt.Key.Key_2)  # spam → remove
    rows = wait_for(qtbot, lambda: [d for d in hub_decisions(fixed_hub) if d["item_id"] == ids[0]])
    assert len(rows) == 1 and rows[0]["actor"] == "moderator-1" and rows[0]["status"] == "accepted"
    assert rows[0]["desk"] and rows[0]["lease_id"]
    qtbot.waitUntil(lambda: window.sync.status.unsynced == 0 and "all synced" in window.sync.indicator.text(),
                    timeout=20000)
    close_desk(qtbot, window, store)


def test_offline_decisions_wait_and_quitting_asks_first(qtbot, tmp_path, policy, fixed_hub):
    clear_queue(fixed_hub)
    ids = add_photos(fixed_hub, ["astronaut", "coffee"])
    store, window = open_hub_desk(qtbot, tmp_path, policy, fixed_hub)
    r = window.reviewer
    qtbot.waitUntil(lambda: len(r.items) == 2 and on_screen(window) and window.sync.status.online, timeout=30000)
    fixed_hub.kill()
    try:
        QTest.keyClick(window.viewer, Qt.Key.Key_2)
        qtbot.waitUntil(lambda: not window.sync.status.online and window.sync.status.unsynced == 1, timeout=30000)
        assert window.sync.indicator.text().startswith("○ offline · 1 unsynced")
        assert r.current is not None and r.current.id == ids[1]  # the desk keeps working on what it holds
        window.close()  # unsynced: asks, and keeps the window
        box = wait_for(qtbot, lambda: next((w for w in QApplication.topLevelWidgets()
                                            if isinstance(w, QMessageBox) and w.isVisible()), None))
        assert box.text().startswith("1 decision has not reached the hub yet.")
        keep = next(b for b in box.buttons() if b.text() == "Keep working")
        keep.click()
        assert window.isVisible()
    finally:
        fixed_hub.start()  # same port: the desk finds it again
    window.sync.sync_round()
    rows = wait_for(qtbot, lambda: [d for d in hub_decisions(fixed_hub) if d["item_id"] == ids[0]], timeout=60)
    assert len(rows) == 1
    qtbot.waitUntil(lambda: window.sync.status.online and window.sync.status.unsynced == 0, timeout=30000)
    window.close()  # nothing unsynced: closes without asking
    assert not window.isVisible()
    window.sync.service.close()
    store.close()


def test_a_decision_on_a_lease_another_desk_took_shows_decided_elsewhere(qtbot, tmp_path, policy, fixed_hub):
    clear_queue(fixed_hub)
    [item_id] = add_photos(fixed_hub, ["chelsea"])
    store, window = open_hub_desk(qtbot, tmp_path, policy, fixed_hub)
    r = window.reviewer
    qtbot.waitUntil(lambda: len(r.items) == 1 and on_screen(window), timeout=30000)
    window.sync._timer.stop()  # no renewals: the 2 s lease runs out while the moderator looks
    other = fixed_hub.client("moderator")
    try:
        lease = poll(lambda: other.post("/v1/leases", json={"count": 1}).json()["leases"], timeout=30)[0]
        assert lease["item"]["id"] == item_id
        body = {"decisions": [decision(item_id, lease["lease_id"], labels=["no_violation"], action="allow")]}
        assert other.post("/v1/decisions", json=body).json()["results"][0]["status"] == "accepted"
    finally:
        other.close()
    QTest.keyClick(window.viewer, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: bool(window.sync.status.conflicts), timeout=30000)
    assert "decided elsewhere" in window.sync.indicator.text()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Decided elsewhere: "), timeout=10000)
    assert item_id not in window.statusBar().currentMessage()  # named as the moderator knows it
    rows = [d for d in hub_decisions(fixed_hub) if d["item_id"] == item_id]
    assert sorted(d["status"] for d in rows) == ["accepted", "conflict"]  # kept as evidence, not applied
    close_desk(qtbot, window, store)


def test_with_a_hub_the_desk_starts_on_the_policy_the_hub_sent(tmp_path, fixed_hub, policy):
    from moderator.sync_banks import pull_policy
    from storage.hub_client import HubClient
    from ui.app import load_config, team_policy_file

    assert team_policy_file(str(tmp_path / "desk")) is None  # nothing kept yet: the shipped policy
    store = Store(tmp_path / "desk")
    client = HubClient(fixed_hub.url, fixed_hub.tokens["moderator"], "desk-policy-test")
    try:
        version = pull_policy(store, client)
    finally:
        client.close()
        store.close()
    kept = team_policy_file(str(tmp_path / "desk"))
    assert kept is not None and version
    team_policy, _keymap, _settings = load_config(kept)
    assert team_policy.version == version
