"""The bank index saved beside the store (storage/bank_index_file.py via moderator/bank_index.py): a new
process maps it and gets exactly the matches a fresh build gives; a damaged, truncated or stale file is
refused with one log line and rebuilt from the store, never trusted."""

from __future__ import annotations

import logging
import shutil
import stat

import numpy as np
import pytest

from moderator.bank_index import IndexCache
from moderator.clock import now_iso
from moderator.domain import Bank, BankAction, BankKind
from moderator.hash_index import HashIndex, pack_hex
from storage import bank_index_file
from storage import banks as banks_repo
from storage.store import Store

ENTRIES = 20_000  # over FLAT_MAX: big enough to be saved, with multi-index segments
THRESHOLD = 31


def flipped(rng: np.random.Generator, hex_str: str, bits: int) -> str:
    value = int(hex_str, 16)
    for b in rng.choice(256, size=bits, replace=False):
        value ^= 1 << int(b)
    return f"{value:064x}"


def make_bank(rng: np.random.Generator, queries: list[str]) -> list[str]:
    """Random hashes plus copies of every query at each distance 0..40 (30, 31 and 32 near the line)."""
    hashes = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(ENTRIES)]
    hashes += [flipped(rng, q, d) for q in queries for d in range(41)]
    return hashes


def new_bank(name: str = "b") -> Bank:
    return Bank(name=name, kind=BankKind.BLOCK, signal_type="pdq", threshold=THRESHOLD,
                action=BankAction.FLAG, created_at=now_iso(), description=None)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A real store whose bank "b" holds the hashes, its index built once from SQLite and saved."""
    rng = np.random.default_rng(11)
    queries = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(12)]
    hashes = make_bank(rng, queries)
    data = tmp_path_factory.mktemp("template") / "data"
    with Store(data) as store:
        store.write(lambda db: banks_repo.create_bank(db, new_bank()))
        store.write(banks_repo.add_entries, "b", [("pdq", h, "", "test", "") for h in hashes], "lead")
        first = IndexCache(store.data_dir / "bank_index")
        assert first.current(store.db)[0][2].source == "store"
    return data, queries, hashes


@pytest.fixture
def banked(template, tmp_path):
    """(store, queries, bank hashes): a copy of the template store (its index file included), open."""
    data, queries, hashes = template
    shutil.copytree(data, tmp_path / "data")
    with Store(tmp_path / "data") as store:
        yield store, queries, hashes


def cache_of(store: Store) -> IndexCache:
    return IndexCache(store.data_dir / "bank_index")


def matches(cache: IndexCache, store: Store, queries: list[str]) -> tuple[str, list[set[tuple[int, int]]]]:
    """(where the index came from, per query the set of (bank entry id, distance))."""
    ((_, _, indexed),) = cache.current(store.db)
    found = indexed.index.query_many(queries, THRESHOLD)
    return indexed.source, [{(int(indexed.entry_ids[i]), d) for i, d in f} for f in found]


def brute_force(store: Store, queries: list[str]) -> list[set[tuple[int, int]]]:
    ids, hexes = banks_repo.entry_hashes(store.db, "b", "pdq")
    rows = pack_hex(hexes, 256)
    out = []
    for q in pack_hex(queries, 256):
        d = np.bitwise_count(rows ^ q).sum(axis=1)
        out.append({(ids[i], int(d[i])) for i in np.flatnonzero(d <= THRESHOLD)})
    return out


def index_file(store: Store):
    return cache_of(store).path("b", "pdq")


def test_saved_index_gives_exactly_the_matches_of_a_fresh_build(banked):
    store, queries, hashes = banked
    rng = np.random.default_rng(5)
    probes = queries + [flipped(rng, h, int(rng.integers(0, 34))) for h in rng.choice(hashes, 40)]
    source, loaded = matches(cache_of(store), store, probes)
    fresh = HashIndex(256)
    fresh.add(hashes)
    ids, _ = banks_repo.entry_hashes(store.db, "b", "pdq")
    built = [{(ids[i], d) for i, d in f} for f in fresh.query_many(probes, THRESHOLD)]
    assert source == "file"
    assert loaded == built == brute_force(store, probes)
    assert sum(map(len, loaded[:12])) >= 12 * 32  # every planted copy up to 31 bits, near the line too
    assert all(max(d for _, d in f) == THRESHOLD for f in loaded[:12])


def test_the_file_is_private(banked):
    store, _, _ = banked
    path = index_file(store)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.parametrize("damage", ["flip a hash bit", "flip a table byte", "truncate", "empty", "garbage header"])
def test_a_damaged_file_is_refused_logged_once_and_rebuilt(banked, damage, caplog):
    store, queries, _ = banked
    path = index_file(store)
    data = bytearray(path.read_bytes())
    if damage == "flip a hash bit":
        data[4096 + 8 * 1024] ^= 0x10  # inside the rows, after the header
    elif damage == "flip a table byte":
        data[-5000] ^= 0x01  # inside the last multi-index table
    elif damage == "truncate":
        data = data[:-100]
    elif damage == "empty":
        data = bytearray()
    else:
        data[:8] = b"NOTANIDX"
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="moderator.bank_index"):
        source, found = matches(cache_of(store), store, queries)
    assert source == "store"
    assert found == brute_force(store, queries)
    assert len(caplog.records) == 1 and "rebuilt from the store" in caplog.records[0].getMessage()
    assert matches(cache_of(store), store, queries)[0] == "file"  # the rebuild was saved again


def test_checksums_catch_any_damage_in_the_arrays(banked):
    store, _, _ = banked
    path = index_file(store)
    bank_index_file.load(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x80
    path.write_bytes(bytes(data))
    with pytest.raises(bank_index_file.IndexFileError, match="checksum"):
        bank_index_file.load(path)


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_checksums_on_several_threads_catch_damage_in_every_array(banked, workers):
    store, _, _ = banked
    path = index_file(store)
    meta, arrays = bank_index_file.load(path, verify=False)
    bank_index_file.verify(path, arrays, workers)  # intact: passes on any number of threads
    shares = bank_index_file._shares(arrays, workers)
    assert sorted(n for share in shares for n in share) == sorted(arrays) and len(shares) <= workers
    for name in [n for n, a in arrays.items() if a.nbytes]:
        damaged = dict(arrays, **{name: arrays[name].copy()})
        damaged[name].reshape(-1).view(np.uint8)[-1] ^= 0x01
        with pytest.raises(bank_index_file.IndexFileError, match=f"array {name} fails"):
            bank_index_file.verify(path, damaged, workers)


def test_a_file_whose_entry_count_the_store_disagrees_with_is_rebuilt(banked, caplog):
    """The store's kept count (bank_entry_counts) is what a saved index is checked against."""
    store, queries, _ = banked
    store.write(lambda db: db.execute("UPDATE bank_entry_counts SET entries = entries - 1 WHERE bank = 'b'"))
    with caplog.at_level(logging.WARNING, logger="moderator.bank_index"):
        source, found = matches(cache_of(store), store, queries)
    assert source == "store" and found == brute_force(store, queries)
    assert "the store holds" in caplog.text


def test_entries_added_after_the_save_are_found(banked):
    store, queries, _ = banked
    rng = np.random.default_rng(9)
    added = [flipped(rng, q, 3) for q in queries] + [flipped(rng, queries[0], 31)]
    store.write(banks_repo.add_entries, "b", [("pdq", h, "", "test", "") for h in added], "lead")
    cache = cache_of(store)
    source, found = matches(cache, store, queries)
    assert source == "file"  # the file is a prefix of the bank: mapped, and the new entries read after it
    assert found == brute_force(store, queries)
    ((_, _, indexed),) = cache.current(store.db)
    assert indexed.saved == ENTRIES + 12 * 41  # a few new entries do not rewrite the file


def test_many_entries_added_rewrite_the_file(banked):
    store, queries, _ = banked
    rng = np.random.default_rng(4)
    more = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(9_000)]
    more.append(flipped(rng, queries[1], 30))
    store.write(banks_repo.add_entries, "b", [("pdq", h, "", "test", "") for h in more], "lead")
    cache_of(store).current(store.db)  # maps the old file, reads 9,001 entries, rewrites
    meta, _ = bank_index_file.load(index_file(store))
    assert meta["entries"] == ENTRIES + 12 * 41 + 9_001
    source, found = matches(cache_of(store), store, queries)
    assert source == "file" and found == brute_force(store, queries)


@pytest.mark.parametrize("change", ["bank recreated", "hash changed in the store", "another bank's file"])
def test_a_stale_file_is_never_trusted(banked, change, caplog):
    store, queries, _ = banked
    path = index_file(store)
    if change == "bank recreated":  # the same name, another bank: its creation time differs
        store.write(lambda db: db.execute("UPDATE banks SET created_at = ? WHERE name = 'b'",
                                          ("2020-01-01T00:00:00+00:00",)))
    elif change == "hash changed in the store":  # the store under the data dir was swapped or edited
        first = store.db.execute("SELECT MIN(id) FROM bank_entries").fetchone()[0]
        store.write(lambda db: db.execute("UPDATE bank_entries SET hash = ? WHERE id = ?", ("0" * 64, first)))
    else:
        store.write(lambda db: banks_repo.create_bank(db, new_bank("other")))
        store.write(banks_repo.add_entries, "other", [("pdq", "f" * 64, "", "test", "")], "lead")
        path.rename(cache_of(store).path("other", "pdq"))
    with caplog.at_level(logging.WARNING, logger="moderator.bank_index"):
        cache = cache_of(store)
        indexes = {b.name: ix for b, _, ix in cache.current(store.db)}
    if change == "another bank's file":
        assert indexes["other"].source == "store" and indexes["other"].entry_ids.size == 1
        assert "another version of the bank" in caplog.text
        return
    assert indexes["b"].source == "store"
    assert len(caplog.records) == 1
    assert matches(cache, store, queries)[1] == brute_force(store, queries)


def test_a_read_only_cache_loads_but_never_writes(banked):
    store, queries, _ = banked
    path = index_file(store)
    path.unlink()
    cache = IndexCache(path.parent, read_only=True)
    assert matches(cache, store, queries)[1] == brute_force(store, queries)
    assert not path.exists()


def test_a_file_of_another_table_layout_is_rebuilt_not_read(banked, caplog):
    """A file saved before the substrings' widths followed the bank's size (no "layout" in its header,
    16-bit tables) is refused by its header, before any table is read, and rebuilt."""
    store, queries, _ = banked
    path = index_file(store)
    meta, arrays = bank_index_file.load(path)
    del meta["layout"]
    bank_index_file.save(path, meta, {name: np.array(a) for name, a in arrays.items()})
    with caplog.at_level(logging.WARNING, logger="moderator.bank_index"):
        cache = cache_of(store)
        source, found = matches(cache, store, queries)
    assert source == "store" and found == brute_force(store, queries)
    assert len(caplog.records) == 1 and "an older layout, not mih-log2-v1" in caplog.text
    assert bank_index_file.load(path)[0]["layout"] == "mih-log2-v1"  # written again, in today's layout


def test_an_entry_deleted_by_hand_is_left_out_of_the_matches_not_an_error(banked):
    """Entries are only ever appended, so the kept count cannot see a row deleted by hand under a saved
    index: the lookup leaves the id the store no longer holds out (no KeyError half-way through)."""
    from moderator.domain import MediaKind
    from moderator.matching import lookup
    from moderator.media_hashes import MediaHashes
    from moderator.signals import HashResult

    store, queries, _ = banked
    truth = brute_force(store, queries[:1])[0]
    gone = min(truth)[0]
    store.write(lambda db: db.execute("DELETE FROM bank_entries WHERE id = ?", (gone,)))
    indexes = cache_of(store).current(store.db)
    assert indexes[0][2].source == "file"
    hashes = MediaHashes(MediaKind.IMAGE, (HashResult("pdq", queries[0], 100, True),))
    found = lookup(hashes, indexes, lambda ids: banks_repo.entries_by_id(store.db, ids))
    assert {(m.entry_id, m.distance) for m in found} == truth - {min(truth)}
