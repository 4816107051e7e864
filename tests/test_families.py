"""Near-duplicate families in a real store: a photo, its JPEG q30 copy and a resized copy are one family,
unrelated photos are not; hashes for grouping are computed once, stored where matching reads them, and
reused by a bank; single linkage over the hash index gives exactly what every pair compared would."""

from __future__ import annotations

import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest

from moderator.banks import BankService
from moderator.families import families, hash_for_grouping
from moderator.ingest import import_paths
from moderator.matching import match_pending
from moderator.signals import PDQ
from storage import banks as banks_repo
from storage import items as items_repo
from storage.store import Store
from tests.conftest import photo, write_image

DUPLICATES = ("photo.jpg", "photo_q30.jpg", "photo_small.png")
UNRELATED = ("coffee.jpg", "chelsea.jpg", "rocket.jpg")


def build(store: Store, work: Path) -> None:
    rgb = photo("astronaut")
    write_image(work / "photo.jpg", rgb, 90)
    write_image(work / "photo_q30.jpg", rgb, 30)
    write_image(work / "photo_small.png", cv2.resize(rgb, (300, 300), interpolation=cv2.INTER_AREA))
    for name in UNRELATED:
        write_image(work / name, photo(name.split(".")[0]))
    write_image(work / "flat_a.png", np.full((200, 200, 3), 120, np.uint8))  # PDQ quality 0: unusable
    write_image(work / "flat_b.bmp", np.full((200, 200, 3), 120, np.uint8))  # same pixels, other bytes
    report = import_paths(store, [work], "tester")  # no banks, no matcher: nothing is hashed
    assert not report.skipped and len(report.imported) == 8


@pytest.fixture
def store(store_templates, tmp_path):
    s = store_templates.copy("families", build, tmp_path / "data")
    yield s
    s.close()


def ids_by_name(store: Store) -> dict[str, str]:
    return {i.source_name: i.id for i in items_repo.queue(store.db)}


def pdq_of(store: Store, item_id: str) -> tuple[str, int] | None:
    rows = [r for r in items_repo.pdq_of_items(store.db, [item_id]) if r[2] is not None]
    return (rows[0][2], rows[0][3]) if rows else None


def test_near_duplicates_are_one_family_and_unrelated_photos_are_not(store):
    ids = ids_by_name(store)
    assert families(store, list(ids.values())) == {i: i for i in ids.values()}  # nothing hashed yet
    calls = []
    assert hash_for_grouping(store, list(ids.values()), progress=lambda n, total: calls.append((n, total))) == 8
    assert calls[-1] == (8, 8) and len(calls) == 8
    family = families(store, list(ids.values()))
    duplicates = {family[ids[n]] for n in DUPLICATES}
    assert duplicates == {min(ids[n] for n in DUPLICATES)}  # one family, named by its smallest id
    for name in (*UNRELATED, "flat_a.png", "flat_b.bmp"):
        assert family[ids[name]] == ids[name], f"{name} joined a family"
    # the copies are really different hashes within the threshold, and the unrelated ones are far
    hashes = {n: pdq_of(store, ids[n]) for n in ids}
    near = [_distance(hashes["photo.jpg"][0], hashes[n][0]) for n in DUPLICATES[1:]]
    assert all(d <= PDQ.default_threshold for d in near) and max(near) > 0, near
    assert min(_distance(hashes["photo.jpg"][0], hashes[n][0]) for n in UNRELATED) > PDQ.default_threshold


def _distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def test_a_flat_picture_has_an_unusable_pdq_and_stays_alone(store):
    ids = ids_by_name(store)
    hash_for_grouping(store, [ids["flat_a.png"], ids["flat_b.bmp"]])
    (hex_a, quality_a), (hex_b, _q) = pdq_of(store, ids["flat_a.png"]), pdq_of(store, ids["flat_b.bmp"])
    assert quality_a < 50 and _distance(hex_a, hex_b) <= PDQ.default_threshold  # would link if usable
    family = families(store, [ids["flat_a.png"], ids["flat_b.bmp"]])
    assert family[ids["flat_a.png"]] != family[ids["flat_b.bmp"]]


def test_the_threshold_decides_what_links(store):
    ids = ids_by_name(store)
    hash_for_grouping(store, list(ids.values()))
    resized = _distance(pdq_of(store, ids["photo.jpg"])[0], pdq_of(store, ids["photo_small.png"])[0])
    strict = families(store, list(ids.values()), threshold=resized - 1)
    assert strict[ids["photo_small.png"]] == ids["photo_small.png"]
    assert strict[ids["photo_q30.jpg"]] == strict[ids["photo.jpg"]]
    for bad in (-1, 257):
        with pytest.raises(ValueError, match="threshold"):
            families(store, list(ids.values()), threshold=bad)


def test_only_the_items_asked_about_are_grouped(store):
    ids = ids_by_name(store)
    hash_for_grouping(store, list(ids.values()))
    some = [ids["photo.jpg"], ids["photo_q30.jpg"], ids["coffee.jpg"], "no-such-item"]
    family = families(store, some)
    assert set(family) == set(some)
    assert family[ids["photo_q30.jpg"]] == min(ids["photo.jpg"], ids["photo_q30.jpg"])
    assert family["no-such-item"] == "no-such-item"


def test_grouping_hashes_are_stored_once_and_matching_reuses_them_without_decoding(store, policy, tmp_path):
    ids = ids_by_name(store)
    bank = tmp_path / "bank.csv"
    bank.write_text(f"signal_type,hash,label,source\npdq,{'0' * 64},spam,test\n")
    BankService(store, policy, "lead").import_bank(bank, "known", kind="block", action="flag")
    assert hash_for_grouping(store, list(ids.values())) == 8
    assert hash_for_grouping(store, list(ids.values())) == 0  # all stored: nothing decoded again
    stored = items_repo.media_hashes(store.db, items_repo.get_item(store.db, ids["photo.jpg"]).sha256)
    assert {r[0] for r in stored} >= {"pdq", "phash", "md5", "sha256"}
    assert sum(1 for r in stored if r[5] is not None) == 8  # PDQ's dihedral variants: a PDQ bank exists
    before = [tuple(r) for r in store.db.execute("SELECT rowid, computed_at FROM media_hashes ORDER BY rowid")]
    bank.write_text(f"signal_type,hash,label,source\npdq,{stored[0][1]},spam,test\n")
    BankService(store, policy, "lead").import_bank(bank, "known")
    summary = match_pending(store, policy)
    assert summary.hashed == 8 and not summary.failed
    after = [tuple(r) for r in store.db.execute("SELECT rowid, computed_at FROM media_hashes ORDER BY rowid")]
    assert after == before  # reused: not computed again, not replaced
    matched = {n for n, i in ids.items() if banks_repo.matches_for_item(store.db, i)}
    assert matched == set(DUPLICATES)


def test_without_a_pdq_bank_no_dihedral_variants_are_computed(store):
    ids = ids_by_name(store)
    hash_for_grouping(store, [ids["photo.jpg"]])
    stored = items_repo.media_hashes(store.db, items_repo.get_item(store.db, ids["photo.jpg"]).sha256)
    assert {r[0] for r in stored} == {"pdq", "phash", "md5", "sha256"}
    assert all(r[5] is None for r in stored)


def test_a_file_that_cannot_be_decoded_is_skipped_and_stays_alone(store):
    ids = ids_by_name(store)
    path = Path(items_repo.get_item(store.db, ids["photo_q30.jpg"]).media_path)
    data = path.read_bytes()
    path.chmod(0o600)
    path.write_bytes(data[: len(data) // 3])
    assert hash_for_grouping(store, list(ids.values())) == 7
    family = families(store, list(ids.values()))
    assert family[ids["photo_q30.jpg"]] == ids["photo_q30.jpg"]
    assert family[ids["photo.jpg"]] == family[ids["photo_small.png"]]


# -- synthetic hashes in a real store: linkage against every pair compared ---------------------
def add_items(store: Store, hashes: list[tuple[str, int]], shared: dict[int, int] | None = None) -> list[str]:
    """Items whose content has the given (PDQ hex, quality), inserted with the storage functions import
    uses; shared[i] = j gives item i the content of item j."""
    shared = shared or {}

    def write(db) -> list[str]:
        ids = []
        for n, (hex_pdq, quality) in enumerate(hashes):
            sha = f"{n:064x}" if n not in shared else f"{shared[n]:064x}"
            if n not in shared:
                items_repo.insert_media(db, {"sha256": sha, "path": f"media/{sha}.jpg", "mime": "image/jpeg",
                                             "kind": "image", "width": 64, "height": 64, "bytes": 1,
                                             "added_at": "2024-01-01T00:00:00Z"})
                items_repo.save_media_hashes(db, sha, [("pdq", hex_pdq, quality, None, None, None)])
            item_id = str(uuid.UUID(int=n + 1))
            items_repo.insert_item(db, {"id": item_id, "sha256": sha, "imported_at": "2024-01-01T00:00:00Z"})
            ids.append(item_id)
        return ids

    return store.write(write)


def flip_bits(rng: np.random.Generator, bits: np.ndarray, k: int) -> np.ndarray:
    out = bits.copy()
    out[rng.choice(256, size=k, replace=False)] ^= 1
    return out


def to_hex(bits: np.ndarray) -> str:
    return np.packbits(bits).tobytes().hex()


def pairwise_families(hexes: list[str], usable: list[bool], ids: list[str], threshold: int) -> dict[str, str]:
    """Every pair compared: the answer the index must give."""
    bits = np.array([np.unpackbits(np.frombuffer(bytes.fromhex(h), np.uint8)) for h in hexes])
    parent = list(range(len(ids)))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a in range(len(ids)):
        far = (bits[a] != bits).sum(axis=1)
        for b in np.flatnonzero((far <= threshold) & np.array(usable)):
            if usable[a]:
                parent[find(int(b))] = find(a)
    groups: dict[int, list[str]] = {}
    for n, item_id in enumerate(ids):
        groups.setdefault(find(n), []).append(item_id)
    return {i: min(members) for members in groups.values() for i in members}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_families_are_exactly_single_linkage_over_every_pair(store, seed):
    rng = np.random.default_rng(seed)
    centres = [rng.integers(0, 2, 256, dtype=np.uint8) for _ in range(30)]
    hashes, usable = [], []
    for n in range(600):
        # members up to 24 bits from a centre: two members can be up to 48 apart, so some pairs
        # only link through a third (the chains single linkage follows)
        bits = flip_bits(rng, centres[n % 30], int(rng.integers(0, 25)))
        quality = 100 if n % 17 else 20
        hashes.append((to_hex(bits), quality))
        usable.append(quality >= 50)
    ids = add_items(store, hashes)
    got = families(store, ids)
    assert got == pairwise_families([h for h, _q in hashes], usable, ids, PDQ.default_threshold)
    assert len(set(got.values())) < 200  # the clusters did group (the comparison is not between singletons)


def test_single_linkage_follows_a_chain_beyond_the_threshold(store):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2, 256, dtype=np.uint8)
    b = a.copy()
    b[:30] ^= 1
    c = b.copy()
    c[30:60] ^= 1  # a-c: 60 bits, but each step 30
    far = a.copy()
    far[100:200] ^= 1
    ids = add_items(store, [(to_hex(x), 100) for x in (a, b, c, far)])
    got = families(store, ids)
    assert got[ids[0]] == got[ids[1]] == got[ids[2]] == min(ids[:3])
    assert got[ids[3]] == ids[3]


def test_items_sharing_content_are_one_family_even_without_a_usable_pdq(store):
    flat = "0" * 64
    ids = add_items(store, [(flat, 0), (flat, 0), (flat, 0)], shared={1: 0})
    got = families(store, ids)
    assert got[ids[0]] == got[ids[1]] != got[ids[2]]
