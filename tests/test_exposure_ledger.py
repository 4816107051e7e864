"""Exposure per person across every store on the machine: the demo store and a real store share one
budget through the ledger in the config dir (0600), written when a reveal's exposure is saved."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from moderator import exposure
from moderator.clock import now_iso
from moderator.ingest import import_paths
from moderator.review import ReviewService
from moderator.wellness import today
from storage.exposure_ledger import LedgerError
from storage.store import Store
from tests.conftest import photo, write_image


def open_store(tmp_path, name, policy):
    (tmp_path / f"{name}-media").mkdir()
    write_image(tmp_path / f"{name}-media" / "a.jpg", photo("astronaut"))
    store = Store(tmp_path / name)
    import_paths(store, [tmp_path / f"{name}-media"], "tester")
    return store, ReviewService(store=store, policy=policy, actor="tester")


@pytest.fixture
def two_stores(tmp_path, policy):
    demo, real = open_store(tmp_path, "demo", policy), open_store(tmp_path, "real", policy)
    yield demo, real
    demo[0].close()
    real[0].close()


def reveal(service, ms, kind="reveal", started_at=None):
    item = service.queue()[0]
    service.record_exposure(item, kind, started_at or now_iso(), ms)


def test_two_stores_share_one_budget(two_stores):
    (demo, demo_service), (real, real_service) = two_stores
    reveal(demo_service, 4_000)
    reveal(real_service, 2_500)
    day = now_iso()[:10]
    in_demo = today(demo.db, "tester", day, 5, exposure.other_stores_ms("tester", day, demo.path))
    in_real = today(real.db, "tester", day, 5, exposure.other_stores_ms("tester", day, real.path))
    assert in_demo.exposure_ms == in_real.exposure_ms == 6_500  # one person, one total
    assert in_demo.elsewhere_ms == 2_500 and in_real.elsewhere_ms == 4_000
    assert in_demo.over_budget and in_real.over_budget  # 6.5 s of a 5 s budget, whichever store is open
    alone = today(real.db, "tester", day, 5)
    assert alone.exposure_ms == 2_500 and not alone.over_budget  # what the store alone used to say


def test_the_ledger_is_private_counts_a_reveal_once_and_keeps_people_apart(two_stores):
    (demo, demo_service), (real, _real_service) = two_stores
    started = now_iso()
    reveal(demo_service, 1_000, started_at=started)
    exposure.record("tester", demo, demo_service.queue()[0].id, "reveal", started, 1_000)  # again
    reveal(ReviewService(store=demo, policy=demo_service.policy, actor="someone-else"), 9_000)
    path = exposure.ledger_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    day = started[:10]
    assert exposure.other_stores_ms("tester", day, real.path) == 1_000
    assert exposure.other_stores_ms("someone-else", day, real.path) == 9_000
    assert exposure.other_stores_ms("tester", "1999-01-01", real.path) == 0


def test_no_ledger_yet_is_zero_and_makes_no_file(tmp_path):
    path = tmp_path / "nothing" / exposure.LEDGER_FILE
    assert exposure.other_stores_ms("tester", "2026-01-01", tmp_path / "store.sqlite3", path) == 0
    assert not path.exists()


def test_an_unusable_ledger_is_one_line_and_the_store_keeps_its_row(two_stores):
    (demo, demo_service), _ = two_stores
    path = exposure.ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError) as caught:
        reveal(demo_service, 1_000)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert demo.db.execute("SELECT COUNT(*) FROM exposure_events").fetchone()[0] == 1  # saved first
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT * FROM exposure").fetchall()
