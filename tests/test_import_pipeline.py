"""Import with item writes queued ahead of their commits (moderator.import_run, committed in groups by
the store's writer) stores exactly what the plain loop stores: the report, its order and reasons, the
item, media, hash and audit rows in entry order, every file in place, and the audit chain verifies."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from moderator.banks import BankService
from moderator.cli import main
from moderator.ingest import import_paths
from moderator.matching import Matcher
from moderator.policy import load_policy
from moderator.signals import PDQ
from storage import banks as banks_repo
from storage.media_cache import MediaCache
from storage.store import Store
from tests.conftest import PHOTOS, photo, write_image
from tests.test_import_crash import assert_row_and_file_together


def inputs(tmp_path: Path) -> list[Path]:
    """60 distinct photos, byte copies of some of them, a truncated and a text file, and a manifest
    that repeats an external_id and reports known content again."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(60):
        rgb = photo(PHOTOS[n % len(PHOTOS)])[n:n + 160, 2 * n:2 * n + 200]
        write_image(folder / f"p{n:03}.jpg", np.ascontiguousarray(rgb))
    for n in (3, 3, 17, 40):
        (folder / f"p{n:03}-copy{len(list(folder.glob(f'p{n:03}-copy*')))}.jpg").write_bytes(
            (folder / f"p{n:03}.jpg").read_bytes())
    (folder / "p500-bad.jpg").write_bytes((folder / "p001.jpg").read_bytes()[:2000])
    (folder / "p501-text.jpg").write_text("not an image")
    rows = [{"path": "in/p005.jpg", "external_id": "r-1"}, {"path": "in/p006.jpg", "external_id": "r-1"},
            {"path": "in/p005.jpg", "external_id": "r-2"}, {"path": "in/p007.jpg"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [folder, manifest]


def stored(store: Store) -> dict[str, list[tuple]]:
    """Every row the import wrote, without its random ids and clock times, in the order written."""
    db = store.db
    return {
        "items": [tuple(r) for r in db.execute(
            "SELECT sha256, external_id, source_name, status, priority FROM items ORDER BY rowid")],
        "media": [tuple(r) for r in db.execute(
            "SELECT sha256, path, mime, kind, width, height, bytes FROM media ORDER BY rowid")],
        "hashes": sorted(tuple(r) for r in db.execute("SELECT sha256, signal_type, value FROM media_hashes")),
        "audit": [(r[0], json.loads(r[1])["origin"], json.loads(r[1]).get("shared_media")) for r in db.execute(
            "SELECT event, payload FROM audit_log WHERE event = 'import' ORDER BY seq")],
    }


def hold_writer(store: Store, seconds: float) -> None:
    """Keep the writer busy for a moment so that the first item writes queue up and commit as a group."""
    release = threading.Event()
    store.submit(lambda db: release.wait(30))
    threading.Timer(seconds, release.set).start()


def test_writes_in_flight_store_what_the_loop_stores(tmp_path, capsys):
    paths = inputs(tmp_path)
    runs = {}
    for workers in (1, 4):
        data = tmp_path / f"data{workers}"
        with Store(data) as store:
            if workers > 1:
                hold_writer(store, 0.3)
            report = import_paths(store, paths, "tester", hash_dihedral=True, workers=workers)
            runs[workers] = (report, stored(store))
        assert_row_and_file_together(data)
        assert main(["audit", "verify", "--data-dir", str(data)]) == 0, capsys.readouterr()
    (loop, rows1), (piped, rows4) = runs[1], runs[4]
    assert [str(loop.sources[i].path) for i in loop.imported] == [str(piped.sources[i].path) for i in piped.imported]
    assert [(s.origin, s.reason.split(" item ")[0]) for s in loop.skipped] == \
        [(s.origin, s.reason.split(" item ")[0]) for s in piped.skipped]
    assert len(loop.imported) == 60 + 2 and len(loop.skipped) == 4 + 2 + 2  # r-1, r-2; copies, bad files, refusals
    media1 = [(sha, Path(p).name, *rest) for sha, p, *rest in rows1.pop("media")]
    media4 = [(sha, Path(p).name, *rest) for sha, p, *rest in rows4.pop("media")]
    assert media1 == media4 and rows1 == rows4


def test_match_pending_with_writes_queued_routes_as_one_item_at_a_time(tmp_path):
    """Bank matching queues its writes too (commits in groups): the same hashes, matches and routes
    as matching one item at a time, items sharing content hashed from one decode's rows."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(24):
        rgb = photo(PHOTOS[n % len(PHOTOS)])[n:n + 160, 2 * n:2 * n + 200]
        write_image(folder / f"p{n:03}.jpg", np.ascontiguousarray(rgb))
    for n in (2, 5):
        (folder / f"p{n:03}-again.jpg").write_bytes((folder / f"p{n:03}.jpg").read_bytes())
    bank = tmp_path / "bank.txt"
    bank.write_text("".join(f"pdq {PDQ.hash_file(folder / f'p{n:03}.jpg').hex}\n" for n in (2, 5, 9, 20)))
    results = []
    for queued in (False, True):
        with Store(tmp_path / f"data{queued}") as store:
            BankService(store, load_policy(), "tester").import_bank(bank, "known", kind="block", fmt="te-lines")
            import_paths(store, [folder], "tester", allow_duplicates=True)
            matcher = Matcher(store, load_policy())
            if queued:
                hold_writer(store, 0.3)
                summary = matcher.match_pending()
                counts = (summary.hashed, summary.matched, summary.outcomes, sorted(summary.changed))
            else:
                outcomes = [matcher.match_item(i) for i in banks_repo.unhashed_items(store.db)]
                counts = (len(outcomes), sum(bool(o.matches) for o in outcomes),
                          dict(Counter(o.route.outcome for o in outcomes)),
                          sorted(o.route.item_id for o in outcomes if o.route.outcome in ("escalated", "closed")))
            names = dict(store.db.execute("SELECT id, source_name FROM items").fetchall())
            results.append(((*counts[:3], sorted(names[i] for i in counts[3])), routed_rows(store)))
    assert results[0] == results[1]
    assert results[1][0][2] == {"escalated": 5, "none": 21}  # p009 is too flat for PDQ (quality < 50)


def routed_rows(store: Store) -> list[tuple]:
    db = store.db
    items = db.execute("SELECT source_name, priority, suggested_label, status, hashed_at IS NOT NULL, "
                       "(SELECT COUNT(*) FROM hashes h WHERE h.item_id = i.id), "
                       "(SELECT group_concat(m.distance || ':' || m.signal_type) FROM matches m WHERE m.item_id = i.id) "
                       "FROM items i ORDER BY source_name").fetchall()
    media = db.execute("SELECT sha256, signal_type, value FROM media_hashes ORDER BY 1, 2, 3").fetchall()
    return [tuple(r) for r in items] + [tuple(r) for r in media]


def test_commit_all_moves_a_group_into_place_and_remakes_a_removed_folder(tmp_path):
    cache = MediaCache(tmp_path / "media")
    sources = [write_image(tmp_path / f"s{n}.jpg", photo(PHOTOS[n])) for n in range(3)]

    def staged_copies():
        out = []
        for path in sources:
            with open(path, "rb") as f:
                out.append(cache.stage(f, "image/jpeg"))
        return out

    first = staged_copies()
    assert cache.commit_all(first) == [s.final for s in first]
    assert all(s.final.read_bytes() == p.read_bytes() for s, p in zip(first, sources, strict=True))
    for s in first:  # the folders go (a person tidying up): the next group makes them again
        s.final.unlink()
        s.final.parent.rmdir()
    again = staged_copies()
    assert cache.commit_all(again) == [s.final for s in again] and all(s.final.is_file() for s in again)
    assert not [p for p in cache.root.iterdir() if p.name.startswith(".")]  # nothing left staged
    assert all(s.final.parent.stat().st_mode & 0o777 == 0o700 for s in again)
