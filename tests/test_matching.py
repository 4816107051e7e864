"""Matching real photos, their edits and videos against banks in a real store, and routing by bank policy."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.banks import BankService
from moderator.domain import Action, DecisionSource, ItemField, ItemStatus
from moderator.ingest import import_paths
from moderator.matching import ESCALATE_PRIORITY, Matcher, MatchError, match_pending, reopen
from moderator.policy import load_policy
from moderator.review import ReviewService
from moderator.signals import MD5, PDQ, PHASH
from storage import banks as banks_repo
from storage import decisions as decisions_repo
from storage import items as items_repo
from storage.store import Store
from tests.conftest import photo, write_image

BANKED = ("astronaut", "coffee", "chelsea", "rocket")
UNRELATED = ("retina", "hubble_deep_field")


def gamma(rgb: np.ndarray, g: float) -> np.ndarray:
    return np.clip(255.0 * (rgb / 255.0) ** g, 0, 255).astype(np.uint8)


def watermark_box(rgb: np.ndarray) -> np.ndarray:
    """A translucent dark caption box with a handle in it, bottom right, as re-uploaders add.

    (A solid bright box is another matter: on dark photos such as rocket it moves PDQ ~60 bits.)
    """
    out = rgb.copy()
    h, w = out.shape[:2]
    bh, bw = int(h * 0.07), int(w * 0.2)
    y0, x0 = h - bh - h // 50, w - bw - w // 50
    out[y0 : y0 + bh, x0 : x0 + bw] = (out[y0 : y0 + bh, x0 : x0 + bw] * 0.6).astype(np.uint8)
    cv2.putText(out, "@user_123", (x0 + bw // 20, y0 + int(bh * 0.7)), cv2.FONT_HERSHEY_SIMPLEX, bw / 260,
                (255, 255, 255), max(1, w // 500), cv2.LINE_AA)
    return out


EDITS = {  # name -> (pixels, JPEG quality)
    "jpeg_q30": lambda rgb: (rgb, 30),
    "half_size": lambda rgb: (cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA), 90),
    "gaussian_blur": lambda rgb: (cv2.GaussianBlur(rgb, (0, 0), 1.5), 90),
    "gamma_0.8": lambda rgb: (gamma(rgb, 0.8), 90),
    "watermark_box": lambda rgb: (watermark_box(rgb), 90),
    "flip_h": lambda rgb: (np.ascontiguousarray(rgb[:, ::-1]), 90),
    "rot90": lambda rgb: (np.ascontiguousarray(np.rot90(rgb)), 90),
}
GEOMETRIC = ("flip_h", "rot90")  # caught only through PDQ's dihedral variants


def bank_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A bank file in our CSV form from (signal_type, hash, label) rows."""
    path.write_text("signal_type,hash,label,source\n" + "".join(f"{s},{h},{lb},test\n" for s, h, lb in rows))
    return path


def import_items(store: Store, paths: list[Path]) -> dict[str, str]:
    """file name -> item id"""
    report = import_paths(store, paths, "tester")
    assert not report.skipped, report.skipped
    return {items_repo.get_item(store.db, i).source_name: i for i in report.imported}


# -- edits of real photos, one store for the module ---------------------------------------------
@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """A store with a PDQ and a pHash bank (block/flag: record only) of four photos, and items for
    every edit of them plus the originals of two unrelated photos, all hashed and matched."""
    folder = tmp_path_factory.mktemp("photos")
    originals = {n: write_image(folder / f"{n}.png", photo(n)) for n in BANKED}
    rows_pdq = [("pdq", PDQ.hash_file(p).hex, n) for n, p in originals.items()]
    rows_phash = [("phash", PHASH.hash_file(p).hex, n) for n, p in originals.items()]
    uploads = folder / "uploads"
    uploads.mkdir()
    for name in BANKED:
        for edit, make in EDITS.items():
            rgb, quality = make(photo(name))
            write_image(uploads / f"{name}.{edit}.jpg", rgb, quality)
    for name in UNRELATED:
        write_image(uploads / f"{name}.jpg", photo(name))
    store = Store(tmp_path_factory.mktemp("data"))
    banks = BankService(store, load_policy(), "lead")
    banks.import_bank(bank_csv(folder / "pdq.csv", rows_pdq), "known-pdq", kind="block", action="flag")
    banks.import_bank(bank_csv(folder / "phash.csv", rows_phash), "known-phash", kind="block", action="flag")
    ids = import_items(store, sorted(uploads.iterdir()))
    summary = match_pending(store, load_policy())
    yield store, ids, summary
    store.close()


def matches_of(store, ids, file_name):
    return banks_repo.matches_for_item(store.db, ids[file_name])


def test_every_item_is_hashed_once_and_only_banked_photos_match(edited):
    store, ids, summary = edited
    assert summary.hashed == len(ids) and not summary.failed
    assert summary.matched == len(BANKED) * len(EDITS)
    assert summary.outcomes == {"flagged": summary.matched, "none": len(UNRELATED)}
    assert banks_repo.unhashed_items(store.db) == []
    assert match_pending(store, load_policy()).hashed == 0  # nothing left to do


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("name", BANKED)
def test_edited_copy_matches_its_original_entry(edited, name, edit):
    store, ids, _ = edited
    found = matches_of(store, ids, f"{name}.{edit}.jpg")
    assert {m.label for m in found} == {name}, found  # its own photo, never another
    pdq = [m for m in found if m.signal_type == "pdq"]
    assert len(pdq) == 1 and pdq[0].distance <= PDQ.default_threshold
    assert PDQ.distance(pdq[0].query_hash, pdq[0].entry_hash) == pdq[0].distance  # evidence adds up
    if edit in GEOMETRIC:
        assert pdq[0].variant != "original"
    else:
        phash = [m for m in found if m.signal_type == "phash"]
        assert len(phash) == 1 and phash[0].distance <= PHASH.default_threshold


def test_flipped_copy_matches_only_through_a_dihedral_variant(edited):
    store, ids, _ = edited
    item_id = ids["chelsea.flip_h.jpg"]
    stored = {r[0]: r[1] for r in banks_repo.hashes_for_item(store.db, item_id)}
    (m,) = [m for m in matches_of(store, ids, "chelsea.flip_h.jpg") if m.signal_type == "pdq"]
    assert PDQ.distance(stored["pdq"], m.entry_hash) > PDQ.default_threshold  # the plain hash misses
    assert m.variant == "flip_y" and m.query_hash != stored["pdq"]


@pytest.mark.parametrize("name", UNRELATED)
def test_unrelated_photos_do_not_match(edited, name):
    store, ids, _ = edited
    assert matches_of(store, ids, f"{name}.jpg") == []
    hashes = {r[0] for r in banks_repo.hashes_for_item(store.db, ids[f"{name}.jpg"])}
    assert hashes == {"pdq", "phash", "md5", "sha256"}  # hashed all the same, for banks to come


def test_flagging_changes_nothing_but_the_audit_log(edited):
    store, ids, _ = edited
    item = items_repo.get_item(store.db, ids["coffee.jpeg_q30.jpg"])
    assert (item.status, item.priority) == (ItemStatus.PENDING, 0)
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0
    routes = store.db.execute("SELECT COUNT(*) FROM audit_log WHERE event = 'route'").fetchone()[0]
    assert routes == len(BANKED) * len(EDITS)


# -- routing ------------------------------------------------------------------------------------
@pytest.fixture
def banks(store, policy):
    return BankService(store, policy, "lead")


@pytest.fixture
def uploads(tmp_path):
    """The rocket photo as banked, a q30 re-upload of it, and an unrelated coffee photo."""
    folder = tmp_path / "in"
    folder.mkdir()
    original = write_image(tmp_path / "rocket.png", photo("rocket"))
    write_image(folder / "rocket_q30.jpg", photo("rocket"), quality=30)
    write_image(folder / "coffee.jpg", photo("coffee"))
    return original, folder


def make_bank(banks, tmp_path, original, name, kind, action, label):
    csv = bank_csv(tmp_path / f"{name}.csv", [("pdq", PDQ.hash_file(original).hex, label)])
    return banks.import_bank(csv, name, kind=kind, action=action).bank


def audit_rows(store, event):
    return [(r[0], r[1], json.loads(r[2])) for r in
            store.db.execute("SELECT actor, subject, payload FROM audit_log WHERE event = ? ORDER BY seq", (event,))]


@pytest.mark.parametrize(("label", "suggested"), [("terrorism", "terrorism"), ("tvec-series-17", None)])
def test_escalate_bank_moves_the_item_up_and_suggests_a_policy_label(store, policy, banks, uploads, tmp_path,
                                                                    label, suggested):
    original, folder = uploads
    make_bank(banks, tmp_path, original, "tvec", "block", "escalate", label)
    ids = import_items(store, sorted(folder.iterdir()))
    summary = match_pending(store, policy)
    assert summary.outcomes == {"escalated": 1, "none": 1} and summary.changed == [ids["rocket_q30.jpg"]]
    item = items_repo.get_item(store.db, ids["rocket_q30.jpg"])
    assert item.priority == ESCALATE_PRIORITY and item.status is ItemStatus.PENDING
    assert item.suggested_label == suggested
    assert items_repo.queue(store.db)[0].id == item.id  # first in the queue now
    (actor, subject, payload), = audit_rows(store, "route")
    assert (actor, subject, payload["outcome"], payload["suggested_label"]) == ("bank:tvec", item.id, "escalated", suggested)
    assert payload["matches"][0]["distance"] <= 31
    assert store.db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 0  # a person decides


def test_allow_bank_closes_with_a_bank_decision_and_reopen_undoes_it(store, policy, banks, uploads, tmp_path):
    original, folder = uploads
    make_bank(banks, tmp_path, original, "memes", "allow", None, "")
    ids = import_items(store, sorted(folder.iterdir()))
    assert match_pending(store, policy).outcomes == {"closed": 1, "none": 1}
    item_id = ids["rocket_q30.jpg"]
    d = decisions_repo.current_for_item(store.db, item_id)
    assert (d.actor, d.source, d.action, d.labels) == ("bank:memes", DecisionSource.BANK, Action.ALLOW, ("no_violation",))
    assert items_repo.get_item(store.db, item_id).status is ItemStatus.DECIDED
    outbox = store.db.execute("SELECT kind, ref FROM outbox").fetchall()
    assert [tuple(r) for r in outbox] == [("decision", d.uuid)]
    assert audit_rows(store, "route")[0][2]["decision"] == d.uuid

    reopened = reopen(store, item_id, "alice")
    undo = reopened.decision
    assert reopened.changes.fields_of(item_id) == {ItemField.STANDING, ItemField.STATUS} and reopened.changes.queue
    assert (undo.action, undo.supersedes, undo.actor) == (Action.UNDO, d.uuid, "alice")
    assert decisions_repo.current_for_item(store.db, item_id) is None
    assert items_repo.get_item(store.db, item_id).status is ItemStatus.PENDING
    assert audit_rows(store, "reopen") == [("alice", item_id, {"by": "bank:memes", "supersedes": d.uuid})]
    assert store.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2  # the undo syncs too
    with pytest.raises(MatchError, match="no standing bank decision"):
        reopen(store, item_id, "alice")


@pytest.mark.parametrize(("label", "expected"), [("violence_gore", "violence_gore"), ("nudity", "spam"), ("x", "spam")])
def test_remove_bank_labels_with_the_entry_label_when_the_policy_removes_it(
        store, policy, banks, uploads, tmp_path, label, expected):
    """nudity is a policy label but age-restricts: a remove bank falls back to the first remove label."""
    original, folder = uploads
    make_bank(banks, tmp_path, original, "spam-kit", "block", "remove", label)
    ids = import_items(store, sorted(folder.iterdir()))
    match_pending(store, policy)
    d = decisions_repo.current_for_item(store.db, ids["rocket_q30.jpg"])
    assert (d.action, d.labels, d.actor) == (Action.REMOVE, (expected,), "bank:spam-kit")


def test_a_block_match_vetoes_auto_allow(store, policy, banks, uploads, tmp_path):
    original, folder = uploads
    make_bank(banks, tmp_path, original, "memes", "allow", None, "")
    make_bank(banks, tmp_path, original, "watch", "block", "flag", "")
    ids = import_items(store, sorted(folder.iterdir()))
    assert match_pending(store, policy).outcomes == {"flagged": 1, "none": 1}
    assert decisions_repo.current_for_item(store.db, ids["rocket_q30.jpg"]) is None
    assert {m.bank for m in banks_repo.matches_for_item(store.db, ids["rocket_q30.jpg"])} == {"memes", "watch"}


def test_items_a_person_decided_are_only_recorded(store, policy, banks, uploads, tmp_path):
    original, folder = uploads
    make_bank(banks, tmp_path, original, "spam-kit", "block", "remove", "spam")
    ids = import_items(store, sorted(folder.iterdir()))
    human = ReviewService(store, policy, "alice").decide(ids["rocket_q30.jpg"], "no_violation").decision
    assert match_pending(store, policy).outcomes == {"recorded": 1, "none": 1}
    assert decisions_repo.current_for_item(store.db, ids["rocket_q30.jpg"]).uuid == human.uuid
    with pytest.raises(MatchError, match="no standing bank decision"):
        reopen(store, ids["rocket_q30.jpg"], "alice")


def test_low_quality_pdq_is_never_matched(store, policy, banks, tmp_path):
    flat = write_image(tmp_path / "flat.png", np.full((240, 320, 3), 90, np.uint8))
    result = PDQ.hash_file(flat)
    assert not result.usable
    banks.import_bank(bank_csv(tmp_path / "b.csv", [("pdq", result.hex, "spam")]), "b", kind="block")
    ids = import_items(store, [flat])
    assert match_pending(store, policy).matched == 0
    (row,) = [r for r in banks_repo.hashes_for_item(store.db, ids["flat.png"]) if r[0] == "pdq"]
    assert row[1] == result.hex and row[2] < 50  # stored with its quality: the reason it never matched


def test_a_file_that_cannot_be_hashed_is_reported_and_not_retried(store, policy, uploads):
    _, folder = uploads
    ids = import_items(store, sorted(folder.iterdir()))
    cached = Path(items_repo.get_item(store.db, ids["coffee.jpg"]).media_path)
    cached.write_bytes(cached.read_bytes()[:200])  # the cached copy went bad: decoding fails for good
    summary = match_pending(store, policy)
    assert summary.failed == [(ids["coffee.jpg"], "truncated or corrupt image")] and summary.hashed == 1
    assert audit_rows(store, "hash_failed") == [("matcher", ids["coffee.jpg"], {"reason": "truncated or corrupt image"})]
    assert match_pending(store, policy).hashed == 0


def test_a_missing_media_file_is_reported_and_retried_once_it_is_back(store, policy, uploads):
    _, folder = uploads
    ids = import_items(store, sorted(folder.iterdir()))
    cached = Path(items_repo.get_item(store.db, ids["coffee.jpg"]).media_path)
    kept = cached.read_bytes()
    cached.unlink()  # a moved data dir or a missing mount: not the file's fault
    summary = match_pending(store, policy)
    assert [i for i, _ in summary.failed] == [ids["coffee.jpg"]] and "missing" in summary.failed[0][1]
    assert audit_rows(store, "hash_failed") == []
    cached.write_bytes(kept)
    again = match_pending(store, policy)
    assert again.hashed == 1 and again.failed == []


def test_index_cache_takes_in_new_entries_without_a_rebuild(store, policy, banks, uploads, tmp_path):
    original, folder = uploads
    make_bank(banks, tmp_path, original, "tvec", "block", "escalate", "terrorism")
    matcher = Matcher(store, policy)
    coffee = folder / "coffee.jpg"
    assert matcher.query_file(coffee) == []
    (_, _, indexed), = matcher.cache.current(store.db)
    banks.import_bank(bank_csv(tmp_path / "more.csv", [("pdq", PDQ.hash_file(coffee).hex, "spam")]), "tvec")
    (m,) = matcher.query_file(coffee)
    (_, _, again), = matcher.cache.current(store.db)
    assert again is indexed and len(again.index) == 2  # the same index, one entry added
    assert (m.bank, m.label, m.distance) == ("tvec", "spam", 0)
    assert store.db.execute("SELECT COUNT(*) FROM matches").fetchone()[0] == 0  # a query stores nothing


def test_mixed_signal_bank_uses_each_signal_default_threshold(store, policy, banks, uploads, tmp_path):
    """An MD5 entry in a PDQ bank matches byte-identical files only, whatever the PDQ threshold."""
    original, folder = uploads
    coffee = folder / "coffee.jpg"
    rows = [("pdq", PDQ.hash_file(original).hex, "a"), ("md5", MD5.hash_file(coffee).hex, "b")]
    banks.import_bank(bank_csv(tmp_path / "mixed.csv", rows), "mixed", kind="block", threshold=40)
    found = Matcher(store, policy).query_file(coffee)
    assert [(m.signal_type, m.label, m.distance) for m in found] == [("md5", "b", 0)]


# -- video -----------------------------------------------------------------------------------------
def make_video(path: Path, names: list[str], seconds_each: float, size: tuple[int, int], fps: int = 10) -> Path:
    """A slideshow clip: each photo held on screen with a little sensor noise."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(len(names))
    for name in names:
        base = cv2.resize(photo(name), size, interpolation=cv2.INTER_AREA).astype(np.int16)
        for _ in range(round(seconds_each * fps)):
            frame = np.clip(base + rng.integers(-4, 5, base.shape), 0, 255).astype(np.uint8)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_video_matches_a_bank_built_from_its_frames(store, policy, banks, tmp_path):
    scenes = ["astronaut", "coffee", "chelsea", "rocket"]
    original = make_video(tmp_path / "original.mp4", scenes, 1.0, (320, 240))
    folder = tmp_path / "in"
    folder.mkdir()
    make_video(folder / "reencoded.mp4", scenes, 1.0, (240, 180))
    make_video(folder / "other.mp4", ["retina", "hubble_deep_field"], 2.0, (320, 240))
    banks.create_bank("clips", "block", action="escalate")
    (source_id,) = import_items(store, [original]).values()
    added = banks.add_to_bank(source_id, "clips", label="violence_gore")
    assert added.added == len(scenes) and added.label == "violence_gore"
    ids = import_items(store, sorted(folder.iterdir()))
    match_pending(store, policy)
    found = banks_repo.matches_for_item(store.db, ids["reencoded.mp4"])
    assert {m.entry_hash for m in found} == set(added.hashes)  # every scene matched its frame
    assert all(m.time_s is not None and m.distance <= 31 for m in found)
    assert items_repo.get_item(store.db, ids["reencoded.mp4"]).suggested_label == "violence_gore"
    assert banks_repo.matches_for_item(store.db, ids["other.mp4"]) == []
    frames = [r for r in banks_repo.hashes_for_item(store.db, ids["other.mp4"]) if r[0] == "pdq"]
    assert len(frames) == 2 and all(r[3] is not None for r in frames)  # frame_index kept per hash
